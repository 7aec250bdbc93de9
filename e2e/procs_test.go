package e2e

import (
	"os"
	"sync"
	"testing"
	"time"

	"github.com/batchinfer/batchinfer/cluster"
	"github.com/batchinfer/batchinfer/internal/procs"
	"github.com/batchinfer/batchinfer/internal/storage"
)

// The processes themselves are package cluster's and internal/procs's;
// these adapters tie them to a test: failures end it, and the processes
// are killed at its end, their logs printed when it failed.

// watch kills p with SIGKILL at the end of the test and prints the last
// lines of its log when the test failed.
func watch(t *testing.T, p *procs.Proc) {
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			t.Logf("--- log of %s (pid %d), last lines:\n%s", p.Name, p.PID(), p.Tail(procs.TailLines))
		}
	})
}

// waitFor polls cond every interval until it returns true, and fails the
// test when it fails or timeout passes. No fixed sleeps: every wait in
// this package is bounded polling.
func waitFor(t *testing.T, timeout, interval time.Duration, what string, cond func() (bool, error)) {
	t.Helper()
	if err := procs.Poll(t.Context(), timeout, interval, what, cond); err != nil {
		t.Fatal(err)
	}
}

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

// binaries builds the worker and starter commands once per test process
// into a temporary folder and returns it. The folder outlives the tests
// that use it; TestMain removes it.
func binaries(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		start := time.Now()
		buildDir, buildErr = buildBinaries()
		if buildErr == nil {
			t.Logf("built worker and starter in %v", time.Since(start).Round(100*time.Millisecond))
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildDir
}

func buildBinaries() (string, error) {
	dir, err := os.MkdirTemp("", "batchinfer-e2e-bin-")
	if err != nil {
		return "", err
	}
	if err := cluster.Build(dir); err != nil {
		_ = os.RemoveAll(dir)
		return "", err
	}
	return dir, nil
}

// startDevServer runs `starter dev` on free ports (in-memory store) until
// the end of the test, its log in a temporary folder (the workers' too).
func startDevServer(t *testing.T, bin string) *cluster.DevServer {
	t.Helper()
	d, err := cluster.StartDevServer(t.Context(), t.TempDir(), bin)
	if err != nil {
		t.Fatal(err)
	}
	watch(t, d.Proc)
	t.Cleanup(d.Client.Close)
	return d
}

// startWorkers starts n worker processes polling taskQueue, with S3
// requests going to s3Endpoint, until the end of the test, and waits until
// all of them poll the activity task queue.
func startWorkers(t *testing.T, d *cluster.DevServer, taskQueue, s3Endpoint string, n, maxActivities int) []*procs.Proc {
	t.Helper()
	ws, err := d.StartWorkers(t.Context(), cluster.WorkerOptions{
		TaskQueue:               taskQueue,
		Workers:                 n,
		MaxConcurrentActivities: maxActivities,
		Env:                     []string{storage.EnvEndpointS3 + "=" + s3Endpoint, storage.EnvS3PathStyle + "=true"},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range ws {
		watch(t, w)
	}
	return ws
}
