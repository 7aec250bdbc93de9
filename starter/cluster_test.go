package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/batchinfer/batchinfer/activities"
	"github.com/batchinfer/batchinfer/platform"
	"github.com/batchinfer/batchinfer/platform/devserver"
	"github.com/batchinfer/batchinfer/workflows"
)

// testCluster is a real Temporal server (in process, with batchinfer's
// search attributes) and a worker that serves Prometheus metrics, shared by
// the tests of this package that need a cluster.
type testCluster struct {
	srv     *devserver.Server
	c       client.Client
	w       worker.Worker
	metrics *platform.MetricsServer
}

var (
	clusterOnce sync.Once
	cluster     *testCluster
	clusterErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if cluster != nil {
		cluster.stop()
	}
	os.Exit(code)
}

// sharedCluster starts the cluster on first use.
func sharedCluster(t *testing.T) *testCluster {
	t.Helper()
	clusterOnce.Do(func() { cluster, clusterErr = startTestCluster() })
	if clusterErr != nil {
		t.Fatalf("starting the test cluster: %v", clusterErr)
	}
	return cluster
}

func startTestCluster() (*testCluster, error) {
	ctx := context.Background()
	srv, err := devserver.Start(ctx, devserver.Options{Port: -1, DisableUI: true, SearchAttributes: workflows.SearchAttributes()})
	if err != nil {
		return nil, err
	}
	m, err := platform.NewMetrics(nil)
	if err != nil {
		srv.Stop()
		return nil, err
	}
	ms, err := platform.ServeMetrics("127.0.0.1:0", m)
	if err != nil {
		srv.Stop()
		return nil, err
	}
	c, err := srv.Dial(client.Options{Logger: sdkLogger(), MetricsHandler: m.SDKHandler()})
	if err != nil {
		_ = ms.Close(ctx)
		srv.Stop()
		return nil, err
	}
	acts := activities.New()
	acts.Metrics = m
	w := platform.NewWorker(c, activities.TaskQueue, acts, worker.Options{})
	if err := w.Start(); err != nil {
		c.Close()
		_ = ms.Close(ctx)
		srv.Stop()
		return nil, err
	}
	return &testCluster{srv: srv, c: c, w: w, metrics: ms}, nil
}

func (tc *testCluster) stop() {
	tc.w.Stop()
	tc.c.Close()
	_ = tc.metrics.Close(context.Background())
	tc.srv.Stop()
}

// args appends the connection flags of the cluster.
func (tc *testCluster) args(args ...string) []string {
	return append(args, "--address", tc.srv.HostPort(), "--namespace", tc.srv.Namespace())
}

// runCLIErr runs the starter in-process and returns stdout and stderr.
func runCLIErr(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	cmd := newRootCmd()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(t.Context())
	return out.String(), errOut.String(), err
}

// cliJSON runs the starter and decodes its JSON output into v.
func cliJSON(t *testing.T, v any, args ...string) {
	t.Helper()
	out, err := runCLI(t, args...)
	if err != nil {
		t.Fatalf("starter %v: %v\n%s", args, err, out)
	}
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("starter %v: output is not JSON: %v\n%s", args, err, out)
	}
}

// eventually polls cond every interval until it holds or timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	last := ""
	for {
		ok, state := cond()
		if ok {
			return
		}
		last = state
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s; last state: %s", timeout, what, last)
		}
		select {
		case <-t.Context().Done():
			t.Fatalf("test canceled waiting for %s", what)
		case <-tick.C:
		}
	}
}

// completedRuns lists the job's completed runs through `starter list`,
// waiting until there are want of them.
func (tc *testCluster) completedRuns(t *testing.T, job string, want int) []runView {
	t.Helper()
	var runs []runView
	eventually(t, 2*time.Minute, fmt.Sprintf("%d completed runs of job %s", want, job), func() (bool, string) {
		runs = nil
		out, err := runCLI(t, tc.args("list", "--job", job, "--status", "completed", "--json")...)
		if err != nil {
			return false, err.Error()
		}
		if err := json.Unmarshal([]byte(out), &runs); err != nil {
			return false, err.Error()
		}
		// A failed run would never complete: report it at once.
		all, _ := runCLI(t, tc.args("list", "--job", job, "--status", "failed")...)
		if len(all) > 0 && !bytes.Contains([]byte(all), []byte("No runs.")) {
			t.Fatalf("job %s has failed runs:\n%s", job, all)
		}
		return len(runs) >= want, fmt.Sprintf("%d runs", len(runs))
	})
	return runs
}

// scrape returns the worker's metrics page.
func (tc *testCluster) scrape(t *testing.T) string {
	t.Helper()
	resp, err := http.Get(tc.metrics.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
