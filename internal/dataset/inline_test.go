package dataset

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestParseInline(t *testing.T) {
	objects, err := os.ReadFile("testdata/inline_objects.json")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := os.ReadFile("testdata/inline_rows.json")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		data     string
		features []string
		want     string
	}{
		{"objects", string(objects), nil, "{\"a\":1,\"b\":\"x\"}\n{\"a\":2.5,\"b\":\"y\"}\n"},
		{"objects, feature order", string(objects), []string{"b", "a"}, "{\"b\":\"x\",\"a\":1}\n{\"b\":\"y\",\"a\":2.5}\n"},
		{"objects, missing keys", `[{"a":1},{"b":true,"c":null}]`, nil, "{\"a\":1,\"b\":null,\"c\":null}\n{\"a\":null,\"b\":true,\"c\":null}\n"},
		{"rows", string(rows), []string{"x", "y"}, "{\"x\":1,\"y\":2}\n{\"x\":3,\"y\":4}\n"},
		{"numbers verbatim", `[[0.1000000000000000055511151231257827, 1e23, -0]]`, []string{"a", "b", "c"},
			"{\"a\":0.1000000000000000055511151231257827,\"b\":1e23,\"c\":-0}\n"},
		{"escapes", `[{"k\"ey":"<a\nb>"}]`, nil, "{\"k\\\"ey\":\"\\u003ca\\nb\\u003e\"}\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseInline([]byte(tt.data), tt.features)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("ParseInline =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestParseInlineErrors(t *testing.T) {
	big := "[" + strings.Repeat(`[1],`, MaxInlineRows) + "[1]]"
	tests := []struct {
		name     string
		data     string
		features []string
		err      error
		msg      string
	}{
		{"too many bytes", "[" + strings.Repeat(" ", MaxInlineBytes) + "]", nil, ErrInlineTooLarge, "1048576 bytes"},
		{"too many rows", big, []string{"a"}, ErrInlineTooLarge, "10000 rows"},
		{"empty", "[]", nil, ErrEmpty, ""},
		{"rows without names", "[[1,2]]", nil, ErrMalformed, "feature column names"},
		{"row too short", "[[1,2],[3]]", []string{"a", "b"}, ErrMalformed, "row 2 has 1 values, want 2"},
		{"row too long", "[[1,2,3]]", []string{"a", "b"}, ErrMalformed, "row 1"},
		{"mixed shapes", `[{"a":1},[1]]`, []string{"a"}, ErrMalformed, "mix"},
		{"nested", `[{"a":[1]}]`, nil, ErrMalformed, "nested"},
		{"not an array", `{"a":1}`, nil, ErrMalformed, "array"},
		{"scalar rows", `[1,2]`, nil, ErrMalformed, "row 1"},
		{"trailing data", `[[1]] x`, []string{"a"}, ErrMalformed, "after"},
		{"truncated", `[[1]`, []string{"a"}, ErrMalformed, "invalid JSON"},
		{"duplicate key", `[{"a":1,"a":2}]`, nil, ErrMalformed, "duplicate"},
		{"duplicate feature", `[[1,2]]`, []string{"a", "a"}, ErrMalformed, "duplicate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseInline([]byte(tt.data), tt.features)
			wantErrIs(t, err, tt.err)
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not contain %q", err, tt.msg)
			}
		})
	}
	// Exactly at the limits is fine.
	atLimit := "[" + strings.Repeat(`[1],`, MaxInlineRows-1) + "[1]]"
	if _, err := ParseInline([]byte(atLimit), []string{"a"}); err != nil {
		t.Errorf("%d rows: %v", MaxInlineRows, err)
	}
}

// The JSON Lines ParseInline writes reads back through Open.
func TestParseInlineReadsBack(t *testing.T) {
	mem := checkedAlloc(t)
	out, err := ParseInline([]byte(`[[1.5,"x",true],[null,"y",false]]`), []string{"f", "s", "b"})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "inline.jsonl")
	if err := os.WriteFile(p, out, 0o644); err != nil {
		t.Fatal(err)
	}
	types, rows, err := openDrain(t.Context(), File{URI: p, Format: JSONL}, Options{Alloc: mem})
	if err != nil {
		t.Fatal(err)
	}
	if types != "f:float64,s:utf8,b:bool" || !slices.Equal(rows, []string{`1.5|"x"|true`, `null|"y"|false`}) {
		t.Errorf("got %s %q", types, rows)
	}
	if !bytes.HasSuffix(out, []byte("\n")) {
		t.Error("output does not end in a newline")
	}
}
