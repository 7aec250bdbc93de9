package dataset

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/parquet/file"

	"github.com/batchinfer/batchinfer/internal/storage"
	"github.com/batchinfer/batchinfer/internal/testenv"
)

// s3Fixture is a local folder of data files and its copy under
// s3://bucket/data/.
type s3Fixture struct {
	srv   *testenv.S3Server
	local string // the folder
	// files maps a path relative to the folder to its content.
	files map[string][]byte
}

func (f *s3Fixture) uri(rel string) string  { return f.srv.URI("data/" + rel) }
func (f *s3Fixture) path(rel string) string { return filepath.Join(f.local, filepath.FromSlash(rel)) }

func newS3Fixture(t *testing.T) *s3Fixture {
	t.Helper()
	srv := testenv.StartS3(t)
	t.Cleanup(storage.SetS3Options(storage.S3Options{
		Endpoint: srv.Endpoint, AccessKeyID: srv.AccessKey, SecretAccessKey: srv.SecretKey,
		MaxBackoff: 20 * time.Millisecond,
	}))
	f := &s3Fixture{srv: srv, local: t.TempDir(), files: map[string][]byte{}}
	read := func(p string) []byte {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	var big strings.Builder
	big.WriteString("id,x,y,label,note\n")
	for i := range 20000 {
		fmt.Fprintf(&big, "%d,%g,%d,%s,\"n %d\"\n", i, float64(i)*0.37, i%17, []string{"a", "b", "c"}[i%3], i)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write(read("testdata/basic.csv"))
	_ = zw.Close()
	pq := filepath.Join(t.TempDir(), "p.parquet")
	mem := checkedAlloc(t)
	rec1, rec2 := sampleRecord(mem, 3000), sampleRecord(mem, 1234)
	writeParquet(t, pq, rec1, rec2)
	rec1.Release()
	rec2.Release()

	f.files = map[string][]byte{
		"basic.csv":        read("testdata/basic.csv"),
		"basic.jsonl":      read("testdata/basic.jsonl"),
		"big.csv":          []byte(big.String()),
		"gz.csv.gz":        gz.Bytes(),
		"p.parquet":        read(pq),
		"sub/a.csv":        read("testdata/folder/sub/a.csv"),
		"noext":            read("testdata/basic.csv"),
		"pqnoext":          read(pq),
		"README.md":        []byte("# not data\n"),
		"empty.csv":        nil,
		".hidden.csv":      read("testdata/basic.csv"),
		"_SUCCESS":         nil,
		"_tmp/x.csv":       read("testdata/basic.csv"),
		"sub/.cache/y.csv": read("testdata/basic.csv"),
	}
	for rel, data := range f.files {
		p := f.path(rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := storage.WriteFile(t.Context(), f.uri(rel), data); err != nil {
			t.Fatal(err)
		}
	}
	// Objects beside the prefix that must not show up.
	for _, k := range []string{"data2/x.csv", "datax.csv"} {
		if err := storage.WriteFile(t.Context(), srv.URI(k), []byte("a\n1\n")); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// rel renders resolved files relative to the fixture, as "rel:format:size".
func (f *s3Fixture) rel(t *testing.T, files []File) []string {
	t.Helper()
	var out []string
	for _, fl := range files {
		r, ok := strings.CutPrefix(fl.URI, f.srv.URI("data/"))
		if !ok {
			rr, err := filepath.Rel(f.local, fl.URI)
			if err != nil {
				t.Fatalf("%s: outside the fixture", fl.URI)
			}
			r = filepath.ToSlash(rr)
		}
		out = append(out, fmt.Sprintf("%s:%s:%d", r, fl.Format, fl.Size))
	}
	return out
}

func (f *s3Fixture) want(rels ...string) []string {
	var out []string
	for _, r := range rels {
		format, _, _ := formatFromName(r)
		out = append(out, fmt.Sprintf("%s:%s:%d", r, format, len(f.files[r])))
	}
	return out
}

func mustResolve(t *testing.T, uris ...string) []File {
	t.Helper()
	files, err := Resolve(t.Context(), uris)
	if err != nil {
		t.Fatalf("Resolve(%q): %v", uris, err)
	}
	return files
}

// checkResolve resolves the s3 and local forms and compares both with want.
func (f *s3Fixture) checkResolve(t *testing.T, s3uri, local string, want []string) {
	t.Helper()
	if got := f.rel(t, mustResolve(t, s3uri)); !slices.Equal(got, want) {
		t.Errorf("Resolve(%s) = %q, want %q", s3uri, got, want)
	}
	if local == "" {
		return
	}
	if got := f.rel(t, mustResolve(t, local)); !slices.Equal(got, want) {
		t.Errorf("Resolve(%s) = %q, want %q", local, got, want)
	}
}

func (f *s3Fixture) resolveAll(t *testing.T) {
	t.Helper()
	folder := f.want("basic.csv", "basic.jsonl", "big.csv", "gz.csv.gz", "p.parquet", "sub/a.csv")
	f.checkResolve(t, f.srv.URI("data/"), f.local, folder)
	f.checkResolve(t, f.srv.URI("data"), "", folder)
	f.checkResolve(t, f.uri("*.csv"), f.path("*.csv"), f.want("basic.csv", "big.csv"))
	f.checkResolve(t, f.uri("*/*.csv"), f.path("*/*.csv"), f.want("sub/a.csv"))
	f.checkResolve(t, f.uri("[bp]*"), f.path("[bp]*"), f.want("basic.csv", "basic.jsonl", "big.csv", "p.parquet"))
	f.checkResolve(t, f.uri(".*.csv"), f.path(".*.csv"), f.want(".hidden.csv"))
	f.checkResolve(t, f.uri("basic.csv"), f.path("basic.csv"), f.want("basic.csv"))
	if got, want := f.rel(t, mustResolve(t, f.uri("noext"), f.uri("pqnoext"))), []string{
		fmt.Sprintf("noext:csv:%d", len(f.files["noext"])),
		fmt.Sprintf("pqnoext:parquet:%d", len(f.files["pqnoext"])),
	}; !slices.Equal(got, want) {
		t.Errorf("sniffed = %q, want %q", got, want)
	}
	for _, c := range []struct {
		uri string
		err error
	}{
		{f.srv.URI("nothing/"), ErrNotFound},
		{f.srv.URI("nothing"), ErrNotFound},
		{f.uri("missing.csv"), ErrNotFound},
		{"s3://no-such-bucket/x.csv", ErrNotFound},
		{"s3://no-such-bucket/", ErrNotFound},
		{f.uri("*.xlsx"), ErrNotFound},
		{f.path("*.xlsx"), ErrNotFound},
		{f.uri("*.md"), ErrEmpty},
		{f.uri("empty.csv"), ErrEmpty},
	} {
		_, err := Resolve(t.Context(), []string{c.uri})
		if !errors.Is(err, c.err) {
			t.Errorf("Resolve(%s) = %v, want %v", c.uri, err, c.err)
		}
	}
	// Naming a hidden folder explicitly reads it.
	f.checkResolve(t, f.uri("_tmp/"), f.path("_tmp"), f.want("_tmp/x.csv"))
}

// readAll compares reading every data file from s3 with reading it locally,
// one by one and as one stream.
func (f *s3Fixture) readAll(t *testing.T) {
	t.Helper()
	s3files := mustResolve(t, f.srv.URI("data/"), f.uri("noext"), f.uri("pqnoext"))
	localFiles := mustResolve(t, f.local, f.path("noext"), f.path("pqnoext"))
	if len(s3files) != len(localFiles) {
		t.Fatalf("%d s3 files, %d local", len(s3files), len(localFiles))
	}
	opts := Options{Alloc: checkedAlloc(t), BatchRows: 4096}
	for i, sf := range s3files {
		lf := localFiles[i]
		ws, wrows, err := openDrain(t.Context(), lf, opts)
		if err != nil {
			t.Fatalf("%s: %v", lf.URI, err)
		}
		gs, grows, err := openDrain(t.Context(), sf, opts)
		if err != nil {
			t.Fatalf("%s: %v", sf.URI, err)
		}
		if gs != ws || !slices.Equal(grows, wrows) {
			t.Errorf("%s: schema %s, %d rows; local %s, %d rows", sf.URI, gs, len(grows), ws, len(wrows))
		}
	}
	// basic.csv, its gzip copy and its extensionless copy read as one stream.
	sameSchema := func(files []File) []File {
		return slices.DeleteFunc(slices.Clone(files), func(f File) bool {
			base := path.Base(filepath.ToSlash(f.URI))
			return base != "basic.csv" && base != "gz.csv.gz" && base != "noext"
		})
	}
	drainAll := func(files []File) []string {
		r, err := OpenAll(t.Context(), files, opts)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		rows, _, err := drain(r)
		if err != nil {
			t.Fatal(err)
		}
		return rows
	}
	if got, want := drainAll(sameSchema(s3files)), drainAll(sameSchema(localFiles)); len(got) == 0 || !slices.Equal(got, want) {
		t.Errorf("OpenAll: %d rows from s3, %d locally", len(got), len(want))
	}
	// Random access to Parquet through ranged GETs.
	for _, rel := range []string{"p.parquet", "pqnoext"} {
		ra, err := openReaderAt(t.Context(), f.uri(rel))
		if err != nil {
			t.Fatal(err)
		}
		pf, err := file.NewParquetReader(io.NewSectionReader(ra, 0, ra.Size()))
		if err != nil {
			t.Fatalf("%s: %v", rel, err)
		}
		if n := pf.NumRows(); n != 3000+1234 {
			t.Errorf("%s: %d rows through ReaderAt, want %d", rel, n, 3000+1234)
		}
		_ = pf.Close()
		_ = ra.Close()
	}
}

func TestS3Dataset(t *testing.T) {
	f := newS3Fixture(t)
	f.resolveAll(t)
	f.readAll(t)
}

// TestS3DatasetThroughFaults resolves and reads the same files through a
// proxy failing about 20% of the requests: the results are the same.
func TestS3DatasetThroughFaults(t *testing.T) {
	f := newS3Fixture(t)
	proxy := testenv.NewFaultProxy(t, f.srv.Endpoint, testenv.FaultProxyOptions{Rate: 0.2})
	t.Cleanup(storage.SetS3Options(storage.S3Options{
		Endpoint: proxy.URL, AccessKeyID: f.srv.AccessKey, SecretAccessKey: f.srv.SecretKey,
		MaxBackoff: 20 * time.Millisecond, ListPageSize: 3,
	}))
	f.resolveAll(t)
	f.readAll(t)
	for k, n := range proxy.Injected() {
		t.Logf("injected %-15s %d", k, n)
	}
	t.Logf("%d faults in %d requests", proxy.Total(), proxy.Requests())
	if proxy.Total() < 10 {
		t.Errorf("only %d faults injected", proxy.Total())
	}
}
