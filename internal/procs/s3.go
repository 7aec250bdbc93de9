package procs

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// VersityGWModule is the versitygw version InstallVersityGW builds and the
// error of FindVersityGW suggests.
const VersityGWModule = "github.com/versity/versitygw/cmd/versitygw@v1.8.0"

// EnvVersityGW names a versitygw binary to use instead of searching PATH
// and the `go install` folder.
const EnvVersityGW = "BATCHINFER_VERSITYGW"

// ErrNoVersityGW is wrapped by FindVersityGW's error when it finds no
// binary anywhere (as opposed to a bad $BATCHINFER_VERSITYGW).
var ErrNoVersityGW = errors.New("no versitygw binary")

// FindVersityGW returns the path of a versitygw binary: $BATCHINFER_VERSITYGW
// when set (the file must exist), else one on PATH, else one in the folder
// `go install` writes to ($(go env GOBIN), else the first entry of
// $(go env GOPATH) + /bin). When there is none the error wraps
// ErrNoVersityGW and says how to install one.
func FindVersityGW() (string, error) {
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
	return "", fmt.Errorf("%w on PATH or in %s: install it with `go install %s` or set $%s",
		ErrNoVersityGW, gobin, VersityGWModule, EnvVersityGW)
}

// InstallVersityGW builds VersityGWModule with `go install` into the
// folder FindVersityGW searches last and returns the binary's path. A cold
// build takes a few minutes.
func InstallVersityGW() (string, error) {
	gobin, err := goBinDir()
	if err != nil {
		return "", err
	}
	cmd := exec.Command("go", "install", VersityGWModule)
	cmd.Env = append(os.Environ(), "GOBIN="+gobin)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go install %s: %w\n%s", VersityGWModule, err, out)
	}
	return filepath.Join(gobin, "versitygw"), nil
}

// goBinDir returns the folder `go install` writes to.
func goBinDir() (string, error) {
	out, err := exec.Command("go", "env", "GOBIN", "GOPATH").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOBIN GOPATH: %w", err)
	}
	// One line each, GOBIN's empty when unset.
	lines := strings.Split(string(out), "\n")
	if len(lines) < 2 {
		return "", fmt.Errorf("go env GOBIN GOPATH: unexpected output %q", out)
	}
	if gobin := strings.TrimSpace(lines[0]); gobin != "" {
		return gobin, nil
	}
	gopath, _, _ := strings.Cut(strings.TrimSpace(lines[1]), string(os.PathListSeparator))
	if gopath == "" {
		return "", errors.New("go env GOPATH is empty")
	}
	return filepath.Join(gopath, "bin"), nil
}

// S3Options configures StartS3. The zero value of each field but Dir and
// LogDir means its default.
type S3Options struct {
	// Bin is the versitygw binary. Default: FindVersityGW's.
	Bin string
	// Dir is the folder the server stores its buckets in (its posix
	// back end). Required.
	Dir string
	// LogDir is the folder of the server's log, versitygw.log. Required;
	// not Dir, where the server keeps its buckets.
	LogDir string
	// Bucket is a bucket created empty once the server answers. Default
	// "bucket".
	Bucket string
	// AccessKey and SecretKey are the root credentials. Default
	// "batchinfer-test" and "batchinfer-test-secret".
	AccessKey, SecretKey string
	// Region is the region the server signs for. Default "us-east-1".
	Region string
	// PosixArgs are extra flags of versitygw's posix back end, placed
	// before Dir (for example "--data-integrity-etag"). Default none.
	PosixArgs []string
	// ReadyTimeout bounds the wait for the server's health endpoint, per
	// attempt (StartS3 tries up to three free ports). Default 20 s.
	ReadyTimeout time.Duration
}

// S3Server is a running versitygw serving a folder.
type S3Server struct {
	// Proc is the server process; stop it with Proc.Stop or Proc.Kill.
	Proc *Proc
	// Endpoint is the server's base URL, "http://127.0.0.1:PORT".
	Endpoint string
	// Bucket is the bucket StartS3 created empty.
	Bucket string
	// AccessKey and SecretKey are the root credentials.
	AccessKey, SecretKey string
	// Region is the region the server signs for.
	Region string
	// Dir is the folder the server stores buckets in.
	Dir string
}

// StartS3 starts versitygw on a free loopback port over o.Dir, waits until
// its health endpoint answers 200 (polled every 20 ms, up to
// o.ReadyTimeout; a port taken between probe and bind is retried on
// another, three attempts in all) and creates o.Bucket (10 s at most). It
// changes no environment: see Env. On failure no process is left running.
func StartS3(ctx context.Context, o S3Options) (*S3Server, error) {
	if o.Dir == "" || o.LogDir == "" {
		return nil, errors.New("starting versitygw: S3Options.Dir and LogDir are required")
	}
	if o.Bin == "" {
		bin, err := FindVersityGW()
		if err != nil {
			return nil, err
		}
		o.Bin = bin
	}
	s := &S3Server{
		Bucket: cmp.Or(o.Bucket, "bucket"), Region: cmp.Or(o.Region, "us-east-1"), Dir: o.Dir,
		AccessKey: cmp.Or(o.AccessKey, "batchinfer-test"), SecretKey: cmp.Or(o.SecretKey, "batchinfer-test-secret"),
	}
	if o.ReadyTimeout <= 0 {
		o.ReadyTimeout = 20 * time.Second
	}
	var err error
	for range 3 {
		if err = s.start(ctx, o); err == nil || ctx.Err() != nil {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("starting versitygw: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := s.Client().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &s.Bucket}); err != nil {
		s.Proc.Stop()
		return nil, fmt.Errorf("creating bucket %s on versitygw %s: %w", s.Bucket, s.Endpoint, err)
	}
	return s, nil
}

// start runs the server on a free port and waits until it answers.
func (s *S3Server) start(ctx context.Context, o S3Options) error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("finding a free port: %w", err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		return fmt.Errorf("finding a free port: %w", err)
	}
	args := []string{"--access", s.AccessKey, "--secret", s.SecretKey, "--region", s.Region,
		"--port", addr, "--health", "/health", "--quiet", "posix"}
	args = append(append(args, o.PosixArgs...), o.Dir)
	p, err := Start(o.LogDir, "versitygw", nil, o.Bin, args...)
	if err != nil {
		return err
	}
	endpoint := "http://" + addr
	hc := &http.Client{Timeout: time.Second}
	err = Poll(ctx, o.ReadyTimeout, 20*time.Millisecond, "versitygw on "+addr, func() (bool, error) {
		resp, err := hc.Get(endpoint + "/health")
		if err != nil {
			return false, err
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return false, fmt.Errorf("GET /health: %s", resp.Status)
		}
		return true, nil
	}, p)
	if err != nil {
		p.Stop()
		return err
	}
	s.Proc, s.Endpoint = p, endpoint
	return nil
}

// URI returns s3://Bucket/key.
func (s *S3Server) URI(key string) string { return "s3://" + s.Bucket + "/" + key }

// Client returns a plain SDK client for the server (path-style, static
// credentials): for setting up and checking data independently of the code
// under test.
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

// Env returns, as "KEY=value", the environment that points the AWS SDK
// and batchinfer's storage package at the server with its root
// credentials: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN
// (empty), AWS_REGION, AWS_ENDPOINT_URL_S3 and BATCHINFER_S3_PATH_STYLE
// (true), plus AWS_PROFILE (empty) and AWS_EC2_METADATA_DISABLED (true) to
// keep a developer's own profile and instance metadata out of the way.
// (The names are internal/storage's; spelled out here because storage's
// tests import this package through internal/testenv.)
func (s *S3Server) Env() []string {
	return []string{
		"AWS_ACCESS_KEY_ID=" + s.AccessKey,
		"AWS_SECRET_ACCESS_KEY=" + s.SecretKey,
		"AWS_SESSION_TOKEN=",
		"AWS_REGION=" + s.Region,
		"AWS_ENDPOINT_URL_S3=" + s.Endpoint,
		"BATCHINFER_S3_PATH_STYLE=true",
		"AWS_PROFILE=",
		"AWS_EC2_METADATA_DISABLED=true",
	}
}
