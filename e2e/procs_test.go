package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/batchinfer/batchinfer/platform"
)

// proc is a child process in its own process group, with its output in a
// log file.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{} // closed when the process has exited
	err  error         // Wait's result, valid after done
}

// startProc starts bin with args and env (appended to this process's
// environment) in a new process group. The group is killed at the end of
// the test and the process's log is printed when the test failed.
func startProc(t *testing.T, name string, env []string, bin string, args ...string) *proc {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		_ = f.Close()
		t.Fatalf("starting %s: %v", name, err)
	}
	p := &proc{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		_ = f.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("--- log of %s (pid %d), last lines:\n%s", name, p.pid(), tail(logPath, 40))
		}
	})
	return p
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

// kill sends SIGKILL to the process group and waits (bounded) for the exit.
func (p *proc) kill() {
	_ = syscall.Kill(-p.pid(), syscall.SIGKILL)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
	}
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// tail returns the last n lines of a file.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// waitFor polls cond every interval until it returns true, fails, or
// timeout passes. No fixed sleeps: every wait in this package is bounded
// polling.
func waitFor(t *testing.T, timeout, interval time.Duration, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	var last error
	for {
		ok, err := cond()
		if ok {
			return
		}
		if err != nil {
			last = err
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s (last error: %v)", timeout, what, last)
		}
		select {
		case <-t.Context().Done():
			t.Fatalf("test ended waiting for %s", what)
		case <-tick.C:
		}
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
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("go env GOMOD: not inside the batchinfer module")
	}
	dir, err := os.MkdirTemp("", "batchinfer-e2e-bin-")
	if err != nil {
		return "", err
	}
	cmd := exec.Command("go", "build", "-o", dir+string(os.PathSeparator), "./worker", "./starter")
	cmd.Dir = filepath.Dir(gomod)
	if out, err := cmd.CombinedOutput(); err != nil {
		_ = os.RemoveAll(dir)
		return "", fmt.Errorf("go build ./worker ./starter: %w\n%s", err, out)
	}
	return dir, nil
}

// devServer is a `starter dev` process and a client of it.
type devServer struct {
	proc     *proc
	hostPort string
	c        client.Client
}

// startDevServer runs `starter dev` on free ports (in-memory store) and
// waits until a client can describe the default namespace.
func startDevServer(t *testing.T, bin string) *devServer {
	t.Helper()
	p := startProc(t, "devserver", nil, filepath.Join(bin, "starter"), "dev", "--port", "-1", "--ui-port", "-1")
	const prefix = "Temporal server: "
	var hostPort string
	waitFor(t, 90*time.Second, 50*time.Millisecond, "starter dev to print its address", func() (bool, error) {
		if p.exited() {
			t.Fatalf("starter dev exited: %v\n%s", p.err, tail(p.log, 40))
		}
		b, err := os.ReadFile(p.log)
		if err != nil {
			return false, err
		}
		i := bytes.Index(b, []byte(prefix))
		if i < 0 {
			return false, nil
		}
		line, _, ok := strings.Cut(string(b[i+len(prefix):]), "\n")
		if !ok {
			return false, nil
		}
		hostPort, _, _ = strings.Cut(line, " ")
		return true, nil
	})
	opts := platform.ConnectOptions{Address: hostPort, Namespace: platform.DefaultNamespace}
	c, err := opts.Dial(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	waitFor(t, 60*time.Second, 100*time.Millisecond, "the dev server to describe its namespace", func() (bool, error) {
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		defer cancel()
		_, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: platform.DefaultNamespace})
		return err == nil, err
	})
	return &devServer{proc: p, hostPort: hostPort, c: c}
}

// workerProc is one `worker` process.
type workerProc struct {
	*proc
}

// startWorkers starts n worker processes polling taskQueue, with S3
// requests going to s3Endpoint, and waits until all of them poll the
// activity task queue.
func (d *devServer) startWorkers(t *testing.T, bin, taskQueue, s3Endpoint string, n, maxActivities int) []*workerProc {
	t.Helper()
	env := []string{
		platform.EnvAddress + "=" + d.hostPort,
		platform.EnvNamespace + "=" + platform.DefaultNamespace,
		"AWS_ENDPOINT_URL_S3=" + s3Endpoint,
		"BATCHINFER_S3_PATH_STYLE=true",
	}
	var ws []*workerProc
	for i := range n {
		p := startProc(t, fmt.Sprintf("worker-%s-%d", taskQueue, i), env, filepath.Join(bin, "worker"),
			"--task-queue", taskQueue,
			"--max-concurrent-activities", strconv.Itoa(maxActivities),
			"--metrics-addr=", "--log-level", "warn")
		ws = append(ws, &workerProc{p})
	}
	waitFor(t, 60*time.Second, 100*time.Millisecond, fmt.Sprintf("%d workers to poll %s", n, taskQueue), func() (bool, error) {
		for _, w := range ws {
			if w.exited() {
				t.Fatalf("%s exited: %v\n%s", w.name, w.err, tail(w.log, 40))
			}
		}
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		defer cancel()
		resp, err := d.c.DescribeTaskQueue(ctx, taskQueue, enumspb.TASK_QUEUE_TYPE_ACTIVITY)
		if err != nil {
			return false, err
		}
		polling := map[int]bool{}
		for _, p := range resp.GetPollers() {
			polling[identityPID(p.GetIdentity())] = true
		}
		for _, w := range ws {
			if !polling[w.pid()] {
				return false, nil
			}
		}
		return true, nil
	})
	return ws
}

// identityPID returns the process ID in a default SDK worker identity
// ("pid@host@..."), or -1.
func identityPID(identity string) int {
	s, _, _ := strings.Cut(identity, "@")
	pid, err := strconv.Atoi(s)
	if err != nil {
		return -1
	}
	return pid
}
