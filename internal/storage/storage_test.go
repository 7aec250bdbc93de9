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
	if err := CheckWritable("gs://bucket/x"); !errors.Is(err, ErrUnsupportedScheme) {
		t.Errorf("gs: %v", err)
	}
}

func TestRangesAndReaderAt(t *testing.T) {
	dir := t.TempDir()
	local := filepath.Join(dir, "sub", "f.bin")
	if err := WriteFile(t.Context(), local, []byte("0123456789")); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	defer srv.Close()
	for _, uri := range []string{local, srv.URL + "/sub/f.bin"} {
		info, err := Stat(t.Context(), uri)
		if err != nil || info.Size != 10 {
			t.Fatalf("%s: stat %+v %v", uri, info, err)
		}
		rc, err := OpenRange(t.Context(), uri, 3, 4)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		if string(b) != "3456" {
			t.Errorf("%s: range got %q", uri, b)
		}
		rc, _ = OpenRange(t.Context(), uri, 7, -1)
		b, _ = io.ReadAll(rc)
		rc.Close()
		if string(b) != "789" {
			t.Errorf("%s: open-ended range got %q", uri, b)
		}
		ra, err := OpenReaderAt(t.Context(), uri)
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 5)
		if n, err := ra.ReadAt(buf, 8); n != 2 || err != io.EOF || string(buf[:2]) != "89" {
			t.Errorf("%s: ReadAt tail n=%d err=%v %q", uri, n, err, buf[:n])
		}
		ra.Close()
	}
	list, err := List(t.Context(), dir)
	if err != nil || len(list) != 1 || list[0].Size != 10 {
		t.Errorf("list %+v %v", list, err)
	}
	if _, err := List(t.Context(), filepath.Join(dir, "nope")); !errors.Is(err, ErrNotFound) {
		t.Errorf("list missing: %v", err)
	}
}
