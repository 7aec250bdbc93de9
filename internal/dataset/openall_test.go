package dataset

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

func TestOpenAll(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) File {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		format, _, _ := formatFromName(name)
		return File{URI: p, Format: format, Size: int64(len(content))}
	}
	a := write("a.csv", "id,code,x\n1,ab,0.5\n")
	b := write("b.csv", "id,code,x\n2,007,\n")
	header := write("h.csv", "id,code,x\n")
	renamed := write("r.csv", "id,kode,x\n3,z,1\n")
	extra := write("e.csv", "id,code,x,y\n3,z,1,2\n")
	bad := write("bad.csv", "id,code,x\n3,z,abc\n")
	j := write("c.jsonl", "{\"x\":7,\"id\":4,\"code\":\"q\"}\n")

	tests := []struct {
		name  string
		files []File
		types string
		rows  []string
		err   error
		msg   []string // substrings of the error
	}{
		{
			name:  "hinted types: 007 stays a string",
			files: []File{a, header, b, j},
			types: "id:float64,code:utf8,x:float64",
			rows:  []string{`1|"ab"|0.5`, `2|"007"|null`, `4|"q"|7`},
		},
		{
			name:  "renamed column",
			files: []File{a, renamed},
			err:   ErrSchemaMismatch,
			msg:   []string{renamed.URI, `column 2 is "kode"`, `"code"`},
		},
		{
			name:  "extra column",
			files: []File{a, extra},
			err:   ErrSchemaMismatch,
			msg:   []string{extra.URI, `"y"`},
		},
		{
			name:  "non-number in a later file",
			files: []File{a, bad},
			err:   ErrMalformed,
			msg:   []string{bad.URI + `:2: column "x": cannot parse "abc" as a number`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := checkedAlloc(t)
			r, err := OpenAll(t.Context(), tt.files, Options{Alloc: mem})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			rows, _, err := drain(r)
			if tt.err != nil {
				wantErrIs(t, err, tt.err)
				for _, m := range tt.msg {
					if !strings.Contains(err.Error(), m) {
						t.Errorf("error %q does not contain %q", err, m)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := typesOf(r.Schema()); got != tt.types {
				t.Errorf("schema = %s, want %s", got, tt.types)
			}
			if !slices.Equal(rows, tt.rows) {
				t.Errorf("rows = %q, want %q", rows, tt.rows)
			}
		})
	}
	_, err := OpenAll(t.Context(), nil, Options{})
	wantErrIs(t, err, ErrEmpty)
}

// Int64 in one Parquet file and Float64 in another unify to Float64.
func TestOpenAllUnifiesIntAndFloat(t *testing.T) {
	mem := checkedAlloc(t)
	dir := t.TempDir()
	mk := func(name string, typ arrow.DataType, build func(b array.Builder)) File {
		schema := newSchema([]string{"v", "s"}, []arrow.DataType{typ, typeString})
		rb := array.NewRecordBuilder(mem, schema)
		defer rb.Release()
		build(rb.Field(0))
		rb.Field(1).(*array.StringBuilder).Append(name)
		rec := rb.NewRecordBatch()
		defer rec.Release()
		p := filepath.Join(dir, name)
		writeParquet(t, p, rec)
		return File{URI: p, Format: Parquet}
	}
	ints := mk("ints.parquet", typeInt64, func(b array.Builder) { b.(*array.Int64Builder).Append(3) })
	floats := mk("floats.parquet", typeFloat64, func(b array.Builder) { b.(*array.Float64Builder).Append(0.25) })
	ints2 := mk("ints2.parquet", typeInt64, func(b array.Builder) { b.(*array.Int64Builder).Append(5) })

	for _, tt := range []struct {
		files []File
		types string
		rows  []string
	}{
		{[]File{ints, floats}, "v:float64,s:utf8", []string{`3|"ints.parquet"`, `0.25|"floats.parquet"`}},
		{[]File{floats, ints}, "v:float64,s:utf8", []string{`0.25|"floats.parquet"`, `3|"ints.parquet"`}},
		{[]File{ints, ints2}, "v:int64,s:utf8", []string{`3|"ints.parquet"`, `5|"ints2.parquet"`}},
	} {
		r, err := OpenAll(t.Context(), tt.files, Options{Alloc: mem})
		if err != nil {
			t.Fatal(err)
		}
		rows, _, err := drain(r)
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		if got := typesOf(r.Schema()); got != tt.types || !slices.Equal(rows, tt.rows) {
			t.Errorf("got %s %q, want %s %q", got, rows, tt.types, tt.rows)
		}
	}

	// A Parquet Float64 column after a CSV String column cannot be unified.
	p := filepath.Join(dir, "s.csv")
	if err := os.WriteFile(p, []byte("v,s\nx,y\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := OpenAll(t.Context(), []File{{URI: p, Format: CSV}, floats}, Options{Alloc: mem})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	_, _, err = drain(r)
	wantErrIs(t, err, ErrSchemaMismatch)
	if !strings.Contains(err.Error(), floats.URI) || !strings.Contains(err.Error(), `"v"`) {
		t.Errorf("error %q should name %s and column v", err, floats.URI)
	}
}

func TestReaderLifecycle(t *testing.T) {
	mem := checkedAlloc(t)
	r, err := Open(t.Context(), File{URI: "testdata/basic.csv", Format: CSV}, Options{Alloc: mem})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	rec.Retain() // kept past Next
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("second Next = %v, want io.EOF", err)
	}
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("Next after EOF = %v, want io.EOF", err)
	}
	if rec.NumRows() != 4 {
		t.Errorf("kept record has %d rows", rec.NumRows())
	}
	rec.Release()
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := r.Next(); err == nil || errors.Is(err, io.EOF) {
		t.Errorf("Next after Close = %v, want an error", err)
	}

	// Close in the middle of a stream releases everything.
	r, err = Open(t.Context(), File{URI: "testdata/nulls.csv", Format: CSV}, Options{BatchRows: 2, Alloc: mem})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestCancelledMidStream(t *testing.T) {
	mem := checkedAlloc(t)
	files := []File{{URI: "testdata/nulls.csv", Format: CSV}, {URI: "testdata/nulls.csv", Format: CSV}}
	for _, open := range []func(context.Context) (Reader, error){
		func(ctx context.Context) (Reader, error) {
			return Open(ctx, files[0], Options{BatchRows: 2, Alloc: mem})
		},
		func(ctx context.Context) (Reader, error) {
			return OpenAll(ctx, files, Options{BatchRows: 2, Alloc: mem})
		},
	} {
		ctx, cancel := context.WithCancel(t.Context())
		r, err := open(ctx)
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		if _, err := r.Next(); err != nil {
			cancel()
			t.Fatal(err)
		}
		cancel()
		_, err = r.Next()
		wantErrIs(t, err, context.Canceled)
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
