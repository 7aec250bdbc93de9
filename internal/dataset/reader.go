package dataset

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// DefaultBatchRows is the default Options.BatchRows.
const DefaultBatchRows = 65536

// Options configure Open and OpenAll. The zero value is ready to use.
type Options struct {
	// BatchRows is the number of rows per record (the last record of a file
	// may be shorter); CSV and JSON Lines infer column types from the first
	// BatchRows rows. Default DefaultBatchRows (65536).
	BatchRows int
	// Alloc allocates the records' buffers. Default memory.DefaultAllocator.
	Alloc memory.Allocator
	// HTTPClient fetches http(s) URLs. Default http.DefaultClient.
	HTTPClient *http.Client
	// NumericColumns names columns that must be numeric (a model's
	// features): CSV and JSON Lines read them as Float64 even when the first
	// batch holds text, so that a bad value is reported as a *ParseError
	// with its file, line and column instead of turning the column into
	// strings. Boolean columns stay Boolean.
	NumericColumns []string
}

// numeric reports whether name is one of o.NumericColumns.
func (o Options) numeric(name string) bool {
	for _, n := range o.NumericColumns {
		if n == name {
			return true
		}
	}
	return false
}

func (o Options) withDefaults() Options {
	if o.BatchRows <= 0 {
		o.BatchRows = DefaultBatchRows
	}
	if o.Alloc == nil {
		o.Alloc = memory.DefaultAllocator
	}
	if o.HTTPClient == nil {
		o.HTTPClient = http.DefaultClient
	}
	return o
}

// Reader streams the records of one file or of several files as one.
//
// Every column is Float64, Int64, Boolean or String (utf8) and nullable.
// A Reader is not safe for concurrent use.
type Reader interface {
	// Schema is the schema of every record.
	Schema() *arrow.Schema
	// Next returns the next record, or io.EOF after the last one. The
	// record is valid until the next call to Next or Close, which release
	// it; a caller that keeps it longer must Retain it (and later Release).
	// Records have at least one row.
	Next() (arrow.RecordBatch, error)
	// Close releases the current record and every resource the reader
	// holds (open files, HTTP bodies, temporary files). It is safe to call
	// more than once.
	Close() error
}

// fileReader is what each format implements. next returns a record the
// caller owns (and must Release), or io.EOF.
type fileReader interface {
	Schema() *arrow.Schema
	next() (arrow.RecordBatch, error)
	close() error
}

// Open opens one file. The context governs the whole life of the reader:
// cancelling it aborts HTTP transfers and makes Next fail.
//
// Column types: CSV columns are Float64 (every non-missing value parses as
// a number, integers included), Boolean (every value is true or false,
// any case) or String, inferred from the first BatchRows rows; JSON Lines
// columns likewise from JSON numbers, booleans and strings; Parquet columns
// keep their type when it is one of the four, float16/float32 become
// Float64, signed and unsigned integers Int64, dictionary-encoded and large
// strings String, timestamps String in RFC 3339 (UTC) and dates String as
// YYYY-MM-DD; a column of only nulls becomes Float64. Other Parquet types
// (binary, decimal, nested, ...) give ErrUnsupportedFormat naming the
// column.
//
// In CSV files the texts listed by MissingValues (empty, "NA", "nan",
// "null", "None", ...) are null in every column.
//
// Errors at open: ErrNotFound, ErrEmpty (zero-byte file, CSV without a
// header, JSON Lines without a line), ErrUnsupportedFormat, ErrMalformed or
// *ParseError (within the first batch), *StatusError.
func Open(ctx context.Context, f File, opts Options) (Reader, error) {
	opts = opts.withDefaults()
	fr, err := openFile(ctx, f, opts, nil)
	if err != nil {
		return nil, err
	}
	return &stream{ctx: ctx, uri: displayName(f.URI), fr: fr}, nil
}

func openFile(ctx context.Context, f File, opts Options, hint *arrow.Schema) (fileReader, error) {
	name := displayName(f.URI)
	var (
		fr  fileReader
		err error
	)
	switch f.Format {
	case CSV:
		fr, err = openCSV(ctx, f.URI, opts, hint)
	case JSONL:
		fr, err = openJSONL(ctx, f.URI, opts, hint)
	case Parquet:
		fr, err = openParquet(ctx, f.URI, opts)
	default:
		err = fmt.Errorf("format %q: %w", f.Format, ErrUnsupportedFormat)
	}
	if err != nil {
		var pe *ParseError
		if errors.As(err, &pe) {
			return nil, err // already names the file
		}
		return nil, fmt.Errorf("opening %s: %w", name, err)
	}
	return fr, nil
}

// stream adapts a fileReader to Reader, owning the current record.
type stream struct {
	ctx    context.Context
	uri    string
	fr     fileReader
	cur    arrow.RecordBatch
	head   arrow.RecordBatch // rest of a record cut by skipRows, handed out next
	done   bool
	closed bool
}

func (s *stream) Schema() *arrow.Schema { return s.fr.Schema() }

func (s *stream) Next() (arrow.RecordBatch, error) {
	s.release()
	if s.closed {
		return nil, fmt.Errorf("reading %s: reader is closed", s.uri)
	}
	if s.done {
		return nil, io.EOF
	}
	if err := s.ctx.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", s.uri, err)
	}
	if s.head != nil {
		s.cur, s.head = s.head, nil
		return s.cur, nil
	}
	for {
		rec, err := s.fr.next()
		if err == io.EOF {
			s.done = true
			return nil, io.EOF
		}
		if err != nil {
			return nil, wrapRead(s.uri, err)
		}
		if rec.NumRows() == 0 {
			rec.Release()
			continue
		}
		s.cur = rec
		return rec, nil
	}
}

func wrapRead(uri string, err error) error {
	var pe *ParseError
	if errors.As(err, &pe) {
		return err
	}
	return fmt.Errorf("reading %s: %w", uri, err)
}

func (s *stream) release() {
	if s.cur != nil {
		s.cur.Release()
		s.cur = nil
	}
}

func (s *stream) Close() error {
	s.release()
	if s.head != nil {
		s.head.Release()
		s.head = nil
	}
	if s.closed {
		return nil
	}
	s.closed = true
	if err := s.fr.close(); err != nil {
		return fmt.Errorf("closing %s: %w", s.uri, err)
	}
	return nil
}

// Field types handed out.
var (
	typeFloat64 = arrow.PrimitiveTypes.Float64
	typeInt64   = arrow.PrimitiveTypes.Int64
	typeBool    = arrow.FixedWidthTypes.Boolean
	typeString  = arrow.BinaryTypes.String
)

func newSchema(names []string, types []arrow.DataType) *arrow.Schema {
	fields := make([]arrow.Field, len(names))
	for i := range names {
		fields[i] = arrow.Field{Name: names[i], Type: types[i], Nullable: true}
	}
	return arrow.NewSchema(fields, nil)
}

// OpenAll opens several files as one stream, read one file at a time in
// order. All files must have the same column names in the same order;
// otherwise, when the offending file is reached, Next (or OpenAll, for
// files whose schema it reads up front) returns an error wrapping
// ErrSchemaMismatch that names the file and the first differing column.
//
// The stream's schema is fixed before the first record: it is that of the
// first file, except that an Int64 column becomes Float64 when another
// file has it as Float64 or when another file's types are not known up
// front (any file that is not a local Parquet file, whose footer OpenAll
// reads). CSV and JSON Lines files after the first are parsed with the
// stream's types rather than inferring their own (so a String column stays
// String, "007" included, and a non-number in a Float64 column is a
// *ParseError); Parquet files after the first are converted where the
// conversion is lossless-enough (Int64 -> Float64) and otherwise give
// ErrSchemaMismatch. In JSON Lines files object key order does not matter.
func OpenAll(ctx context.Context, files []File, opts Options) (Reader, error) {
	if len(files) == 0 {
		return nil, fmt.Errorf("opening dataset: no files: %w", ErrEmpty)
	}
	if len(files) == 1 {
		return Open(ctx, files[0], opts)
	}
	opts = opts.withDefaults()
	first, err := openFile(ctx, files[0], opts, nil)
	if err != nil {
		return nil, err
	}
	schema := first.Schema()
	// Find Int64 columns to widen.
	widen := make([]bool, schema.NumFields())
	anyInt := false
	for _, f := range schema.Fields() {
		anyInt = anyInt || f.Type.ID() == arrow.INT64
	}
	if anyInt {
		for _, f := range files[1:] {
			if kind, _, _ := splitURI(f.URI); f.Format != Parquet || kind != local {
				for i, fld := range schema.Fields() {
					widen[i] = widen[i] || fld.Type.ID() == arrow.INT64
				}
				break
			}
			other, err := parquetSchema(f.URI)
			if err != nil {
				first.close()
				return nil, fmt.Errorf("opening %s: %w", f.URI, err)
			}
			if err := checkNames(files[0].URI, schema, f.URI, other); err != nil {
				first.close()
				return nil, err
			}
			for i, fld := range schema.Fields() {
				if fld.Type.ID() == arrow.INT64 && other.Field(i).Type.ID() == arrow.FLOAT64 {
					widen[i] = true
				}
			}
		}
	}
	types := make([]arrow.DataType, schema.NumFields())
	names := make([]string, schema.NumFields())
	for i, f := range schema.Fields() {
		names[i], types[i] = f.Name, f.Type
		if widen[i] {
			types[i] = typeFloat64
		}
	}
	target := newSchema(names, types)
	m := &multi{ctx: ctx, files: files, opts: opts, schema: target}
	cur, err := conform(first, files[0].URI, files[0].URI, target, opts.Alloc)
	if err != nil {
		first.close()
		return nil, err
	}
	m.cur = cur
	return m, nil
}

// multi reads files one after another under one schema.
type multi struct {
	ctx    context.Context
	files  []File
	opts   Options
	schema *arrow.Schema
	idx    int        // index of the file cur reads
	cur    fileReader // nil between files
	rec    arrow.RecordBatch
	head   arrow.RecordBatch // rest of a record cut by skipRows, handed out next
	done   bool
	closed bool
}

func (m *multi) Schema() *arrow.Schema { return m.schema }

func (m *multi) Next() (arrow.RecordBatch, error) {
	if m.rec != nil {
		m.rec.Release()
		m.rec = nil
	}
	if m.closed {
		return nil, errors.New("reading dataset: reader is closed")
	}
	if m.head != nil {
		m.rec, m.head = m.head, nil
		return m.rec, nil
	}
	for !m.done {
		name := displayName(m.files[m.idx].URI)
		if err := m.ctx.Err(); err != nil {
			return nil, fmt.Errorf("reading %s: %w", name, err)
		}
		if m.cur == nil {
			f := m.files[m.idx]
			fr, err := openFile(m.ctx, f, m.opts, m.schema)
			if err != nil {
				return nil, err
			}
			c, err := conform(fr, m.files[0].URI, f.URI, m.schema, m.opts.Alloc)
			if err != nil {
				fr.close()
				return nil, err
			}
			m.cur = c
		}
		rec, err := m.cur.next()
		if err == io.EOF {
			cerr := m.cur.close()
			m.cur = nil
			if cerr != nil {
				return nil, fmt.Errorf("closing %s: %w", name, cerr)
			}
			m.idx++
			if m.idx == len(m.files) {
				m.done = true
			}
			continue
		}
		if err != nil {
			return nil, wrapRead(name, err)
		}
		if rec.NumRows() == 0 {
			rec.Release()
			continue
		}
		m.rec = rec
		return rec, nil
	}
	return nil, io.EOF
}

func (m *multi) Close() error {
	if m.rec != nil {
		m.rec.Release()
		m.rec = nil
	}
	if m.head != nil {
		m.head.Release()
		m.head = nil
	}
	if m.closed {
		return nil
	}
	m.closed = true
	if m.cur != nil {
		name := displayName(m.files[m.idx].URI)
		err := m.cur.close()
		m.cur = nil
		if err != nil {
			return fmt.Errorf("closing %s: %w", name, err)
		}
	}
	return nil
}

// checkNames compares column names of file uri (schema got) with those of
// the stream (schema want, from file firstURI).
func checkNames(firstURI string, want *arrow.Schema, uri string, got *arrow.Schema) error {
	wn, gn := want.NumFields(), got.NumFields()
	for i := 0; i < min(wn, gn); i++ {
		if w, g := want.Field(i).Name, got.Field(i).Name; w != g {
			return fmt.Errorf("%w: %s: column %d is %q, but in %s it is %q",
				ErrSchemaMismatch, displayName(uri), i+1, g, displayName(firstURI), w)
		}
	}
	switch {
	case gn > wn:
		return fmt.Errorf("%w: %s: extra column %d %q, not in %s",
			ErrSchemaMismatch, displayName(uri), wn+1, got.Field(wn).Name, displayName(firstURI))
	case gn < wn:
		return fmt.Errorf("%w: %s: missing column %d %q, which %s has",
			ErrSchemaMismatch, displayName(uri), gn+1, want.Field(gn).Name, displayName(firstURI))
	}
	return nil
}

// conform checks fr's column names against target and, if some column
// types differ, wraps fr in a converter. Only Int64 -> Float64 converts.
func conform(fr fileReader, firstURI, uri string, target *arrow.Schema, mem memory.Allocator) (fileReader, error) {
	got := fr.Schema()
	if err := checkNames(firstURI, target, uri, got); err != nil {
		return nil, err
	}
	conv := make([]bool, target.NumFields())
	need := false
	for i, f := range target.Fields() {
		g := got.Field(i).Type
		if arrow.TypeEqual(f.Type, g) {
			continue
		}
		if f.Type.ID() == arrow.FLOAT64 && g.ID() == arrow.INT64 {
			conv[i], need = true, true
			continue
		}
		return nil, fmt.Errorf("%w: %s: column %q is %s, but in %s it is %s",
			ErrSchemaMismatch, displayName(uri), f.Name, g, displayName(firstURI), f.Type)
	}
	if !need {
		return fr, nil
	}
	return &converter{fileReader: fr, schema: target, conv: conv, mem: mem}, nil
}

type converter struct {
	fileReader
	schema *arrow.Schema
	conv   []bool
	mem    memory.Allocator
}

func (c *converter) Schema() *arrow.Schema { return c.schema }

// skip forwards to the converted reader's skip, if it has one.
func (c *converter) skip(n int64) (int64, error) { return skipFile(c.fileReader, n) }

func (c *converter) next() (arrow.RecordBatch, error) {
	rec, err := c.fileReader.next()
	if err != nil {
		return nil, err
	}
	defer rec.Release()
	cols := make([]arrow.Array, rec.NumCols())
	defer func() {
		for _, a := range cols {
			if a != nil {
				a.Release()
			}
		}
	}()
	for i := range cols {
		col := rec.Column(i)
		if !c.conv[i] {
			col.Retain()
			cols[i] = col
			continue
		}
		cols[i] = int64ToFloat64(col.(*array.Int64), c.mem)
	}
	return array.NewRecordBatch(c.schema, cols, rec.NumRows()), nil
}

func int64ToFloat64(a *array.Int64, mem memory.Allocator) arrow.Array {
	b := array.NewFloat64Builder(mem)
	defer b.Release()
	b.Resize(a.Len()) // exactly: Reserve would round up to the next power of two
	for i := 0; i < a.Len(); i++ {
		if a.IsNull(i) {
			b.UnsafeAppendBoolToBitmap(false)
		} else {
			b.UnsafeAppend(float64(a.Value(i)))
		}
	}
	return b.NewArray()
}

// hintedSchema is the schema a text file read under the stream schema hint
// has: hint itself when the names match, else the file's own names (with
// String types) so that conform reports the difference.
func hintedSchema(hint *arrow.Schema, names []string) *arrow.Schema {
	same := hint.NumFields() == len(names)
	for i := 0; same && i < len(names); i++ {
		same = hint.Field(i).Name == names[i]
	}
	if same {
		return hint
	}
	types := make([]arrow.DataType, len(names))
	for i := range types {
		types[i] = typeString
	}
	return newSchema(names, types)
}

// resetBuilders discards whatever a record builder holds, even when its
// fields have different lengths (a row failed half-way).
func resetBuilders(rb *array.RecordBuilder) {
	for _, f := range rb.Fields() {
		f.NewArray().Release()
	}
}

// dropPending discards up to n records buffered during type inference (and
// their line numbers) and returns how many it discarded.
func dropPending[T any](pending *[]T, lines *[]int, n int64) int64 {
	k := int(min(n, int64(len(*pending))))
	*pending, *lines = (*pending)[k:], (*lines)[k:]
	if len(*pending) == 0 {
		*pending, *lines = nil, nil
	}
	return int64(k)
}
