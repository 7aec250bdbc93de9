package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/batchinfer/batchinfer/platform"
)

// proc is a child process in its own process group, output to a log file.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error
}

func startProc(dir, name string, env []string, bin string, args ...string) (*proc, error) {
	logPath := filepath.Join(dir, name+".log")
	fh, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = fh, fh
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		_ = fh.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		_ = fh.Close()
		close(p.done)
	}()
	return p, nil
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM to the process group, then SIGKILL after 10 s.
func (p *proc) stop() {
	_ = syscall.Kill(-p.pid(), syscall.SIGTERM)
	select {
	case <-p.done:
		return
	case <-time.After(10 * time.Second):
	}
	_ = syscall.Kill(-p.pid(), syscall.SIGKILL)
	<-p.done
}

// peakRSS returns the process's peak resident set size (VmHWM) in bytes.
func (p *proc) peakRSS() (int64, error) {
	return procPeakRSS(p.pid())
}

// cpuSeconds returns the user + system CPU time the process has used so
// far, in seconds (utime + stime of /proc/PID/stat, in clock ticks of
// 1/100 s, the USER_HZ of Linux on every architecture Go supports).
func (p *proc) cpuSeconds() (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.pid()))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces; fields after it are plain.
	_, rest, ok := strings.Cut(string(b), ") ")
	f := strings.Fields(rest)
	if !ok || len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", p.pid())
	}
	// rest starts at field 3 (state): utime is field 14, stime field 15.
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: bad utime/stime", p.pid())
	}
	return float64(u+s) / 100, nil
}

func procPeakRSS(pid int) (int64, error) {
	fh, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("/proc/%d/status: no VmHWM", pid)
}

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

// poll calls cond every interval until it is true, fails or timeout passes.
func poll(timeout, interval time.Duration, what string, cond func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	var last error
	for {
		ok, err := cond()
		if ok {
			return nil
		}
		if err != nil {
			last = err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %v waiting for %s (last error: %v)", timeout, what, last)
		}
		time.Sleep(interval)
	}
}

// moduleRoot returns the folder of the batchinfer module's go.mod.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("run from inside the batchinfer module")
	}
	return filepath.Dir(gomod), nil
}

// buildBinaries builds worker and starter into dir.
func buildBinaries(root, dir string) error {
	cmd := exec.Command("go", "build", "-o", dir+string(os.PathSeparator), "./worker", "./starter")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./worker ./starter: %w\n%s", err, out)
	}
	return nil
}

// s3Server is a versitygw process serving a folder.
type s3Server struct {
	proc                   *proc
	endpoint, dir, bucket  string
	access, secret, region string
}

// versityGW finds a versitygw binary: $BATCHINFER_VERSITYGW, PATH, then
// $(go env GOPATH)/bin.
func versityGW() (string, error) {
	if p := os.Getenv("BATCHINFER_VERSITYGW"); p != "" {
		return p, nil
	}
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p, nil
	}
	out, err := exec.Command("go", "env", "GOPATH").Output()
	if err == nil {
		gopath, _, _ := strings.Cut(strings.TrimSpace(string(out)), string(os.PathListSeparator))
		p := filepath.Join(gopath, "bin", "versitygw")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", errors.New("no versitygw binary: install it with `go install github.com/versity/versitygw/cmd/versitygw@v1.8.0` or set BATCHINFER_VERSITYGW")
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := l.Addr().String()
	return addr, l.Close()
}

// startS3 starts versitygw on a free port over dir, creates the bucket and
// sets the AWS environment of this process (inherited by the workers).
func startS3(logDir, dir string) (*s3Server, error) {
	bin, err := versityGW()
	if err != nil {
		return nil, err
	}
	s := &s3Server{dir: dir, bucket: "bench", access: "batchinfer-bench", secret: "batchinfer-bench-secret", region: "us-east-1"}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	s.endpoint = "http://" + addr
	s.proc, err = startProc(logDir, "versitygw", nil, bin,
		"--access", s.access, "--secret", s.secret, "--region", s.region,
		"--port", addr, "--health", "/health", "--quiet", "posix", dir)
	if err != nil {
		return nil, err
	}
	hc := &http.Client{Timeout: time.Second}
	err = poll(20*time.Second, 20*time.Millisecond, "versitygw", func() (bool, error) {
		if s.proc.exited() {
			return false, fmt.Errorf("versitygw exited: %v\n%s", s.proc.err, tail(s.proc.log, 20))
		}
		resp, err := hc.Get(s.endpoint + "/health")
		if err != nil {
			return false, err
		}
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
	if err != nil {
		s.proc.stop()
		return nil, err
	}
	c := s3.New(s3.Options{
		Region: s.region, BaseEndpoint: aws.String(s.endpoint), UsePathStyle: true,
		Credentials:                credentials.NewStaticCredentialsProvider(s.access, s.secret, ""),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &s.bucket}); err != nil {
		s.proc.stop()
		return nil, fmt.Errorf("creating bucket %s: %w", s.bucket, err)
	}
	for k, v := range s.env() {
		os.Setenv(k, v)
	}
	os.Setenv("AWS_PROFILE", "")
	os.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	return s, nil
}

func (s *s3Server) env() map[string]string {
	return map[string]string{
		"AWS_ACCESS_KEY_ID": s.access, "AWS_SECRET_ACCESS_KEY": s.secret, "AWS_REGION": s.region,
		"AWS_ENDPOINT_URL_S3": s.endpoint, "BATCHINFER_S3_PATH_STYLE": "true",
	}
}

func (s *s3Server) uri(key string) string { return "s3://" + s.bucket + "/" + key }

// devServer is a `starter dev` process and a client of it.
type devServer struct {
	proc     *proc
	hostPort string
	c        client.Client
}

func startDevServer(logDir, bin string) (*devServer, error) {
	p, err := startProc(logDir, "devserver", nil, filepath.Join(bin, "starter"), "dev", "--port", "-1", "--ui-port", "-1")
	if err != nil {
		return nil, err
	}
	d := &devServer{proc: p}
	const prefix = "Temporal server: "
	err = poll(90*time.Second, 50*time.Millisecond, "starter dev to print its address", func() (bool, error) {
		if p.exited() {
			return false, fmt.Errorf("starter dev exited: %v\n%s", p.err, tail(p.log, 20))
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
		d.hostPort, _, _ = strings.Cut(line, " ")
		return ok, nil
	})
	if err != nil {
		p.stop()
		return nil, err
	}
	if d.c, err = (platform.ConnectOptions{Address: d.hostPort, Namespace: platform.DefaultNamespace}).Dial(nil); err != nil {
		p.stop()
		return nil, err
	}
	err = poll(60*time.Second, 100*time.Millisecond, "the dev server's namespace", func() (bool, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_, err := d.c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: platform.DefaultNamespace})
		return err == nil, err
	})
	if err != nil {
		d.stop()
		return nil, err
	}
	return d, nil
}

func (d *devServer) stop() {
	if d.c != nil {
		d.c.Close()
	}
	d.proc.stop()
}

// startWorkers starts n worker processes on taskQueue (GOMAXPROCS=gomaxprocs
// when > 0) and waits until each polls the activity queue.
func (d *devServer) startWorkers(logDir, bin, taskQueue string, n, gomaxprocs int) ([]*proc, error) {
	env := []string{platform.EnvAddress + "=" + d.hostPort, platform.EnvNamespace + "=" + platform.DefaultNamespace}
	if gomaxprocs > 0 {
		env = append(env, fmt.Sprintf("GOMAXPROCS=%d", gomaxprocs))
	}
	var ws []*proc
	stopAll := func() {
		for _, w := range ws {
			w.stop()
		}
	}
	for i := range n {
		p, err := startProc(logDir, fmt.Sprintf("worker-%s-%d", taskQueue, i), env, filepath.Join(bin, "worker"),
			"--task-queue", taskQueue, "--metrics-addr=", "--log-level", "warn")
		if err != nil {
			stopAll()
			return nil, err
		}
		ws = append(ws, p)
	}
	err := poll(60*time.Second, 100*time.Millisecond, "the workers to poll "+taskQueue, func() (bool, error) {
		for _, w := range ws {
			if w.exited() {
				return false, fmt.Errorf("%s exited: %v\n%s", w.name, w.err, tail(w.log, 20))
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		resp, err := d.c.DescribeTaskQueue(ctx, taskQueue, enumspb.TASK_QUEUE_TYPE_ACTIVITY)
		if err != nil {
			return false, err
		}
		polling := map[string]bool{}
		for _, p := range resp.GetPollers() {
			pid, _, _ := strings.Cut(p.GetIdentity(), "@")
			polling[pid] = true
		}
		for _, w := range ws {
			if !polling[strconv.Itoa(w.pid())] {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		stopAll()
		return nil, err
	}
	return ws, nil
}
