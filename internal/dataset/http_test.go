package dataset

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// newServer serves dir, plus /status/500 answering 500 and /status/404
// answering 404.
func newServer(t *testing.T, dir string) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/", http.FileServer(http.Dir(dir)))
	mux.HandleFunc("/status/500/", func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "boom", http.StatusInternalServerError)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestHTTP(t *testing.T) {
	mem := checkedAlloc(t)
	dir := t.TempDir()
	copyFile := func(src, name string) {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	copyFile("testdata/basic.csv", "basic.csv")
	copyFile("testdata/basic.csv", "noext")
	copyFile("testdata/basic.jsonl", "basic.jsonl")
	rec := sampleRecord(mem, 50)
	writeParquet(t, filepath.Join(dir, "data.parquet"), rec)
	writeParquet(t, filepath.Join(dir, "blob"), rec) // Parquet without extension
	rec.Release()
	writeGzip(t, filepath.Join(dir, "basic.csv.gz"), "a\n1\n2\n")
	srv := newServer(t, dir)

	tests := []struct {
		path   string
		format Format
		rows   int
	}{
		{"/basic.csv", CSV, 4},
		{"/noext?X-Amz-Signature=secret", CSV, 4},
		{"/basic.jsonl", JSONL, 3},
		{"/data.parquet", Parquet, 50},
		{"/blob", Parquet, 50},
		{"/basic.csv.gz", CSV, 2},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			url := srv.URL + tt.path
			files, err := ResolveWith(t.Context(), []string{url}, srv.Client())
			if err != nil {
				t.Fatal(err)
			}
			if len(files) != 1 || files[0].Format != tt.format || files[0].URI != url || files[0].Size <= 0 {
				t.Fatalf("Resolve = %+v", files)
			}
			_, rows, err := openDrain(t.Context(), files[0], Options{Alloc: mem, HTTPClient: srv.Client()})
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != tt.rows {
				t.Errorf("%d rows, want %d", len(rows), tt.rows)
			}
		})
	}

	// The temporary copy of a remote Parquet file goes away on Close.
	before, _ := filepath.Glob(filepath.Join(os.TempDir(), "batchinfer-dataset-*.parquet"))
	r, err := Open(t.Context(), File{URI: srv.URL + "/data.parquet", Format: Parquet}, Options{Alloc: mem, HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	during, _ := filepath.Glob(filepath.Join(os.TempDir(), "batchinfer-dataset-*.parquet"))
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	after, _ := filepath.Glob(filepath.Join(os.TempDir(), "batchinfer-dataset-*.parquet"))
	if len(during) != len(before)+1 || !slices.Equal(before, after) {
		t.Errorf("temporary files: before %d, during %d, after %d", len(before), len(during), len(after))
	}
}

func TestHTTPErrors(t *testing.T) {
	srv := newServer(t, t.TempDir())
	for _, tt := range []struct {
		path   string
		format Format
		status int
	}{
		{"/missing.csv", CSV, 404},
		{"/missing.parquet", Parquet, 404},
		{"/status/500/x.csv", CSV, 500},
		{"/status/500/x.parquet", Parquet, 500},
	} {
		t.Run(tt.path, func(t *testing.T) {
			url := srv.URL + tt.path + "?token=secret"
			check := func(err error) {
				t.Helper()
				var se *StatusError
				if !errors.As(err, &se) || se.StatusCode != tt.status {
					t.Fatalf("error = %v, want a StatusError with %d", err, tt.status)
				}
				if got := errors.Is(err, ErrNotFound); got != (tt.status == 404) {
					t.Errorf("errors.Is(%v, ErrNotFound) = %v", err, got)
				}
				msg := err.Error()
				if !strings.Contains(msg, srv.URL+tt.path) || !strings.Contains(msg, http.StatusText(tt.status)) {
					t.Errorf("error %q should name the URL and the status", msg)
				}
				if strings.Contains(msg, "secret") {
					t.Errorf("error %q leaks the query string", msg)
				}
			}
			_, err := ResolveWith(t.Context(), []string{url}, srv.Client())
			check(err)
			_, err = Open(t.Context(), File{URI: url, Format: tt.format}, Options{HTTPClient: srv.Client()})
			check(err)
		})
	}
}

func TestHTTPCancelled(t *testing.T) {
	srv := newServer(t, "testdata")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := ResolveWith(ctx, []string{srv.URL + "/basic.csv"}, srv.Client())
	wantErrIs(t, err, context.Canceled)
	_, err = Open(ctx, File{URI: srv.URL + "/basic.csv", Format: CSV}, Options{HTTPClient: srv.Client()})
	wantErrIs(t, err, context.Canceled)
}
