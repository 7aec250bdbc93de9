package dataset

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// ParquetRowGroupRows is the most rows ParquetWriter puts in one row group.
const ParquetRowGroupRows = 1 << 16 // 65,536: bounds the rows buffered per writer

// ParquetWriter writes records to a Parquet file, Snappy-compressed, in row
// groups of up to ParquetRowGroupRows rows (small records are gathered into
// one row group). The Arrow schema is stored in the file so that readers
// get the same types.
//
// The records of a row group are retained (not copied) until it is full or
// the writer is closed, and then written one column at a time: each column
// is encoded, compressed and written to w before the next, so besides the
// retained records the writer holds one column chunk, not the whole row
// group encoded and compressed as pqarrow's WriteBuffered does (about
// twice the row group's size). The bytes are the same as WriteBuffered's.
type ParquetWriter struct {
	schema  *arrow.Schema
	fw      *pqarrow.FileWriter
	pending []arrow.RecordBatch // retained records of the open row group
	rows    int64               // rows in pending
	empty   arrow.RecordBatch   // an empty record written before any row
	groups  int                 // row groups written
}

// NewParquetWriter starts a Parquet file on w with the given schema. Close
// must be called to write the footer; it does not close w.
func NewParquetWriter(w io.Writer, schema *arrow.Schema) (*ParquetWriter, error) {
	fw, err := pqarrow.NewFileWriter(schema, writerOnly{w}, parquetWriterProps(), pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		return nil, fmt.Errorf("starting Parquet file: %w", err)
	}
	return &ParquetWriter{schema: schema, fw: fw}, nil
}

func parquetWriterProps() *parquet.WriterProperties {
	return parquet.NewWriterProperties(
		parquet.WithCompression(compress.Codecs.Snappy),
		// Dictionary encoding pays for low-cardinality columns only; on
		// float features and predictions it hashes every value (most of
		// the writer's CPU and memory, measured) and falls back anyway.
		parquet.WithDictionaryDefault(false),
		parquet.WithMaxRowGroupLength(ParquetRowGroupRows),
	)
}

// writerOnly hides any Close method of the wrapped writer, which pqarrow
// would otherwise call.
type writerOnly struct{ io.Writer }

// Write appends rec, whose schema must equal the writer's. rec is retained
// until its rows are written; the caller may release it at once.
func (p *ParquetWriter) Write(rec arrow.RecordBatch) error {
	if !rec.Schema().Equal(p.schema) {
		return fmt.Errorf("writing Parquet record: record schema %s differs from the file's %s: %w", rec.Schema(), p.schema, ErrSchemaMismatch)
	}
	if rec.NumRows() == 0 {
		if p.empty == nil && p.rows == 0 && p.groups == 0 {
			rec.Retain()
			p.empty = rec
		}
		return nil
	}
	rec.Retain()
	p.pending = append(p.pending, rec)
	p.rows += rec.NumRows()
	for p.rows >= ParquetRowGroupRows {
		if err := p.flush(ParquetRowGroupRows); err != nil {
			return err
		}
	}
	return nil
}

// flush writes the first n pending rows as a row group, column by column,
// and drops them from pending.
func (p *ParquetWriter) flush(n int64) error {
	if err := p.fw.NewRowGroupChecked(); err != nil {
		return fmt.Errorf("writing Parquet record: %w", err)
	}
	cols := make([]arrow.Array, len(p.pending))
	for i, f := range p.schema.Fields() {
		for j, rec := range p.pending {
			cols[j] = rec.Column(i)
		}
		c := arrow.NewChunked(f.Type, cols)
		err := p.fw.WriteColumnChunked(c, 0, n)
		c.Release()
		if err != nil {
			return fmt.Errorf("writing Parquet record: %w", err)
		}
	}
	p.groups++
	// Drop the written rows: whole records, then the head of a record
	// that continues in the next row group.
	k := 0
	for left := n; k < len(p.pending) && left > 0; k++ {
		rec := p.pending[k]
		if m := rec.NumRows(); m > left {
			p.pending[k] = rec.NewSlice(left, m)
			rec.Release()
			break
		}
		left -= rec.NumRows()
		rec.Release()
	}
	p.pending = append(p.pending[:0], p.pending[k:]...)
	p.rows -= n
	return nil
}

// Close writes the pending row group and the footer. It does not close the
// underlying writer.
func (p *ParquetWriter) Close() error {
	var err error
	switch {
	case p.rows > 0:
		err = p.flush(p.rows)
	case p.groups == 0 && p.empty != nil:
		// A file given only empty records has one empty row group.
		if werr := p.fw.WriteBuffered(p.empty); werr != nil {
			err = fmt.Errorf("writing Parquet record: %w", werr)
		}
	}
	if p.empty != nil {
		p.empty.Release()
		p.empty = nil
	}
	for _, rec := range p.pending {
		rec.Release()
	}
	p.pending, p.rows = nil, 0
	if cerr := p.fw.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("closing Parquet file: %w", cerr)
	}
	return err
}

// CSVWriter writes records as CSV with a header row. Floats are formatted
// with strconv 'g' and the shortest precision that round-trips (so reading
// the file back gives the same float64 bits); NaN is written as "NaN" and
// infinities as "+Inf"/"-Inf"; nulls as empty fields (so both NaN and null
// read back as null); booleans as true/false. Supported column types:
// Float64, Float32, signed and unsigned integers, Boolean, String,
// LargeString.
type CSVWriter struct {
	schema *arrow.Schema
	cw     *csv.Writer
	row    []string
	closed bool
}

// NewCSVWriter starts a CSV file on w with the given schema; the header is
// written at the first Write or at Close. Close does not close w.
func NewCSVWriter(w io.Writer, schema *arrow.Schema) (*CSVWriter, error) {
	for _, f := range schema.Fields() {
		switch f.Type.ID() {
		case arrow.FLOAT64, arrow.FLOAT32, arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64,
			arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64, arrow.BOOL, arrow.STRING, arrow.LARGE_STRING:
		default:
			return nil, fmt.Errorf("starting CSV file: column %q has type %s: %w", f.Name, f.Type, ErrUnsupportedFormat)
		}
	}
	cw := csv.NewWriter(w)
	header := make([]string, schema.NumFields())
	for i, f := range schema.Fields() {
		header[i] = f.Name
	}
	if err := cw.Write(header); err != nil {
		return nil, fmt.Errorf("writing CSV header: %w", err)
	}
	return &CSVWriter{schema: schema, cw: cw, row: make([]string, schema.NumFields())}, nil
}

// Write appends rec's rows; rec's schema must equal the writer's.
func (c *CSVWriter) Write(rec arrow.RecordBatch) error {
	if c.closed {
		return errors.New("writing CSV record: writer is closed")
	}
	if !rec.Schema().Equal(c.schema) {
		return fmt.Errorf("writing CSV record: record schema %s differs from the file's %s: %w", rec.Schema(), c.schema, ErrSchemaMismatch)
	}
	cols := rec.Columns()
	for i := 0; i < int(rec.NumRows()); i++ {
		for j, col := range cols {
			c.row[j] = formatCell(col, i)
		}
		if err := c.cw.Write(c.row); err != nil {
			return fmt.Errorf("writing CSV record: %w", err)
		}
	}
	c.cw.Flush()
	if err := c.cw.Error(); err != nil {
		return fmt.Errorf("writing CSV record: %w", err)
	}
	return nil
}

// Close flushes the output. It does not close the underlying writer.
func (c *CSVWriter) Close() error {
	if c.closed {
		return nil
	}
	c.closed = true
	c.cw.Flush()
	if err := c.cw.Error(); err != nil {
		return fmt.Errorf("closing CSV file: %w", err)
	}
	return nil
}

// FormatFloat formats v as CSVWriter does.
func FormatFloat(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

func formatCell(col arrow.Array, i int) string {
	if col.IsNull(i) {
		return ""
	}
	switch a := col.(type) {
	case *array.Float64:
		return FormatFloat(a.Value(i))
	case *array.Float32:
		v := float64(a.Value(i))
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return FormatFloat(v)
		}
		return strconv.FormatFloat(v, 'g', -1, 32)
	case *array.Int64:
		return strconv.FormatInt(a.Value(i), 10)
	case *array.Int32:
		return strconv.FormatInt(int64(a.Value(i)), 10)
	case *array.Int16:
		return strconv.FormatInt(int64(a.Value(i)), 10)
	case *array.Int8:
		return strconv.FormatInt(int64(a.Value(i)), 10)
	case *array.Uint64:
		return strconv.FormatUint(a.Value(i), 10)
	case *array.Uint32:
		return strconv.FormatUint(uint64(a.Value(i)), 10)
	case *array.Uint16:
		return strconv.FormatUint(uint64(a.Value(i)), 10)
	case *array.Uint8:
		return strconv.FormatUint(uint64(a.Value(i)), 10)
	case *array.Boolean:
		return strconv.FormatBool(a.Value(i))
	case *array.String:
		return a.Value(i)
	case *array.LargeString:
		return a.Value(i)
	}
	return col.ValueStr(i)
}
