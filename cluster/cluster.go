package cluster

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
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/batchinfer/batchinfer/internal/procs"
	"github.com/batchinfer/batchinfer/platform"
)

const (
	// AddressTimeout bounds the wait for `starter dev` to print its
	// address (it starts the server first).
	AddressTimeout = 90 * time.Second
	// ReadyTimeout bounds the wait for the dev server's namespace and for
	// workers to poll their task queue.
	ReadyTimeout = 60 * time.Second
	// callTimeout bounds each request of those waits.
	callTimeout = 2 * time.Second
)

// Build builds the module's worker and starter commands into dir (`go
// build -o dir/ ./worker ./starter` in the folder of the go.mod that `go
// env GOMOD` names): run it from inside the batchinfer module.
func Build(dir string) error {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return errors.New("go env GOMOD: not inside the batchinfer module")
	}
	cmd := exec.Command("go", "build", "-o", dir+string(os.PathSeparator), "./worker", "./starter")
	cmd.Dir = filepath.Dir(gomod)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./worker ./starter: %w\n%s", err, out)
	}
	return nil
}

// DevServer is a `starter dev` process and a client of it.
type DevServer struct {
	// Proc is the `starter dev` process.
	Proc *procs.Proc
	// HostPort is the Temporal frontend's address, "127.0.0.1:PORT".
	HostPort string
	// Client is connected to HostPort, namespace platform.DefaultNamespace.
	Client client.Client
	// Bin is the folder of the worker and starter commands, and LogDir the
	// folder of the logs, as given to StartDevServer.
	Bin, LogDir string
}

// StartDevServer runs bin/starter dev --port -1 --ui-port -1 --no-worker
// (in-memory store, free ports, no worker: callers start theirs) with
// its log in logDir/devserver.log, reads the address it prints ("Temporal
// server: HOST:PORT ...", up to AddressTimeout), dials it and waits up to
// ReadyTimeout until the default namespace can be described. On failure no
// process is left running; on success the caller ends it with Stop.
func StartDevServer(ctx context.Context, logDir, bin string) (*DevServer, error) {
	p, err := procs.Start(logDir, "devserver", nil, filepath.Join(bin, "starter"), "dev", "--port", "-1", "--ui-port", "-1", "--no-worker")
	if err != nil {
		return nil, err
	}
	d := &DevServer{Proc: p, Bin: bin, LogDir: logDir}
	const prefix = "Temporal server: "
	err = procs.Poll(ctx, AddressTimeout, 50*time.Millisecond, "starter dev to print its address", func() (bool, error) {
		b, err := os.ReadFile(p.Log)
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
		d.HostPort, _, _ = strings.Cut(line, " ")
		return true, nil
	}, p)
	if err != nil {
		p.Stop()
		return nil, err
	}
	if d.Client, err = (platform.ConnectOptions{Address: d.HostPort, Namespace: platform.DefaultNamespace}).Dial(nil); err != nil {
		p.Stop()
		return nil, err
	}
	err = procs.Poll(ctx, ReadyTimeout, 100*time.Millisecond, "the dev server to describe its namespace", func() (bool, error) {
		ctx, cancel := context.WithTimeout(ctx, callTimeout)
		defer cancel()
		_, err := d.Client.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: platform.DefaultNamespace})
		return err == nil, err
	}, p)
	if err != nil {
		d.Stop()
		return nil, err
	}
	return d, nil
}

// Stop closes the client and stops the process (procs.Proc.Stop).
func (d *DevServer) Stop() {
	d.Client.Close()
	d.Proc.Stop()
}

// WorkerOptions configures StartWorkers. The zero value of each field but
// TaskQueue means its default.
type WorkerOptions struct {
	// TaskQueue is the task queue the workers poll. Required.
	TaskQueue string
	// Workers is the number of worker processes. Default 1.
	Workers int
	// GOMAXPROCS is each worker's GOMAXPROCS. Default: unset (the Go
	// runtime's choice).
	GOMAXPROCS int
	// MaxConcurrentActivities is each worker's
	// --max-concurrent-activities. Default: the worker's own.
	MaxConcurrentActivities int
	// Env is added to each worker's environment, after this process's
	// and the dev server's TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE (an S3
	// endpoint, say).
	Env []string
	// LogDir is the folder of the logs, worker-QUEUE-I.log. Default: the
	// dev server's.
	LogDir string
}

// StartWorkers starts o.Workers processes of Bin/worker --task-queue
// o.TaskQueue --metrics-addr= --log-level warn connected to the dev server,
// and waits up to ReadyTimeout until each (by its process ID, the start
// of the SDK's default identity "PID@HOST@") polls the queue's activity
// tasks. On failure it stops those it started; on success the caller ends
// them with Stop or Kill.
func (d *DevServer) StartWorkers(ctx context.Context, o WorkerOptions) ([]*procs.Proc, error) {
	if o.TaskQueue == "" {
		return nil, errors.New("starting workers: WorkerOptions.TaskQueue is required")
	}
	n := max(o.Workers, 1)
	logDir := o.LogDir
	if logDir == "" {
		logDir = d.LogDir
	}
	env := []string{platform.EnvAddress + "=" + d.HostPort, platform.EnvNamespace + "=" + platform.DefaultNamespace}
	if o.GOMAXPROCS > 0 {
		env = append(env, "GOMAXPROCS="+strconv.Itoa(o.GOMAXPROCS))
	}
	env = append(env, o.Env...)
	args := []string{"--task-queue", o.TaskQueue}
	if o.MaxConcurrentActivities > 0 {
		args = append(args, "--max-concurrent-activities", strconv.Itoa(o.MaxConcurrentActivities))
	}
	args = append(args, "--metrics-addr=", "--log-level", "warn")

	var ws []*procs.Proc
	stopAll := func() {
		for _, w := range ws {
			w.Stop()
		}
	}
	for i := range n {
		p, err := procs.Start(logDir, fmt.Sprintf("worker-%s-%d", o.TaskQueue, i), env, filepath.Join(d.Bin, "worker"), args...)
		if err != nil {
			stopAll()
			return nil, err
		}
		ws = append(ws, p)
	}
	err := procs.Poll(ctx, ReadyTimeout, 100*time.Millisecond, fmt.Sprintf("%d workers to poll %s", n, o.TaskQueue), func() (bool, error) {
		ctx, cancel := context.WithTimeout(ctx, callTimeout)
		defer cancel()
		resp, err := d.Client.DescribeTaskQueue(ctx, o.TaskQueue, enumspb.TASK_QUEUE_TYPE_ACTIVITY)
		if err != nil {
			return false, err
		}
		polling := map[int]bool{}
		for _, p := range resp.GetPollers() {
			polling[IdentityPID(p.GetIdentity())] = true
		}
		for _, w := range ws {
			if !polling[w.PID()] {
				return false, nil
			}
		}
		return true, nil
	}, ws...)
	if err != nil {
		stopAll()
		return nil, err
	}
	return ws, nil
}

// IdentityPID returns the process ID in a default SDK worker identity
// ("PID@HOST@..."), or -1.
func IdentityPID(identity string) int {
	s, _, _ := strings.Cut(identity, "@")
	pid, err := strconv.Atoi(s)
	if err != nil {
		return -1
	}
	return pid
}
