package dataset

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
)

func TestOpenCSV(t *testing.T) {
	tests := []struct {
		name      string
		file      string
		batchRows int
		types     string
		rows      []string
	}{
		{
			name:  "inference",
			file:  "testdata/basic.csv",
			types: "id:float64,x:float64,flag:bool,name:utf8",
			rows: []string{
				`1|0.5|true|"alice"`,
				`2|null|false|"bob, jr"`,
				`3|1000|true|null`,
				`4|-2.25|null|"dave"`,
			},
		},
		{
			name:      "inference from first batch only, small batches",
			file:      "testdata/basic.csv",
			batchRows: 3,
			types:     "id:float64,x:float64,flag:bool,name:utf8",
			rows: []string{
				`1|0.5|true|"alice"`,
				`2|null|false|"bob, jr"`,
				`3|1000|true|null`,
				`4|-2.25|null|"dave"`,
			},
		},
		{
			name:  "null spellings",
			file:  "testdata/nulls.csv",
			types: "a:float64,b:float64,c:utf8",
			rows: []string{
				`null|1|"x"`, `null|2|"x"`, `null|3|"x"`, `null|4|"x"`, `null|5|"x"`,
				`null|6|"x"`, `null|7|"x"`, `null|8|"x"`, `null|9|"x"`, `null|10|"x"`,
				`1.5|11|null`,
			},
		},
		{
			name:  "quoted newlines and quotes",
			file:  "testdata/quoted_newline.csv",
			types: "id:float64,text:utf8,v:utf8",
			rows: []string{
				`1|"first\nsecond"|"1.0"`,
				`2|"a \"quoted\" word"|"2.0"`,
				`3|"x\n\ny"|"abc"`,
			},
		},
		{
			name:  "header only",
			file:  "testdata/header_only.csv",
			types: "a:float64,b:float64,c:float64",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := checkedAlloc(t)
			types, rows, err := openDrain(t.Context(), File{URI: tt.file, Format: CSV}, Options{BatchRows: tt.batchRows, Alloc: mem})
			if err != nil {
				t.Fatal(err)
			}
			if types != tt.types {
				t.Errorf("schema = %s, want %s", types, tt.types)
			}
			if !slices.Equal(rows, tt.rows) {
				t.Errorf("rows:\n got %q\nwant %q", rows, tt.rows)
			}
		})
	}
}

func TestCSVBatches(t *testing.T) {
	mem := checkedAlloc(t)
	r, err := Open(t.Context(), File{URI: "testdata/nulls.csv", Format: CSV}, Options{BatchRows: 4, Alloc: mem})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	rows, batches, err := drain(r)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 11 || batches != 3 {
		t.Errorf("got %d rows in %d batches, want 11 in 3", len(rows), batches)
	}
}

func TestCSVParseErrors(t *testing.T) {
	tests := []struct {
		name      string
		file      string
		content   string // written to a temp file when file is ""
		batchRows int
		line      int
		column    string
		value     string
		msg       string
	}{
		{
			name: "wrong field count",
			file: "testdata/field_count.csv",
			line: 3,
			msg:  "testdata/field_count.csv:3: record has 3 fields, the header has 2",
		},
		{
			name:      "non-numeric late in a numeric column",
			file:      "testdata/late_text.csv",
			batchRows: 2,
			line:      6,
			column:    "b",
			value:     "oops",
			msg:       `testdata/late_text.csv:6: column "b": cannot parse "oops" as a number`,
		},
		{
			name:      "line numbers after quoted newlines",
			file:      "testdata/quoted_newline.csv",
			batchRows: 2,
			line:      5,
			column:    "v",
			value:     "abc",
			msg:       `testdata/quoted_newline.csv:5: column "v": cannot parse "abc" as a number`,
		},
		{
			name:      "non-boolean late in a boolean column",
			content:   "f\ntrue\nfalse\nmaybe\n",
			batchRows: 2,
			line:      4,
			column:    "f",
			value:     "maybe",
		},
		{
			name:    "bare quote",
			content: "a,b\n1,2\n3,x\"y\n",
			line:    3,
		},
		{
			name:    "unterminated quote",
			content: "a,b\n1,2\n3,\"abc\n4,5\n",
			line:    3,
		},
		{
			name:    "duplicate header",
			content: "a,b,a\n1,2,3\n",
			line:    1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := checkedAlloc(t)
			file := tt.file
			if file == "" {
				file = filepath.Join(t.TempDir(), "x.csv")
				if err := os.WriteFile(file, []byte(tt.content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			_, _, err := openDrain(t.Context(), File{URI: file, Format: CSV}, Options{BatchRows: tt.batchRows, Alloc: mem})
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error = %v, want a *ParseError", err)
			}
			wantErrIs(t, err, ErrMalformed)
			if pe.URI != file || pe.Line != tt.line || pe.Column != tt.column || pe.Value != tt.value {
				t.Errorf("ParseError{URI:%q Line:%d Column:%q Value:%q}, want {%q %d %q %q}",
					pe.URI, pe.Line, pe.Column, pe.Value, file, tt.line, tt.column, tt.value)
			}
			if tt.msg != "" && err.Error() != tt.msg {
				t.Errorf("message = %q, want %q", err.Error(), tt.msg)
			}
		})
	}
}

// Values whose float64 differs from a naive digit-by-digit conversion: the
// reader must return exactly strconv.ParseFloat's correctly rounded value.
func TestCSVRoundingExact(t *testing.T) {
	mem := checkedAlloc(t)
	r, err := Open(t.Context(), File{URI: "testdata/rounding.csv", Format: CSV}, Options{Alloc: mem})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	rec, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	texts := []string{"0.1", "2.2250738585072014e-308", "1e23", "9007199254740993", "0.30000000000000004", "4.9e-324", "1.7976931348623157e308"}
	got, ok := Float64s(rec.Column(0), nil)
	if !ok || len(got) != len(texts) {
		t.Fatalf("Float64s = %v, %v", got, ok)
	}
	for i, s := range texts {
		want, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatal(err)
		}
		if math.Float64bits(got[i]) != math.Float64bits(want) {
			t.Errorf("%s read as %b, want %b", s, math.Float64bits(got[i]), math.Float64bits(want))
		}
	}
}

func TestCSVMisc(t *testing.T) {
	tests := []struct {
		name    string
		content string
		types   string
		rows    []string
	}{
		{"BOM and CRLF", "\ufeffa,b\r\n1,x\r\n", "a:float64,b:utf8", []string{`1|"x"`}},
		{"empty header name", ",a\n0,1\n", "Unnamed: 0:float64,a:float64", []string{"0|1"}},
		{"all null column is float64", "a,b\n,1\nNA,2\n", "a:float64,b:float64", []string{"null|1", "null|2"}},
		{"0/1 is numeric", "a\n0\n1\n", "a:float64", []string{"0", "1"}},
		{"spaces around numbers", "a,b\n 1 , x \n", "a:float64,b:utf8", []string{`1|" x "`}},
		{"inf and big", "a\ninf\n-Infinity\n1e400\n", "a:float64", []string{"+Inf", "-Inf", "+Inf"}},
		{"empty lines skipped", "a\n\n1\n\n2\n", "a:float64", []string{"1", "2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := checkedAlloc(t)
			p := filepath.Join(t.TempDir(), "x.csv")
			if err := os.WriteFile(p, []byte(tt.content), 0o644); err != nil {
				t.Fatal(err)
			}
			types, rows, err := openDrain(t.Context(), File{URI: p, Format: CSV}, Options{Alloc: mem})
			if err != nil {
				t.Fatal(err)
			}
			if types != tt.types {
				t.Errorf("schema = %s, want %s", types, tt.types)
			}
			if !slices.Equal(rows, tt.rows) {
				t.Errorf("rows = %q, want %q", rows, tt.rows)
			}
		})
	}
}

func TestEmptyFiles(t *testing.T) {
	dir := t.TempDir()
	zero := filepath.Join(dir, "zero.csv")
	if err := os.WriteFile(zero, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	blank := filepath.Join(dir, "blank.jsonl")
	if err := os.WriteFile(blank, []byte("\n  \n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, f := range []File{
		{URI: zero, Format: CSV},
		{URI: zero, Format: JSONL},
		{URI: zero, Format: Parquet},
		{URI: blank, Format: JSONL},
	} {
		_, err := Open(t.Context(), f, Options{Alloc: checkedAlloc(t)})
		wantErrIs(t, err, ErrEmpty)
		if !strings.Contains(err.Error(), f.URI) {
			t.Errorf("error %q does not name %s", err, f.URI)
		}
	}
	_, err := Resolve(t.Context(), []string{zero})
	wantErrIs(t, err, ErrEmpty)
}

func TestGzip(t *testing.T) {
	mem := checkedAlloc(t)
	p := filepath.Join(t.TempDir(), "data.csv.gz")
	writeGzip(t, p, "a,b\n1,x\n2,y\n")
	files, err := Resolve(t.Context(), []string{p})
	if err != nil {
		t.Fatal(err)
	}
	if files[0].Format != CSV {
		t.Fatalf("format = %s", files[0].Format)
	}
	types, rows, err := openDrain(t.Context(), files[0], Options{Alloc: mem})
	if err != nil {
		t.Fatal(err)
	}
	if types != "a:float64,b:utf8" || !slices.Equal(rows, []string{`1|"x"`, `2|"y"`}) {
		t.Errorf("got %s %q", types, rows)
	}
	// No extension: sniffed through the compression.
	q := filepath.Join(t.TempDir(), "data")
	writeGzip(t, q, "{\"a\":1}\n")
	files, err = Resolve(t.Context(), []string{q})
	if err != nil {
		t.Fatal(err)
	}
	if files[0].Format != JSONL {
		t.Errorf("format = %s, want jsonl", files[0].Format)
	}
}

// A column named in NumericColumns whose first batch holds text is read as
// Float64, so the bad value is reported with its line and column.
func TestCSVNumericColumnsHint(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "hint.csv")
	if err := os.WriteFile(p, []byte("a,b,c\n1,x,true\n2,oops,false\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := Open(t.Context(), File{URI: p, Format: CSV, Size: -1}, Options{NumericColumns: []string{"a", "b", "c"}})
	if err == nil {
		_, err = r.Next()
		r.Close()
	}
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Line != 2 || pe.Column != "b" || pe.Value != "x" {
		t.Fatalf("want a ParseError at line 2 column b value x, got %v", err)
	}
	r, err = Open(t.Context(), File{URI: p, Format: CSV, Size: -1}, Options{NumericColumns: []string{"a", "c"}})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if got := r.Schema().Field(2).Type; got.ID() != arrow.BOOL {
		t.Errorf("boolean column c read as %s", got)
	}
}

func TestJSONLNumericColumnsHint(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "hint.jsonl")
	if err := os.WriteFile(p, []byte("{\"a\": 1}\n{\"a\": \"two\"}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := Open(t.Context(), File{URI: p, Format: JSONL, Size: -1}, Options{NumericColumns: []string{"a"}})
	if err == nil {
		_, err = r.Next()
		r.Close()
	}
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Line != 2 || pe.Column != "a" {
		t.Fatalf("want a ParseError at line 2 column a, got %v", err)
	}
}
