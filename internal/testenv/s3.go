package testenv

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batchinfer/batchinfer/internal/procs"
)

// S3Server is a running versitygw serving a temporary folder; see
// procs.S3Server.
type S3Server = procs.S3Server

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// VersityGW returns the path of a versitygw binary: procs.FindVersityGW's
// ($BATCHINFER_VERSITYGW, else one on PATH, else in the `go install`
// folder), else one it builds with procs.InstallVersityGW (once per test
// process; a cold build takes a few minutes). It skips the test when there
// is none.
func VersityGW(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() { binPath, binErr = findOrBuild(t) })
	if binErr != nil {
		t.Skipf("no versitygw binary for the S3 tests: %v (install it with `go install %s`)", binErr, procs.VersityGWModule)
	}
	return binPath
}

func findOrBuild(t testing.TB) (string, error) {
	p, err := procs.FindVersityGW()
	if !errors.Is(err, procs.ErrNoVersityGW) {
		return p, err
	}
	start := time.Now()
	t.Logf("versitygw not found: building %s", procs.VersityGWModule)
	if p, err = procs.InstallVersityGW(); err != nil {
		return "", err
	}
	t.Logf("built versitygw in %s", time.Since(start).Round(time.Second))
	return p, nil
}

// StartS3 starts versitygw on a free loopback port, serving a temporary
// folder, creates an empty bucket ("bucket"), and sets the AWS SDK's
// environment (S3Server.Env: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
// AWS_REGION, AWS_ENDPOINT_URL_S3, BATCHINFER_S3_PATH_STYLE, ...) for the
// test's duration, so it cannot be used with t.Parallel. The server is
// killed at the end of the test. It skips the test when no versitygw binary
// can be had.
func StartS3(t testing.TB) *S3Server {
	t.Helper()
	srv, err := procs.StartS3(t.Context(), procs.S3Options{
		Bin:          VersityGW(t),
		Dir:          t.TempDir(),
		LogDir:       t.TempDir(),
		ReadyTimeout: 15 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Proc.Kill)
	for _, kv := range srv.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	return srv
}
