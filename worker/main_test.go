package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/batchinfer/batchinfer/platform"
	"github.com/batchinfer/batchinfer/platform/devserver"
	"github.com/batchinfer/batchinfer/workflows"
)

func TestFlagsFromEnvironmentAndCommandLine(t *testing.T) {
	t.Setenv(platform.EnvAddress, "temporal:7233")
	t.Setenv(platform.EnvNamespace, "ml")
	t.Setenv(platform.EnvMetricsAddr, "0.0.0.0:9090")
	t.Setenv(platform.EnvLogFormat, "json")
	t.Setenv(platform.EnvTLSServerName, "frontend")
	cfg, err := parseFlags([]string{"--namespace", "other", "--log-level", "debug"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.conn.Address != "temporal:7233" || cfg.conn.Namespace != "other" || cfg.metricsAddr != "0.0.0.0:9090" ||
		cfg.logFormat != "json" || cfg.logLevel != "debug" || cfg.conn.TLSServerName != "frontend" {
		t.Errorf("config %+v", cfg)
	}
	if _, err := parseFlags([]string{"--max-concurrent-activities", "0"}, io.Discard); err == nil {
		t.Error("zero activities accepted")
	}
	if err := run([]string{"--log-format", "xml"}, io.Discard, nil); err == nil || !strings.Contains(err.Error(), "xml") {
		t.Errorf("bad log format: %v", err)
	}
}

// syncBuffer is a bytes.Buffer safe for the worker's logger and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// The worker main against a real server: it runs a job, serves the
// rows-scored counter on --metrics-addr, logs JSON, and stops on interrupt.
func TestWorkerRunsJobsServesMetricsLogsJSON(t *testing.T) {
	srv, err := devserver.Start(t.Context(), devserver.Options{Port: -1, DisableUI: true, SearchAttributes: workflows.SearchAttributes()})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	metricsAddr := l.Addr().String()
	_ = l.Close()

	logs := &syncBuffer{}
	interrupt := make(chan any)
	done := make(chan error, 1)
	go func() {
		done <- run([]string{"--address", srv.HostPort(), "--namespace", srv.Namespace(), "--task-queue", "worker-test",
			"--metrics-addr", metricsAddr, "--log-format", "json"}, logs, interrupt)
	}()

	c, err := srv.Dial(client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	data, _ := filepath.Abs("../examples/demo/batch.csv")
	model, _ := filepath.Abs("../examples/demo/model")
	in := workflows.BatchPredictInput{Dataset: []string{data}, Model: model, ArtifactPath: t.TempDir(), Job: "worker-test"}
	if err := workflows.Validate(&in); err != nil {
		t.Fatal(err)
	}
	r, err := platform.StartJob(t.Context(), c, "worker-test", in)
	if err != nil {
		t.Fatal(err)
	}
	var res workflows.BatchPredictResult
	if err := r.Get(t.Context(), &res); err != nil {
		t.Fatal(err)
	}
	_, body := httpGet(t, "http://"+metricsAddr+"/metrics")
	if want := `batchinfer_rows_scored_total{model="` + model + `"} 10000`; !strings.Contains(string(body), want) {
		t.Errorf("metrics lack %q", want)
	}
	close(interrupt)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("worker: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("worker did not stop on interrupt")
	}
	sc := bufio.NewScanner(strings.NewReader(logs.String()))
	var msgs []string
	for sc.Scan() {
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("log line is not JSON: %q", sc.Text())
		}
		msgs = append(msgs, line["msg"].(string))
	}
	joined := strings.Join(msgs, "|")
	for _, m := range []string{"serving metrics", "worker starting", "worker stopped"} {
		if !strings.Contains(joined, m) {
			t.Errorf("logs lack %q: %s", m, joined)
		}
	}
}

func TestPprofAddr(t *testing.T) {
	cfg, err := parseFlags([]string{"--pprof-addr", "127.0.0.1:0"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	stop, url, err := servePprof(cfg.pprofAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	status, b := httpGet(t, url+"heap?debug=1")
	if status != http.StatusOK || !strings.Contains(string(b), "heap profile") {
		t.Errorf("GET %sheap: %d, %.100q", url, status, b)
	}
	if cfg, err := parseFlags(nil, io.Discard); err != nil {
		t.Error(err)
	} else if cfg.pprofAddr != "" {
		t.Errorf("default --pprof-addr %q, want empty", cfg.pprofAddr)
	}
}

// TestNoEmbeddedServer keeps the Temporal server (platform/devserver) out of
// the worker binary: its code, paged in at start, cost every worker about
// 90 MiB of resident memory.
func TestNoEmbeddedServer(t *testing.T) {
	out, err := exec.CommandContext(t.Context(), "go", "list", "-deps", ".").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	for _, p := range strings.Fields(string(out)) {
		if strings.HasPrefix(p, "go.temporal.io/server/") || strings.HasPrefix(p, "github.com/temporalio/ui-server/") ||
			strings.HasSuffix(p, "/platform/devserver") {
			t.Errorf("the worker links %s", p)
		}
	}
}

// httpGet fetches url and returns the status code and the whole body.
func httpGet(t *testing.T, url string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}
