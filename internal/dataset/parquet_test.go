package dataset

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// sampleRecord builds a record with the four handed-out types and nulls.
func sampleRecord(mem memory.Allocator, n int) arrow.RecordBatch {
	schema := newSchema([]string{"f", "i", "b", "s"}, []arrow.DataType{typeFloat64, typeInt64, typeBool, typeString})
	rb := array.NewRecordBuilder(mem, schema)
	defer rb.Release()
	for k := 0; k < n; k++ {
		if k%5 == 4 {
			for j := 0; j < 4; j++ {
				rb.Field(j).AppendNull()
			}
			continue
		}
		rb.Field(0).(*array.Float64Builder).Append(0.1 * float64(k))
		rb.Field(1).(*array.Int64Builder).Append(int64(k) << 40)
		rb.Field(2).(*array.BooleanBuilder).Append(k%2 == 0)
		rb.Field(3).(*array.StringBuilder).Append(strings.Repeat("x", k%3))
	}
	return rb.NewRecordBatch()
}

func writeParquet(t *testing.T, path string, recs ...arrow.RecordBatch) {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewParquetWriter(&buf, recs[0].Schema())
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range recs {
		if err := w.Write(rec); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func renderRecord(rec arrow.RecordBatch) []string {
	var rows []string
	for i := 0; i < int(rec.NumRows()); i++ {
		parts := make([]string, rec.NumCols())
		for j := range parts {
			parts[j] = cell(rec.Column(j), i)
		}
		rows = append(rows, strings.Join(parts, "|"))
	}
	return rows
}

func TestParquetRoundTrip(t *testing.T) {
	mem := checkedAlloc(t)
	rec := sampleRecord(mem, 1000)
	defer rec.Release()
	p := filepath.Join(t.TempDir(), "out.parquet")
	writeParquet(t, p, rec, rec) // two records: one buffered row group

	files, err := Resolve(t.Context(), []string{p})
	if err != nil {
		t.Fatal(err)
	}
	if files[0].Format != Parquet {
		t.Fatalf("format %s", files[0].Format)
	}
	r, err := Open(t.Context(), files[0], Options{BatchRows: 300, Alloc: mem})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if got, want := typesOf(r.Schema()), "f:float64,i:int64,b:bool,s:utf8"; got != want {
		t.Errorf("schema = %s, want %s", got, want)
	}
	rows, batches, err := drain(r)
	if err != nil {
		t.Fatal(err)
	}
	want := append(renderRecord(rec), renderRecord(rec)...)
	if !slices.Equal(rows, want) {
		t.Errorf("round trip differs: got %d rows, want %d", len(rows), len(want))
	}
	if batches < 7 {
		t.Errorf("read %d batches of at most 300 rows for 2000 rows", batches)
	}
}

// A file written with types outside the four: they are converted.
func TestParquetConversions(t *testing.T) {
	mem := checkedAlloc(t)
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "f32", Type: arrow.PrimitiveTypes.Float32, Nullable: true},
		{Name: "i32", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		{Name: "u16", Type: arrow.PrimitiveTypes.Uint16},
		{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}, Nullable: true},
		{Name: "d", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
		{Name: "cat", Type: &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}, Nullable: true},
	}, nil)
	rb := array.NewRecordBuilder(mem, schema)
	defer rb.Release()
	rb.Field(0).(*array.Float32Builder).AppendValues([]float32{1.5, 0}, []bool{true, false})
	rb.Field(1).(*array.Int32Builder).AppendValues([]int32{-7, 8}, nil)
	rb.Field(2).(*array.Uint16Builder).AppendValues([]uint16{65535, 1}, nil)
	ts := time.Date(2024, 3, 1, 12, 30, 0, 0, time.UTC)
	rb.Field(3).(*array.TimestampBuilder).AppendValues([]arrow.Timestamp{arrow.Timestamp(ts.UnixMilli()), 0}, []bool{true, false})
	rb.Field(4).(*array.Date32Builder).AppendValues([]arrow.Date32{arrow.Date32FromTime(ts), 0}, nil)
	db := rb.Field(5).(*array.BinaryDictionaryBuilder)
	if err := db.AppendString("red"); err != nil {
		t.Fatal(err)
	}
	db.AppendNull()
	rec := rb.NewRecordBatch()
	defer rec.Release()

	p := filepath.Join(t.TempDir(), "types.parquet")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	fw, err := pqarrow.NewFileWriter(schema, f, nil, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		t.Fatal(err)
	}
	if err := fw.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := fw.Close(); err != nil { // closes f too
		t.Fatal(err)
	}
	types, rows, err := openDrain(t.Context(), File{URI: p, Format: Parquet}, Options{Alloc: mem})
	if err != nil {
		t.Fatal(err)
	}
	if want := "f32:float64,i32:int64,u16:int64,ts:utf8,d:utf8,cat:utf8"; types != want {
		t.Errorf("schema = %s, want %s", types, want)
	}
	want := []string{
		`1.5|-7|65535|"2024-03-01T12:30:00Z"|"2024-03-01"|"red"`,
		`null|8|1|null|"1970-01-01"|null`,
	}
	if !slices.Equal(rows, want) {
		t.Errorf("rows:\n got %q\nwant %q", rows, want)
	}
}

func TestParquetUnsupportedAndCorrupt(t *testing.T) {
	mem := checkedAlloc(t)
	dir := t.TempDir()
	schema := arrow.NewSchema([]arrow.Field{{Name: "blob", Type: arrow.BinaryTypes.Binary, Nullable: true}}, nil)
	rb := array.NewRecordBuilder(mem, schema)
	rb.Field(0).(*array.BinaryBuilder).Append([]byte{1, 2})
	rec := rb.NewRecordBatch()
	rb.Release()
	p := filepath.Join(dir, "blob.parquet")
	writeParquet(t, p, rec)
	rec.Release()
	_, err := Open(t.Context(), File{URI: p, Format: Parquet}, Options{Alloc: mem})
	wantErrIs(t, err, ErrUnsupportedFormat)
	if !strings.Contains(err.Error(), `"blob"`) {
		t.Errorf("error %q does not name the column", err)
	}

	bad := filepath.Join(dir, "bad.parquet")
	if err := os.WriteFile(bad, []byte("PAR1 this is not parquet PAR1"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Open(t.Context(), File{URI: bad, Format: Parquet}, Options{Alloc: mem})
	wantErrIs(t, err, ErrMalformed)

	_, err = Open(t.Context(), File{URI: filepath.Join(dir, "none.parquet"), Format: Parquet}, Options{Alloc: mem})
	wantErrIs(t, err, ErrNotFound)
}

func TestParquetZeroRows(t *testing.T) {
	mem := checkedAlloc(t)
	rec := sampleRecord(mem, 0)
	defer rec.Release()
	p := filepath.Join(t.TempDir(), "empty.parquet")
	writeParquet(t, p, rec)
	types, rows, err := openDrain(t.Context(), File{URI: p, Format: Parquet}, Options{Alloc: mem})
	if err != nil {
		t.Fatal(err)
	}
	if types != "f:float64,i:int64,b:bool,s:utf8" || len(rows) != 0 {
		t.Errorf("got %s, %d rows", types, len(rows))
	}
}

func TestFloat64s(t *testing.T) {
	mem := checkedAlloc(t)
	rec := sampleRecord(mem, 5)
	defer rec.Release()
	buf := make([]float64, 0, 1)
	f, ok := Float64s(rec.Column(0), buf)
	if !ok || len(f) != 5 || f[1] != 0.1 || !math.IsNaN(f[4]) {
		t.Errorf("Float64s(float64) = %v, %v", f, ok)
	}
	i, ok := Float64s(rec.Column(1), f)
	if !ok || i[3] != float64(int64(3)<<40) || !math.IsNaN(i[4]) {
		t.Errorf("Float64s(int64) = %v, %v", i, ok)
	}
	b, ok := Float64s(rec.Column(2), nil)
	if !ok || !slices.Equal(b[:4], []float64{1, 0, 1, 0}) || !math.IsNaN(b[4]) {
		t.Errorf("Float64s(bool) = %v, %v", b, ok)
	}
	if s, ok := Float64s(rec.Column(3), nil); ok || len(s) != 0 {
		t.Errorf("Float64s(string) = %v, %v; want empty, false", s, ok)
	}
}

// TestParquetColumnWiseMatchesBatches reads files whole and by shards, with
// skips, column chunk by column chunk and batch by batch (the threshold set
// to 0): the records must be the same, boundaries included, for row groups
// that batches straddle.
func TestParquetColumnWiseMatchesBatches(t *testing.T) {
	mem := checkedAlloc(t)
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "f32", Type: arrow.PrimitiveTypes.Float32, Nullable: true},
		{Name: "f64", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "i32", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		{Name: "b", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
	}, nil)
	rb := array.NewRecordBuilder(mem, schema)
	for k := range 2500 {
		if k%17 == 3 {
			for _, f := range rb.Fields() {
				f.AppendNull()
			}
			continue
		}
		rb.Field(0).(*array.Float32Builder).Append(float32(k) / 7)
		rb.Field(1).(*array.Float64Builder).Append(float64(k) / 3)
		rb.Field(2).(*array.Int32Builder).Append(int32(k * 31 % 1000))
		rb.Field(3).(*array.BooleanBuilder).Append(k%5 == 0)
	}
	rec := rb.NewRecordBatch()
	rb.Release()
	defer rec.Release()
	path := filepath.Join(t.TempDir(), "groups.parquet")
	writeParquetGroups(t, path, 300, rec) // 8 groups of 300 rows and one of 100
	f := File{URI: path, Format: Parquet}

	read := func(t *testing.T, s *Shard, batch int, skip int64) []string {
		t.Helper()
		var (
			r   Reader
			err error
		)
		if s == nil {
			r, err = Open(t.Context(), f, Options{BatchRows: batch, Alloc: mem})
		} else {
			r, err = OpenShard(t.Context(), *s, nil, Options{BatchRows: batch, Alloc: mem})
		}
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		if err := SkipRows(r, skip); err != nil {
			t.Fatal(err)
		}
		var out []string
		for {
			rec, err := r.Next()
			if err == io.EOF {
				return out
			}
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, fmt.Sprintf("record of %d rows", rec.NumRows()))
			out = append(out, renderRecord(rec)...)
		}
	}
	shards := []*Shard{nil, {File: f, RowGroups: []int{2, 3, 4}}, {File: f, RowGroups: []int{8}}}
	for i, s := range shards {
		rows := []int64{2500, 900, 100}[i]
		for _, batch := range []int{1, 64, 300, 301, 1000, 5000} {
			for _, skip := range []int64{0, 1, 99, 100, 299, 300, 450, 2499} {
				if skip > rows {
					continue
				}
				want := func() []string {
					defer func(v int64) { columnWiseMaxBytes = v }(columnWiseMaxBytes)
					columnWiseMaxBytes = 0
					return read(t, s, batch, skip)
				}()
				got := read(t, s, batch, skip)
				if !slices.Equal(got, want) {
					t.Fatalf("shard %v, batch %d, skip %d: column-wise records differ from batches' (%d lines, want %d)", s, batch, skip, len(got), len(want))
				}
			}
		}
	}
}
