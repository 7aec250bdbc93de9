package dataset

import (
	"compress/gzip"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func writeGzip(t *testing.T, path, content string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw := gzip.NewWriter(f)
	if _, err := zw.Write([]byte(content)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestResolveFolder(t *testing.T) {
	files, err := Resolve(t.Context(), []string{"testdata/folder"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range files {
		got = append(got, filepath.ToSlash(f.URI)+":"+string(f.Format))
		if f.Size <= 0 {
			t.Errorf("%s: size %d", f.URI, f.Size)
		}
	}
	want := []string{
		"testdata/folder/a.csv:csv",
		"testdata/folder/b.csv:csv",
		"testdata/folder/sub/a.csv:csv",
		"testdata/folder/z.jsonl:jsonl",
	}
	if !slices.Equal(got, want) {
		t.Errorf("Resolve = %q, want %q", got, want)
	}

	// The whole folder reads as one stream (CSV and JSON Lines mixed).
	mem := checkedAlloc(t)
	r, err := OpenAll(t.Context(), files, Options{Alloc: mem})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	rows, _, err := drain(r)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"5|6", "1|2", "3|4", "10|11"}; !slices.Equal(rows, want) {
		t.Errorf("rows = %q, want %q", rows, want)
	}
}

func TestResolve(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	noExtCSV := write("plain", "a,b\n1,2\n")
	noExtJSON := write("records", "  \n{\"a\":1}\n")
	noExtParquet := write("pq", "PAR1....PAR1")
	binary := write("blob", "\x00\x01\x02")
	tsv := write("data.tsv", "a\tb\n")
	emptyDir := filepath.Join(dir, "emptydir")
	if err := os.MkdirAll(emptyDir, 0o755); err != nil {
		t.Fatal(err)
	}
	zeroOnly := filepath.Join(dir, "zeroonly")
	write("zeroonly/a.csv", "")
	write("zeroonly/_SUCCESS", "")

	tests := []struct {
		uri    string
		format Format
		err    error
	}{
		{uri: noExtCSV, format: CSV},
		{uri: "file://" + filepath.ToSlash(noExtCSV), format: CSV},
		{uri: noExtJSON, format: JSONL},
		{uri: noExtParquet, format: Parquet},
		{uri: "testdata/basic.jsonl", format: JSONL},
		{uri: binary, err: ErrUnsupportedFormat},
		{uri: tsv, err: ErrUnsupportedFormat},
		{uri: filepath.Join(dir, "missing.csv"), err: ErrNotFound},
		{uri: "file:///no/such/dir/x.csv", err: ErrNotFound},
		{uri: emptyDir, err: ErrEmpty},
		{uri: zeroOnly, err: ErrEmpty},
		{uri: "testdata/nodata", err: ErrEmpty},
		{uri: "gs://bucket/key.csv", err: ErrUnsupportedScheme},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.uri), func(t *testing.T) {
			files, err := Resolve(t.Context(), []string{tt.uri})
			if tt.err != nil {
				wantErrIs(t, err, tt.err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(files) != 1 || files[0].Format != tt.format {
				t.Fatalf("Resolve = %+v, want one %s file", files, tt.format)
			}
		})
	}
	_, err := Resolve(t.Context(), nil)
	wantErrIs(t, err, ErrEmpty)
}
