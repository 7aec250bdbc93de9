package dataset

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// wholeRead reads files with OpenAll: schema, rendered rows, error.
func wholeRead(ctx context.Context, files []File, opts Options) (*arrow.Schema, []string, error) {
	r, err := OpenAll(ctx, files, opts)
	if err != nil {
		return nil, nil, err
	}
	defer r.Close()
	rows, _, err := drain(r)
	return r.Schema(), rows, err
}

// shardRead reads every shard of plan in order under schema and checks
// that each shard's record schema is schema and that its row count matches
// the plan's, when the plan knows it. It returns the concatenated rows.
func shardRead(ctx context.Context, plan []Shard, schema *arrow.Schema, opts Options) ([]string, error) {
	var all []string
	for _, s := range plan {
		r, err := OpenShard(ctx, s, schema, opts)
		if err != nil {
			return all, err
		}
		rows, _, err := drain(r)
		r.Close()
		all = append(all, rows...)
		if err != nil {
			return all, err
		}
		if schema != nil && !r.Schema().Equal(schema) {
			return all, fmt.Errorf("shard %d schema %s, want %s", s.Index, r.Schema(), schema)
		}
		if s.Rows >= 0 && int64(len(rows)) != s.Rows {
			return all, fmt.Errorf("shard %d: read %d rows, the plan says %d", s.Index, len(rows), s.Rows)
		}
	}
	return all, nil
}

// checkPlan checks the plan's shape: indexes in order, text shards of a
// file contiguous and covering it.
func checkPlan(t *testing.T, plan []Shard) {
	t.Helper()
	for i, s := range plan {
		if s.Index != i {
			t.Fatalf("shard %d has Index %d", i, s.Index)
		}
		if s.File.Format == Parquet {
			if len(s.RowGroups) == 0 || s.Rows <= 0 {
				t.Fatalf("Parquet shard %+v", s)
			}
			continue
		}
		if i+1 < len(plan) && plan[i+1].File.URI == s.File.URI {
			if s.Length <= 0 || s.Offset+s.Length != plan[i+1].Offset {
				t.Fatalf("shards %d and %d are not contiguous: %+v, %+v", i, i+1, s, plan[i+1])
			}
		}
	}
}

// checkShards plans files with each of the options and checks that reading
// the shards gives exactly OpenAll's rows; it returns the plans' lengths.
func checkShards(t *testing.T, files []File, opts Options, sopts ...ShardOptions) []int {
	t.Helper()
	ctx := t.Context()
	schema, want, err := wholeRead(ctx, files, opts)
	if err != nil {
		t.Fatalf("whole read: %v", err)
	}
	var lens []int
	for _, so := range sopts {
		plan, err := PlanShards(ctx, files, so)
		if err != nil {
			t.Fatalf("PlanShards(%+v): %v", so, err)
		}
		checkPlan(t, plan)
		got, err := shardRead(ctx, plan, schema, opts)
		if err != nil {
			t.Fatalf("%+v: %d shards: %v", so, len(plan), err)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("%+v: %d shards give %d rows, OpenAll %d; first difference at %d\nshards: %q\nwhole:  %q",
				so, len(plan), len(got), len(want), firstDiff(got, want), at(got, firstDiff(got, want)), at(want, firstDiff(got, want)))
		}
		lens = append(lens, len(plan))
	}
	return lens
}

func firstDiff(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func at(s []string, i int) string {
	if i < len(s) {
		return s[i]
	}
	return "<end>"
}

// mustWrite writes data to path.
func mustWrite(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, name string, data []byte) File {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Resolve(t.Context(), []string{p})
	if err != nil {
		t.Fatal(err)
	}
	return f[0]
}

// csvField quotes s when encoding/csv needs it (or when force).
func csvField(s string, force bool) string {
	if force || strings.ContainsAny(s, ",\"\r\n") || s != "" && s[0] == ' ' {
		return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
	}
	return s
}

// randomCSV writes a CSV text with a header and n rows exercising quoted
// newlines (LF and CRLF), embedded quotes and commas, missing values, blank
// lines, the given line ending and an optional final line ending.
func randomCSV(rng *rand.Rand, n int, eol string, trailing bool) []byte {
	var b strings.Builder
	b.WriteString("id,x,text,flag\n")
	texts := []string{"plain", "with, comma", "say \"hi\"", "two\nlines", "crlf\r\ninside", "", "NA", "\"", "a\n\nb", " lead"}
	for i := range n {
		if rng.IntN(10) == 0 {
			b.WriteString(eol) // a blank line
		}
		x := ""
		if rng.IntN(7) != 0 {
			x = strconv.FormatFloat(rng.NormFloat64()*100, 'g', -1, 64)
		}
		flag := []string{"true", "false", "", "TRUE"}[rng.IntN(4)]
		fmt.Fprintf(&b, "%d,%s,%s,%s", i, csvField(x, rng.IntN(5) == 0), csvField(texts[rng.IntN(len(texts))], rng.IntN(4) == 0), flag)
		if i < n-1 || trailing {
			b.WriteString(eol)
		}
	}
	return []byte(b.String())
}

var textShardSizes = []ShardOptions{{Bytes: 1}, {Bytes: 7}, {Bytes: 64}, {Bytes: 1000}, {Bytes: 1 << 30}, {}}

func TestShardCSVMatchesOpenAll(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		name     string
		eol      string
		trailing bool
		bom      bool
	}{
		{"lf", "\n", true, false},
		{"crlf", "\r\n", true, false},
		{"no final newline", "\n", false, false},
		{"crlf no final newline", "\r\n", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := randomCSV(rng, 300, tc.eol, tc.trailing)
			if tc.bom {
				data = append(slices.Clone(utf8BOM), data...)
			}
			f := writeFile(t, "d.csv", data)
			opts := Options{BatchRows: 16, Alloc: checkedAlloc(t)}
			lens := checkShards(t, []File{f}, opts, textShardSizes...)
			if lens[0] != 300 || lens[len(lens)-2] != 1 {
				t.Fatalf("plan lengths %v: want 300 shards for 1-byte shards, 1 for 1 GiB", lens)
			}
		})
	}
}

func TestShardCSVEdgeCases(t *testing.T) {
	for _, tc := range []struct {
		name, data string
		shards     int // with 1-byte shards
	}{
		{"header only", "a,b\n", 0},
		{"header only no newline", "a,b", 0},
		{"header and blank lines", "a,b\n\n\r\n\n", 0},
		{"blank lines first", "\n\na,b\n1,2\n", 1},
		{"quoted header newline", "\"a\nb\",c\n1,2\n3,4\n", 2},
		{"lone CR field", "a\n\r\n\rx\n1\n", 2},
		{"trailing CR", "a,b\n1,2\n3,4\r", 2},
		{"quote then CRLF", "a,b\n\"1\",\"2\"\r\n\"3\",\"4\"\r\n", 2},
		{"escaped quotes", "a,b\n\"x\"\"\ny\",1\n\"\"\"\",2\n", 2},
		{"empty quoted", "a,b\n\"\",\"\"\n,\n", 2},
		{"BOM quoted header", "\xEF\xBB\xBF\"a\",b\n1,2\n", 1},
		{"record starting with BOM bytes", "a,b\n1,2\n\xEF\xBB\xBFx,3\n", 2},
		{"record starting with gzip magic", "a,b\n1,2\n\x1f\x8b,3\n", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := writeFile(t, "d.csv", []byte(tc.data))
			lens := checkShards(t, []File{f}, Options{Alloc: checkedAlloc(t)}, ShardOptions{Bytes: 1}, ShardOptions{})
			if lens[0] != tc.shards {
				t.Fatalf("%d shards, want %d", lens[0], tc.shards)
			}
		})
	}
}

func TestPlanCSVRowsAndLines(t *testing.T) {
	data := "a,b\n1,\"x\ny\"\n\n2,z\r\n3,\"p\r\nq\"\n4,w"
	f := writeFile(t, "d.csv", []byte(data))
	plan, err := PlanShards(t.Context(), []File{f}, ShardOptions{Bytes: 1})
	if err != nil {
		t.Fatal(err)
	}
	type got struct {
		off, length, rows int64
		line              int
	}
	var have []got
	for _, s := range plan {
		have = append(have, got{s.Offset, s.Length, s.Rows, s.FirstLine})
	}
	want := []got{{4, 9, 1, 2}, {13, 5, 1, 5}, {18, 9, 1, 6}, {27, 3, 1, 8}}
	if !slices.Equal(have, want) {
		t.Fatalf("plan %+v\nwant %+v", have, want)
	}
	if int64(len(data)) != plan[3].Offset+plan[3].Length {
		t.Fatalf("last shard ends at %d, file has %d bytes", plan[3].Offset+plan[3].Length, len(data))
	}
}

func TestShardCSVErrorLines(t *testing.T) {
	// A bad number on line 10 (after quoted newlines and a blank line); in
	// the second case a quote left open by a removed line: shard readers
	// report the file's lines, as OpenAll does.
	data := "x,t\n1,a\n2,\"b\nc\"\n3,d\n4,\"e\r\nf\"\n\n7,g\nbad,h\n8,i\n9,j\n10\n"
	for _, cut := range []int{5, 9} {
		lines := strings.Split(data, "\n")
		bad := strings.Join(append(slices.Clone(lines[:cut]), lines[cut+1:]...), "\n")
		if cut == 9 {
			bad = data // keep "bad,h"
		}
		f := writeFile(t, "d.csv", []byte(bad))
		ctx := t.Context()
		_, _, wantErr := wholeRead(ctx, []File{f}, Options{BatchRows: 2, NumericColumns: []string{"x"}})
		var wpe *ParseError
		if !errors.As(wantErr, &wpe) {
			t.Fatalf("whole read error %v, want a *ParseError", wantErr)
		}
		plan, err := PlanShards(ctx, []File{f}, ShardOptions{Bytes: 1})
		if err != nil {
			t.Fatal(err)
		}
		schema := newSchema([]string{"x", "t"}, []arrow.DataType{typeFloat64, typeString})
		_, err = shardRead(ctx, plan, schema, Options{})
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Fatalf("shard read error %v, want a *ParseError", err)
		}
		if pe.Error() != wpe.Error() {
			t.Fatalf("shard error %q, whole-file error %q", pe, wpe)
		}
		if cut == 9 && pe.Line != 10 {
			t.Fatalf("error on line %d, want 10", pe.Line)
		}
	}
}

func TestShardCSVBrokenQuotes(t *testing.T) {
	// Once the quoting breaks encoding/csv's rules the planner stops
	// cutting; the last shard reports the whole-file error.
	for _, data := range []string{
		"a,b\n1,2\n3,x\"y\n5,6\n7,8\n",
		"a,b\n1,2\n3,\"x\"y\n5,6\n",
		"a,b\n1,2\n3,\"x\n5,6\n",
		"a,\"b\n1,2\n",
		"a,\"b\"x\n1,2\n",
		"a,b\n1,\"2\"\r3\n",
	} {
		f := writeFile(t, "d.csv", []byte(data))
		ctx := t.Context()
		_, _, wantErr := wholeRead(ctx, []File{f}, Options{BatchRows: 1})
		if wantErr == nil {
			t.Fatalf("%q: whole read has no error", data)
		}
		plan, err := PlanShards(ctx, []File{f}, ShardOptions{Bytes: 1})
		if err != nil {
			t.Fatal(err)
		}
		schema := newSchema([]string{"a", "b"}, []arrow.DataType{typeString, typeString})
		_, err = shardRead(ctx, plan, schema, Options{BatchRows: 1})
		if err == nil || !errors.Is(err, ErrMalformed) {
			t.Fatalf("%q: plan %+v: shard read error %v, want ErrMalformed", data, plan, err)
		}
		if len(plan) > 0 && plan[len(plan)-1].Length != -1 {
			t.Fatalf("%q: last shard %+v should run to the end", data, plan[len(plan)-1])
		}
	}
}

func TestShardCSVGzip(t *testing.T) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(randomCSV(rand.New(rand.NewPCG(3, 4)), 50, "\n", true)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	f := writeFile(t, "d.csv.gz", buf.Bytes())
	lens := checkShards(t, []File{f}, Options{Alloc: checkedAlloc(t)}, ShardOptions{Bytes: 1})
	if lens[0] != 1 {
		t.Fatalf("gzip file planned as %d shards, want 1", lens[0])
	}
}

func TestPlanCSVNoHeader(t *testing.T) {
	f := writeFile(t, "d.csv", []byte("\n\r\n\n"))
	_, err := PlanShards(t.Context(), []File{f}, ShardOptions{})
	wantErrIs(t, err, ErrEmpty)
}

func randomJSONL(rng *rand.Rand, n int, eol string, trailing bool) []byte {
	var b strings.Builder
	for i := range n {
		if rng.IntN(8) == 0 {
			b.WriteString([]string{"", "  ", "\t"}[rng.IntN(3)] + eol)
		}
		x := "null"
		if rng.IntN(6) != 0 {
			x = strconv.FormatFloat(rng.NormFloat64(), 'g', -1, 64)
		}
		s, _ := json.Marshal([]string{"a", "b\nc", "q\"uote", "", "ü"}[rng.IntN(5)])
		if rng.IntN(3) == 0 {
			fmt.Fprintf(&b, `{"s": %s, "id": %d, "x": %s}`, s, i, x) // other key order
		} else {
			fmt.Fprintf(&b, `{"id": %d, "x": %s, "s": %s, "ok": %t}`, i, x, s, i%3 == 0)
		}
		if i < n-1 || trailing {
			b.WriteString(eol)
		}
	}
	return []byte(b.String())
}

func TestShardJSONLMatchesOpenAll(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, tc := range []struct {
		name     string
		eol      string
		trailing bool
	}{{"lf", "\n", true}, {"crlf", "\r\n", true}, {"no final newline", "\n", false}} {
		t.Run(tc.name, func(t *testing.T) {
			f := writeFile(t, "d.jsonl", randomJSONL(rng, 200, tc.eol, tc.trailing))
			lens := checkShards(t, []File{f}, Options{BatchRows: 16, Alloc: checkedAlloc(t)}, textShardSizes...)
			if lens[0] < 200 || lens[len(lens)-2] != 1 {
				t.Fatalf("plan lengths %v", lens)
			}
		})
	}
}

func TestShardJSONLErrorLine(t *testing.T) {
	data := "{\"x\": 1}\n\n{\"x\": 2}\n{\"x\": \"no\"}\n{\"x\": 4}\n"
	f := writeFile(t, "d.jsonl", []byte(data))
	ctx := t.Context()
	plan, err := PlanShards(ctx, []File{f}, ShardOptions{Bytes: 12})
	if err != nil {
		t.Fatal(err)
	}
	schema := newSchema([]string{"x"}, []arrow.DataType{typeFloat64})
	_, err = shardRead(ctx, plan, schema, Options{})
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("error %v, want a *ParseError", err)
	}
	// The shard starts at byte 19 (line 4, unknown to the planner) with
	// the bad line.
	if pe.Line != 0 || !strings.Contains(pe.Error(), "line 1 of the shard at byte 19") {
		t.Fatalf("error %q (line %d), want line 0 and a shard-relative line", pe, pe.Line)
	}
	// The first shard's lines are the file's.
	_, err = shardRead(ctx, plan[:1], schema, Options{})
	if err != nil {
		t.Fatal(err)
	}
	whole := []Shard{{File: f, Length: -1, Rows: -1, FirstLine: 1}}
	_, err = shardRead(ctx, whole, schema, Options{})
	if !errors.As(err, &pe) || pe.Line != 4 {
		t.Fatalf("whole-file shard error %v, want line 4", err)
	}
}

// writeParquetGroups writes recs to path in row groups of at most
// groupRows rows (each record starts a new row group).
func writeParquetGroups(t *testing.T, path string, groupRows int64, recs ...arrow.RecordBatch) {
	t.Helper()
	mustWrite(t, path, parquetBytes(t, groupRows, recs...))
}

// parquetBytes encodes recs as a Parquet file (pqarrow, the Arrow schema
// stored) with row groups of at most groupRows rows.
func parquetBytes(tb testing.TB, groupRows int64, recs ...arrow.RecordBatch) []byte {
	tb.Helper()
	var buf bytes.Buffer
	props := parquet.NewWriterProperties(parquet.WithMaxRowGroupLength(groupRows))
	fw, err := pqarrow.NewFileWriter(recs[0].Schema(), &buf, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		tb.Fatal(err)
	}
	for _, rec := range recs {
		if err := fw.Write(rec); err != nil {
			tb.Fatal(err)
		}
	}
	if err := fw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func TestShardParquetMatchesOpenAll(t *testing.T) {
	mem := checkedAlloc(t)
	dir := t.TempDir()
	a, b := sampleRecord(mem, 95), sampleRecord(mem, 7)
	defer a.Release()
	defer b.Release()
	p1, p2 := filepath.Join(dir, "1.parquet"), filepath.Join(dir, "2.parquet")
	writeParquetGroups(t, p1, 10, a, b) // 10 groups of 10 (last 5), then one of 7
	writeParquetGroups(t, p2, 1000, b)
	files, err := Resolve(t.Context(), []string{p1, p2})
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{BatchRows: 8, Alloc: mem}
	lens := checkShards(t, files, opts, ShardOptions{Rows: 1}, ShardOptions{Rows: 10}, ShardOptions{Rows: 25}, ShardOptions{Rows: 1 << 30})
	if want := []int{12, 12, 6, 2}; !slices.Equal(lens, want) {
		t.Fatalf("plan lengths %v, want %v", lens, want)
	}
	plan, err := PlanShards(t.Context(), files, ShardOptions{Rows: 25})
	if err != nil {
		t.Fatal(err)
	}
	if g := plan[0].RowGroups; !slices.Equal(g, []int{0, 1}) || plan[0].Rows != 20 {
		t.Fatalf("first shard %+v, want row groups 0 and 1 with 20 rows", plan[0])
	}
}

func TestShardMixedFormatsWiden(t *testing.T) {
	// A Parquet Int64 column followed by a CSV file: OpenAll widens it to
	// Float64, and so must the Parquet shards.
	mem := checkedAlloc(t)
	dir := t.TempDir()
	rec := sampleRecord(mem, 30)
	defer rec.Release()
	p := filepath.Join(dir, "1.parquet")
	writeParquetGroups(t, p, 7, rec)
	c := filepath.Join(dir, "2.csv")
	mustWrite(t, c, []byte("f,i,b,s\n1.5,3,true,x\n,,,\n2,4.5,false,\"y\nz\"\n"))
	files, err := Resolve(t.Context(), []string{p, c})
	if err != nil {
		t.Fatal(err)
	}
	checkShards(t, files, Options{BatchRows: 4, Alloc: mem}, ShardOptions{Rows: 1, Bytes: 1}, ShardOptions{})
	r, err := OpenAll(t.Context(), files, Options{Alloc: mem})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if got := typesOf(r.Schema()); got != "f:float64,i:float64,b:bool,s:utf8" {
		t.Fatalf("schema %s", got)
	}
}

func TestShardMultiFile(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	dir := t.TempDir()
	var uris []string
	for i := range 3 {
		p := filepath.Join(dir, fmt.Sprintf("%d.csv", i))
		mustWrite(t, p, randomCSV(rng, 40+i*10, "\n", i != 1))
		uris = append(uris, p)
	}
	mustWrite(t, filepath.Join(dir, "3.csv"), []byte("id,x,text,flag\n")) // header only
	uris = append(uris, filepath.Join(dir, "3.csv"))
	files, err := Resolve(t.Context(), uris)
	if err != nil {
		t.Fatal(err)
	}
	lens := checkShards(t, files, Options{BatchRows: 8, Alloc: checkedAlloc(t)}, textShardSizes...)
	if lens[0] != 40+50+60 || lens[len(lens)-2] != 3 {
		t.Fatalf("plan lengths %v", lens)
	}
}

func TestShardJSONRoundTrip(t *testing.T) {
	s := Shard{Index: 3, File: File{URI: "s3://b/k.parquet", Format: Parquet, Size: 9}, RowGroups: []int{4, 5}, Length: -1, Rows: 12}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"index":3,"file":{"URI":"s3://b/k.parquet","Format":"parquet","Size":9},"row_groups":[4,5],"offset":0,"length":-1,"rows":12,"first_line":0}`
	if string(b) != want {
		t.Fatalf("JSON %s\nwant %s", b, want)
	}
	var back Shard
	if err := json.Unmarshal(b, &back); err != nil || !slices.Equal(back.RowGroups, s.RowGroups) || back.File != s.File {
		t.Fatalf("round trip %+v, %v", back, err)
	}
}

func TestSkipRows(t *testing.T) {
	mem := checkedAlloc(t)
	dir := t.TempDir()
	rec := sampleRecord(mem, 57)
	defer rec.Release()
	pq := filepath.Join(dir, "d.parquet")
	writeParquetGroups(t, pq, 10, rec)
	csvPath := filepath.Join(dir, "d.csv")
	mustWrite(t, csvPath, randomCSV(rand.New(rand.NewPCG(9, 9)), 57, "\r\n", false))
	jsonPath := filepath.Join(dir, "d.jsonl")
	mustWrite(t, jsonPath, randomJSONL(rand.New(rand.NewPCG(9, 10)), 57, "\n", true))
	ctx := t.Context()
	for _, p := range []string{pq, csvPath, jsonPath} {
		files, err := Resolve(ctx, []string{p})
		if err != nil {
			t.Fatal(err)
		}
		opts := Options{BatchRows: 8, Alloc: mem}
		schema, all, err := wholeRead(ctx, files, opts)
		if err != nil {
			t.Fatal(err)
		}
		plan, err := PlanShards(ctx, files, ShardOptions{Rows: 1 << 20, Bytes: 1 << 20})
		if err != nil || len(plan) != 1 {
			t.Fatalf("plan %v, %v", plan, err)
		}
		for _, n := range []int64{0, 1, 7, 8, 9, 20, 56, 57} {
			for _, inferred := range []bool{false, true} {
				sch := schema
				if inferred {
					sch = nil // the CSV/JSONL reader then holds a buffered first batch
				}
				r, err := OpenShard(ctx, plan[0], sch, opts)
				if err != nil {
					t.Fatal(err)
				}
				// Skip in two steps, the second inside a record.
				if err := SkipRows(r, n/2); err != nil {
					t.Fatalf("%s: SkipRows(%d): %v", p, n/2, err)
				}
				if n/2 > 0 {
					if _, err := r.Next(); err != nil {
						t.Fatal(err)
					}
					r.Close()
					r, _ = OpenShard(ctx, plan[0], sch, opts)
					_ = SkipRows(r, n/2) // the rest is skipped and checked below
				}
				if err := SkipRows(r, n-n/2); err != nil {
					t.Fatalf("%s: SkipRows(%d): %v", p, n-n/2, err)
				}
				rows, _, err := drain(r)
				r.Close()
				if err != nil {
					t.Fatal(err)
				}
				if !inferred && !slices.Equal(rows, all[n:]) {
					t.Fatalf("%s: after SkipRows(%d) read %d rows %q..., want %d", p, n, len(rows), at(rows, 0), len(all)-int(n))
				}
				if len(rows) != len(all)-int(n) {
					t.Fatalf("%s inferred: after SkipRows(%d) read %d rows, want %d", p, n, len(rows), len(all)-int(n))
				}
			}
		}
		// Past the end.
		r, err := OpenShard(ctx, plan[0], schema, opts)
		if err != nil {
			t.Fatal(err)
		}
		if err := SkipRows(r, 58); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("%s: SkipRows past the end: %v", p, err)
		}
		r.Close()
		// OpenAll readers skip too, across records.
		ar, err := OpenAll(ctx, append(slices.Clone(files), files...), opts)
		if err != nil {
			t.Fatal(err)
		}
		if err := SkipRows(ar, 60); err != nil {
			t.Fatal(err)
		}
		rows, _, err := drain(ar)
		ar.Close()
		if err != nil || !slices.Equal(rows, all[3:]) {
			t.Fatalf("%s: OpenAll after SkipRows(60): %d rows, %v", p, len(rows), err)
		}
	}
}

func TestShardHTTP(t *testing.T) {
	// Remote files: Parquet footers and row groups, JSON Lines cut points
	// and CSV bytes through ranged GETs.
	mem := checkedAlloc(t)
	dir := t.TempDir()
	rec := sampleRecord(mem, 40)
	defer rec.Release()
	writeParquetGroups(t, filepath.Join(dir, "d.parquet"), 9, rec)
	mustWrite(t, filepath.Join(dir, "d.csv"), randomCSV(rand.New(rand.NewPCG(1, 1)), 60, "\n", true))
	mustWrite(t, filepath.Join(dir, "d.jsonl"), randomJSONL(rand.New(rand.NewPCG(1, 2)), 60, "\n", true))
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	defer srv.Close()
	for _, name := range []string{"d.parquet", "d.csv", "d.jsonl"} {
		files, err := Resolve(t.Context(), []string{srv.URL + "/" + name + "?sig=secret"})
		if err != nil {
			t.Fatal(err)
		}
		lens := checkShards(t, files, Options{BatchRows: 8, Alloc: mem}, ShardOptions{Rows: 10, Bytes: 200})
		if lens[0] < 3 {
			t.Fatalf("%s: %d shards", name, lens[0])
		}
	}
	_, err := PlanShards(t.Context(), []File{{URI: srv.URL + "/missing.jsonl?sig=secret", Format: JSONL, Size: -1}}, ShardOptions{})
	wantErrIs(t, err, ErrNotFound)
	if strings.Contains(err.Error(), "secret") {
		t.Fatalf("error leaks the query string: %v", err)
	}
}

func TestOpenShardSchemaMismatch(t *testing.T) {
	f := writeFile(t, "d.csv", []byte("a,b\n1,2\n"))
	plan, err := PlanShards(t.Context(), []File{f}, ShardOptions{})
	if err != nil {
		t.Fatal(err)
	}
	schema := newSchema([]string{"a", "c"}, []arrow.DataType{typeFloat64, typeFloat64})
	_, err = OpenShard(t.Context(), plan[0], schema, Options{})
	wantErrIs(t, err, ErrSchemaMismatch)
}

// TestShardMemoryBounded reads a shard of many batches and checks that
// the allocator never holds more than a couple of batches.
func TestShardMemoryBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString("x,s\n")
	for i := range 20000 {
		fmt.Fprintf(&b, "%d,row%d\n", i, i)
	}
	f := writeFile(t, "d.csv", []byte(b.String()))
	plan, err := PlanShards(t.Context(), []File{f}, ShardOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mem := &peakAlloc{Allocator: memory.NewGoAllocator()}
	r, err := OpenShard(t.Context(), plan[0], nil, Options{BatchRows: 256, Alloc: mem})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	n := 0
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n += int(rec.NumRows())
	}
	if n != 20000 || mem.peak > 64<<10 {
		t.Fatalf("read %d rows with a peak of %d bytes", n, mem.peak)
	}
}

type peakAlloc struct {
	memory.Allocator
	cur, peak int
}

func (a *peakAlloc) Allocate(n int) []byte {
	a.cur += n
	a.peak = max(a.peak, a.cur)
	return a.Allocator.Allocate(n)
}

func (a *peakAlloc) Reallocate(n int, b []byte) []byte {
	a.cur += n - len(b)
	a.peak = max(a.peak, a.cur)
	return a.Allocator.Reallocate(n, b)
}

func (a *peakAlloc) Free(b []byte) {
	a.cur -= len(b)
	a.Allocator.Free(b)
}

// FuzzShardCSV: for any CSV text and shard size, the shards' records equal
// the whole file's, or both reads fail.
func FuzzShardCSV(f *testing.F) {
	f.Add([]byte("a,b\n1,\"x\ny\"\n2,\"\"\"\"\r\n\n3,z"), uint16(1))
	f.Add([]byte("a,b\n1,2\n3,x\"y\n5,6\n"), uint16(2))
	f.Add([]byte("\xEF\xBB\xBF\"a\nb\",c\r\n1,2\r\n\r\n\"3\",\"4\"\r"), uint16(3))
	f.Add(randomCSV(rand.New(rand.NewPCG(1, 1)), 20, "\r\n", false), uint16(17))
	f.Fuzz(func(t *testing.T, data []byte, size uint16) {
		if len(data) == 0 || isGzip(data) {
			return
		}
		p := filepath.Join(t.TempDir(), "f.csv")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		files := []File{{URI: p, Format: CSV, Size: int64(len(data))}}
		ctx := t.Context()
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		defer mem.AssertSize(t, 0)
		opts := Options{BatchRows: 3, Alloc: mem}
		plan, planErr := PlanShards(ctx, files, ShardOptions{Bytes: int64(size%128) + 1})
		schema, want, wholeErr := wholeRead(ctx, files, opts)
		if schema == nil {
			// OpenAll failed (header or first batch): the shards have no
			// schema to read with; they must still not panic.
			if planErr == nil {
				_, _ = shardRead(ctx, plan, nil, opts) // errors are fine here; panics are not
			}
			return
		}
		if planErr != nil {
			if wholeErr == nil {
				t.Fatalf("plan: %v; the whole file reads", planErr)
			}
			return
		}
		got, shardErr := shardRead(ctx, plan, schema, opts)
		switch {
		case wholeErr != nil && shardErr == nil:
			t.Fatalf("whole read: %v; shards read %d rows without error (plan %+v)", wholeErr, len(got), plan)
		case wholeErr == nil && shardErr != nil:
			t.Fatalf("shards: %v; the whole file reads (plan %+v)", shardErr, plan)
		case wholeErr == nil && !slices.Equal(got, want):
			t.Fatalf("shards give %q\nwhole file %q\nplan %+v", got, want, plan)
		case wholeErr != nil:
			// Same error, same line.
			if shardErr.Error() != wholeErr.Error() {
				var a, b *ParseError
				if !errors.As(shardErr, &a) || !errors.As(wholeErr, &b) || a.Line != b.Line {
					t.Fatalf("shard error %v, whole-file error %v", shardErr, wholeErr)
				}
			}
		}
		if wholeErr == nil {
			var sum int64
			for _, s := range plan {
				sum += s.Rows
			}
			if sum != int64(len(want)) {
				t.Fatalf("plan counts %d rows, the file has %d", sum, len(want))
			}
		}
	})
}

// writeBenchCSV writes about size bytes of CSV: numbers, text, and one row
// in 50 with a quoted field holding a comma, a quote and a newline.
func writeBenchCSV(b *testing.B, size int) File {
	b.Helper()
	var sb strings.Builder
	sb.WriteString("id,x,y,label,note\n")
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; sb.Len() < size; i++ {
		note := "plain"
		if i%50 == 0 {
			note = "\"multi, \"\"line\"\"\nnote\""
		}
		fmt.Fprintf(&sb, "%d,%.6f,%.3f,cat%d,%s\n", i, rng.Float64()*1000, rng.NormFloat64(), i%17, note)
	}
	p := filepath.Join(b.TempDir(), "bench.csv")
	if err := os.WriteFile(p, []byte(sb.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	return File{URI: p, Format: CSV, Size: int64(sb.Len())}
}

// BenchmarkPlanCSV measures the quote-aware planner scan (MB/s) over a
// ladder of file sizes, beside encoding/csv reading the same file (the
// cost a parsing planner would pay).
func BenchmarkPlanCSV(b *testing.B) {
	for _, mb := range []int{1, 16, 200} {
		var f File
		b.Run(fmt.Sprintf("scan/%dMB", mb), func(b *testing.B) {
			f = writeBenchCSV(b, mb<<20)
			b.SetBytes(f.Size)
			for b.Loop() {
				plan, err := PlanShards(b.Context(), []File{f}, ShardOptions{Bytes: 4 << 20})
				if err != nil || len(plan) == 0 {
					b.Fatal(plan, err)
				}
			}
		})
		if mb > 16 {
			continue // encoding/csv at 200 MB takes long; the ratio is clear at 16 MB
		}
		b.Run(fmt.Sprintf("encoding-csv/%dMB", mb), func(b *testing.B) {
			f = writeBenchCSV(b, mb<<20)
			b.SetBytes(f.Size)
			for b.Loop() {
				fh, err := os.Open(f.URI)
				if err != nil {
					b.Fatal(err)
				}
				cr := newCSVParser(fh)
				for {
					if _, err := cr.Read(); err != nil {
						break
					}
				}
				fh.Close()
			}
		})
	}
}
