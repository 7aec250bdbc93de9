package dataset

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

func TestCSVWriterRoundTrip(t *testing.T) {
	mem := checkedAlloc(t)
	values := []float64{0.1, 2.2250738585072014e-308, 1e23, 1.0 / 3, math.Copysign(0, -1), 5e-324, math.MaxFloat64, 123456789012345678, math.Inf(1)}
	schema := newSchema([]string{"v", "name, quoted", "ok"}, []arrow.DataType{typeFloat64, typeString, typeBool})
	rb := array.NewRecordBuilder(mem, schema)
	defer rb.Release()
	for i, v := range values {
		rb.Field(0).(*array.Float64Builder).Append(v)
		rb.Field(1).(*array.StringBuilder).Append("a \"b\",\nc" + strconv.Itoa(i))
		rb.Field(2).(*array.BooleanBuilder).Append(i%2 == 0)
	}
	rb.Field(0).AppendNull()
	rb.Field(1).AppendNull()
	rb.Field(2).AppendNull()
	rec := rb.NewRecordBatch()
	defer rec.Release()

	var buf bytes.Buffer
	w, err := NewCSVWriter(&buf, schema)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "out.csv")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := Open(t.Context(), File{URI: p, Format: CSV}, Options{Alloc: mem})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if got, want := typesOf(r.Schema()), typesOf(schema); got != want {
		t.Fatalf("schema = %s, want %s", got, want)
	}
	back, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	got, _ := Float64s(back.Column(0), nil)
	for i, v := range values {
		if math.Float64bits(got[i]) != math.Float64bits(v) {
			t.Errorf("value %d: wrote %v, read %v", i, v, got[i])
		}
	}
	if !back.Column(0).IsNull(len(values)) {
		t.Error("null did not survive")
	}
	if want, got := renderRecord(rec), renderRecord(back); len(want) != len(got) || want[3] != got[3] {
		t.Errorf("rows differ:\n got %q\nwant %q", got, want)
	}
}

func TestWritersRejectOtherSchemas(t *testing.T) {
	mem := checkedAlloc(t)
	rec := sampleRecord(mem, 3)
	defer rec.Release()
	other := newSchema([]string{"x"}, []arrow.DataType{typeFloat64})
	var buf bytes.Buffer
	cw, err := NewCSVWriter(&buf, other)
	if err != nil {
		t.Fatal(err)
	}
	wantErrIs(t, cw.Write(rec), ErrSchemaMismatch)
	pw, err := NewParquetWriter(&buf, other)
	if err != nil {
		t.Fatal(err)
	}
	wantErrIs(t, pw.Write(rec), ErrSchemaMismatch)
	if err := pw.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = NewCSVWriter(&buf, arrow.NewSchema([]arrow.Field{{Name: "b", Type: arrow.BinaryTypes.Binary}}, nil))
	wantErrIs(t, err, ErrUnsupportedFormat)
}

// TestParquetWriterMatchesWriteBuffered checks that ParquetWriter, which
// writes each row group column by column, gives the same bytes as pqarrow's
// WriteBuffered (the whole row group buffered) with the same properties,
// for record sizes that fill, straddle and miss the row-group size, with
// nulls in every type.
func TestParquetWriterMatchesWriteBuffered(t *testing.T) {
	mem := checkedAlloc(t)
	schema := newSchema([]string{"f", "i", "s", "b"}, []arrow.DataType{typeFloat64, typeInt64, typeString, typeBool})
	record := func(start, n int) arrow.RecordBatch {
		rb := array.NewRecordBuilder(mem, schema)
		defer rb.Release()
		for r := start; r < start+n; r++ {
			if r%97 == 5 {
				for _, f := range rb.Fields() {
					f.AppendNull()
				}
				continue
			}
			rb.Field(0).(*array.Float64Builder).Append(math.Sin(float64(r)) * 1e3)
			rb.Field(1).(*array.Int64Builder).Append(int64(r * 7919 % 1013))
			rb.Field(2).(*array.StringBuilder).Append("v" + strconv.Itoa(r%31))
			rb.Field(3).(*array.BooleanBuilder).Append(r%3 == 0)
		}
		return rb.NewRecordBatch()
	}
	const g = ParquetRowGroupRows
	for _, sizes := range [][]int{
		{},
		{0},
		{0, 0, 3},
		{1},
		{700, 700, 700},
		{g / 4, g / 4, g / 4, g / 4, g / 4, g / 4, g / 4, g / 4, 100},
		{g},
		{g, g},
		{g - 1, 2, g},
		{g + 1},
		{2*g + 5, 0, 3},
		{1000, g + 700, 999, g - 1699, 12},
	} {
		t.Run(fmt.Sprint(sizes), func(t *testing.T) {
			var want, got bytes.Buffer
			ref, err := pqarrow.NewFileWriter(schema, writerOnly{&want}, parquetWriterProps(), pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
			if err != nil {
				t.Fatal(err)
			}
			w, err := NewParquetWriter(&got, schema)
			if err != nil {
				t.Fatal(err)
			}
			start := 0
			for _, n := range sizes {
				rec := record(start, n)
				start += n
				if err := ref.WriteBuffered(rec); err != nil {
					t.Fatal(err)
				}
				if err := w.Write(rec); err != nil {
					t.Fatal(err)
				}
				rec.Release()
			}
			if err := ref.Close(); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), want.Bytes()) {
				t.Errorf("%d bytes differ from WriteBuffered's %d", got.Len(), want.Len())
			}
		})
	}
}
