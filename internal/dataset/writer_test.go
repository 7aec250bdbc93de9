package dataset

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

func TestCSVWriterRoundTrip(t *testing.T) {
	mem := checkedAlloc(t)
	values := []float64{0.1, 2.2250738585072014e-308, 1e23, 1.0 / 3, -0.0, 5e-324, math.MaxFloat64, 123456789012345678, math.Inf(1)}
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
