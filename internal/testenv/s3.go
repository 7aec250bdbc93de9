package testenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// VersityGWModule is the versitygw version StartS3 builds when no binary is
// found.
const VersityGWModule = "github.com/versity/versitygw/cmd/versitygw@v1.8.0"

// EnvVersityGW names a versitygw binary to use instead of searching PATH
// and $(go env GOPATH)/bin.
const EnvVersityGW = "BATCHINFER_VERSITYGW"

// S3Server is a running versitygw serving a temporary folder.
type S3Server struct {
	// Endpoint is the server's base URL, "http://127.0.0.1:PORT".
	Endpoint string
	// Bucket is a bucket created empty for the test.
	Bucket string
	// AccessKey and SecretKey are the root credentials.
	AccessKey, SecretKey string
	// Region is the region the server signs for.
	Region string
	// Dir is the folder the server stores buckets in.
	Dir string
}

// URI returns s3://Bucket/key.
func (s *S3Server) URI(key string) string { return "s3://" + s.Bucket + "/" + key }

// Client returns a plain SDK client for the server (path-style, static
// credentials, few retries): for setting up and checking test data
// independently of the code under test.
func (s *S3Server) Client() *s3.Client {
	return s3.New(s3.Options{
		Region:       s.Region,
		BaseEndpoint: aws.String(s.Endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(s.AccessKey, s.SecretKey, ""),
		// The store supports them, but keep setup requests simple.
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	})
}

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// VersityGW returns the path of a versitygw binary: $BATCHINFER_VERSITYGW,
// else one on PATH, else in $(go env GOPATH)/bin, else one it builds with
// `go install` (once per test process; a cold build takes a few minutes).
func VersityGW(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() { binPath, binErr = findOrBuild(t) })
	if binErr != nil {
		t.Skipf("no versitygw binary for the S3 tests: %v (install it with `go install %s`)", binErr, VersityGWModule)
	}
	return binPath
}

func findOrBuild(t testing.TB) (string, error) {
	if p := os.Getenv(EnvVersityGW); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("$%s: %w", EnvVersityGW, err)
		}
		return p, nil
	}
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p, nil
	}
	gobin, err := goBinDir()
	if err != nil {
		return "", err
	}
	p := filepath.Join(gobin, "versitygw")
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	start := time.Now()
	t.Logf("versitygw not found: building %s into %s", VersityGWModule, gobin)
	cmd := exec.Command("go", "install", VersityGWModule)
	cmd.Env = append(os.Environ(), "GOBIN="+gobin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go install %s: %w\n%s", VersityGWModule, err, out)
	}
	t.Logf("built versitygw in %s", time.Since(start).Round(time.Second))
	return p, nil
}

func goBinDir() (string, error) {
	out, err := exec.Command("go", "env", "GOBIN", "GOPATH").Output()
	if err != nil {
		return "", fmt.Errorf("go env: %w", err)
	}
	// One line each, GOBIN's empty when unset.
	lines := strings.Split(string(out), "\n")
	if len(lines) < 2 {
		return "", fmt.Errorf("go env: unexpected output %q", out)
	}
	if gobin := strings.TrimSpace(lines[0]); gobin != "" {
		return gobin, nil
	}
	gopath := strings.TrimSpace(lines[1])
	if gopath == "" {
		return "", errors.New("go env GOPATH is empty")
	}
	if i := strings.IndexByte(gopath, os.PathListSeparator); i >= 0 {
		gopath = gopath[:i]
	}
	return filepath.Join(gopath, "bin"), nil
}

// StartS3 starts versitygw on a free loopback port, serving a temporary
// folder, creates an empty bucket, and sets the AWS SDK's environment
// (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION,
// AWS_ENDPOINT_URL_S3, BATCHINFER_S3_PATH_STYLE) for the test's duration,
// so it cannot be used with t.Parallel. The server stops at the end of the
// test. It skips the test when no versitygw binary can be had.
func StartS3(t testing.TB) *S3Server {
	t.Helper()
	bin := VersityGW(t)
	srv := &S3Server{
		AccessKey: "batchinfer-test",
		SecretKey: "batchinfer-test-secret",
		Region:    "us-east-1",
		Bucket:    "bucket",
		Dir:       t.TempDir(),
	}
	var lastErr error
	for range 3 { // a free port can be taken between probe and bind
		addr, err := freeAddr()
		if err != nil {
			t.Fatal(err)
		}
		if lastErr = srv.start(t, bin, addr); lastErr == nil {
			break
		}
	}
	if lastErr != nil {
		t.Fatalf("starting versitygw: %v", lastErr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := srv.Client().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &srv.Bucket}); err != nil {
		t.Fatalf("creating bucket %s: %v", srv.Bucket, err)
	}
	t.Setenv("AWS_ACCESS_KEY_ID", srv.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", srv.SecretKey)
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_REGION", srv.Region)
	t.Setenv("AWS_ENDPOINT_URL_S3", srv.Endpoint)
	t.Setenv("BATCHINFER_S3_PATH_STYLE", "true")
	// Keep a developer's own profile and instance metadata out of the way.
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	return srv
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("finding a free port: %w", err)
	}
	addr := l.Addr().String()
	return addr, l.Close()
}

// start runs the server on addr and waits (bounded) until it answers.
func (s *S3Server) start(t testing.TB, bin, addr string) error {
	var logs bytes.Buffer
	cmd := exec.Command(bin,
		"--access", s.AccessKey, "--secret", s.SecretKey, "--region", s.Region,
		"--port", addr, "--health", "/health", "--quiet",
		"posix", s.Dir)
	cmd.Stdout = &syncWriter{w: &logs}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		_ = cmd.Process.Kill()
		<-exited
	}
	s.Endpoint = "http://" + addr
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(15 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		resp, err := client.Get(s.Endpoint + "/health")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			stop()
			return fmt.Errorf("versitygw on %s not ready after 15s: %v\n%s", addr, err, logs.String())
		}
		select {
		case err := <-exited:
			exited <- err
			return fmt.Errorf("versitygw on %s exited: %v\n%s", addr, err, logs.String())
		case <-tick.C:
		}
	}
	t.Cleanup(stop)
	return nil
}

type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(p)
}
