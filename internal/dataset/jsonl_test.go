package dataset

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestOpenJSONL(t *testing.T) {
	tests := []struct {
		name      string
		content   string
		batchRows int
		types     string
		rows      []string
	}{
		{
			name:    "key order, missing keys, blank lines",
			content: "{\"id\":1,\"x\":0.5,\"flag\":true,\"name\":\"alice\"}\n\n{\"id\":2,\"name\":\"bob\",\"flag\":false}\n   \n{\"id\":3,\"x\":null}\n",
			types:   "id:float64,x:float64,flag:bool,name:utf8",
			rows:    []string{`1|0.5|true|"alice"`, `2|null|false|"bob"`, `3|null|null|null`},
		},
		{
			name:    "keys appearing later in the first batch",
			content: "{\"a\":1}\n{\"b\":\"x\",\"a\":2}\n",
			types:   "a:float64,b:utf8",
			rows:    []string{`1|null`, `2|"x"`},
		},
		{
			name:    "mixed kinds become strings",
			content: "{\"a\":1.50}\n{\"a\":\"x\"}\n{\"a\":true}\n",
			types:   "a:utf8",
			rows:    []string{`"1.50"`, `"x"`, `"true"`},
		},
		{
			name:    "all null is float64",
			content: "{\"a\":null}\n",
			types:   "a:float64",
			rows:    []string{"null"},
		},
		{
			name:    "CRLF, no final newline, exact rounding",
			content: "{\"a\":0.1}\r\n{\"a\":1e23}",
			types:   "a:float64",
			rows:    []string{"0.1", "1e+23"},
		},
		{
			name:      "later batches follow the first batch's types",
			content:   "{\"a\":1,\"s\":\"x\"}\n{\"a\":2,\"s\":\"y\"}\n{\"s\":3}\n",
			batchRows: 2,
			types:     "a:float64,s:utf8",
			rows:      []string{`1|"x"`, `2|"y"`, `null|"3"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := checkedAlloc(t)
			p := filepath.Join(t.TempDir(), "x.jsonl")
			if err := os.WriteFile(p, []byte(tt.content), 0o644); err != nil {
				t.Fatal(err)
			}
			types, rows, err := openDrain(t.Context(), File{URI: p, Format: JSONL}, Options{BatchRows: tt.batchRows, Alloc: mem})
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

func TestJSONLTestdata(t *testing.T) {
	mem := checkedAlloc(t)
	types, rows, err := openDrain(t.Context(), File{URI: "testdata/basic.jsonl", Format: JSONL}, Options{Alloc: mem})
	if err != nil {
		t.Fatal(err)
	}
	if want := "id:float64,x:float64,flag:bool,name:utf8"; types != want {
		t.Errorf("schema = %s, want %s", types, want)
	}
	if len(rows) != 3 {
		t.Errorf("rows = %q", rows)
	}
	_, _, err = openDrain(t.Context(), File{URI: "testdata/bad.jsonl", Format: JSONL}, Options{Alloc: mem})
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Line != 3 || !strings.HasPrefix(err.Error(), "testdata/bad.jsonl:3: invalid JSON") {
		t.Errorf("bad.jsonl: error %v, want a ParseError at line 3", err)
	}
}

func TestJSONLErrors(t *testing.T) {
	tests := []struct {
		name      string
		content   string
		batchRows int
		line      int
		column    string
		sentinel  error // checked instead of a ParseError when set
	}{
		{name: "malformed line", content: "{\"a\":1}\n\n{\"a\":2\n", line: 3},
		{name: "not an object", content: "{\"a\":1}\n42\n", line: 2},
		{name: "nested", content: "{\"a\":[1,2]}\n", line: 1, column: "a"},
		{name: "duplicate key", content: "{\"a\":1,\"a\":2}\n", line: 1, column: "a"},
		{name: "duplicate key in a wide object", content: wideObject(40) + "\n", line: 1, column: "k3"},
		{name: "extra data", content: "{\"a\":1} {\"a\":2}\n", line: 1},
		{name: "new key after the first batch", content: "{\"a\":1}\n{\"a\":2}\n\n{\"b\":3}\n", batchRows: 2, line: 4, column: "b"},
		{name: "string in a number column", content: "{\"a\":1}\n{\"a\":\"x\"}\n", batchRows: 1, line: 2, column: "a"},
		{name: "JSON array file", content: "[{\"a\":1}]\n", sentinel: ErrUnsupportedFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := checkedAlloc(t)
			p := filepath.Join(t.TempDir(), "x.jsonl")
			if err := os.WriteFile(p, []byte(tt.content), 0o644); err != nil {
				t.Fatal(err)
			}
			_, _, err := openDrain(t.Context(), File{URI: p, Format: JSONL}, Options{BatchRows: tt.batchRows, Alloc: mem})
			if tt.sentinel != nil {
				wantErrIs(t, err, tt.sentinel)
				return
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error = %v, want a *ParseError", err)
			}
			if pe.URI != p || pe.Line != tt.line || pe.Column != tt.column {
				t.Errorf("ParseError %q: URI %q line %d column %q, want %q %d %q", err, pe.URI, pe.Line, pe.Column, p, tt.line, tt.column)
			}
		})
	}
}

// wideObject is {"k0":0,...,"k<n-1>":n-1,"k3":0}: n keys and a duplicate.
func wideObject(n int) string {
	var b strings.Builder
	b.WriteByte('{')
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "\"k%d\":%d,", i, i)
	}
	b.WriteString("\"k3\":0}")
	return b.String()
}
