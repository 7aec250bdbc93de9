package storage

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

func TestWriterCommitIsAtomic(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "a", "b.json")
	w, err := Create(t.Context(), target)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(target); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("target visible before commit: %v", err)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(target)
	if err != nil || string(b) != "hello" {
		t.Fatalf("got %q, %v", b, err)
	}
	entries, _ := os.ReadDir(filepath.Dir(target))
	if len(entries) != 1 {
		t.Fatalf("temporary files left behind: %v", entries)
	}
}

func TestWriterCloseWithoutCommitDiscards(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "x.parquet")
	w, err := Create(t.Context(), "file://"+target)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = w.Write([]byte("partial"))
	_ = w.Close()
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Fatalf("want empty folder, got %v", entries)
	}
}

func TestOpen(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ok" {
			_, _ = io.WriteString(w, "body")
			return
		}
		http.NotFound(w, r)
	}))
	defer srv.Close()
	dir := t.TempDir()
	local := filepath.Join(dir, "f.txt")
	if err := WriteFile(t.Context(), local, []byte("local")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		uri      string
		want     string
		notFound bool
	}{
		{uri: local, want: "local"},
		{uri: "file://" + local, want: "local"},
		{uri: srv.URL + "/ok", want: "body"},
		{uri: srv.URL + "/missing", notFound: true},
		{uri: filepath.Join(dir, "missing"), notFound: true},
	}
	for _, tt := range tests {
		b, err := ReadAll(t.Context(), tt.uri, 0)
		if tt.notFound {
			if !errors.Is(err, ErrNotFound) {
				t.Errorf("%s: want ErrNotFound, got %v", tt.uri, err)
			}
			continue
		}
		if err != nil || string(b) != tt.want {
			t.Errorf("%s: got %q, %v", tt.uri, b, err)
		}
	}
	if _, err := ReadAll(t.Context(), local, 2); err == nil {
		t.Error("want size-limit error")
	}
	if err := CheckWritable("s3://bucket/x"); !errors.Is(err, ErrUnsupportedScheme) {
		t.Errorf("s3: %v", err)
	}
}
