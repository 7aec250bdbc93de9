package dataset

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/batchinfer/batchinfer/internal/storage"
)

// convKind says how a Parquet column becomes one of the four types.
type convKind int

const (
	convNone convKind = iota
	convToFloat64
	convToInt64
	convToString
	convNull // all-null column -> Float64
)

// mapParquetType returns the type a Parquet (Arrow) column is handed out
// as, and how to convert it.
func mapParquetType(t arrow.DataType) (arrow.DataType, convKind, bool) {
	switch t.ID() {
	case arrow.FLOAT64, arrow.INT64, arrow.BOOL, arrow.STRING:
		return t, convNone, true
	case arrow.FLOAT32, arrow.FLOAT16:
		return typeFloat64, convToFloat64, true
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64:
		return typeInt64, convToInt64, true
	case arrow.LARGE_STRING, arrow.TIMESTAMP, arrow.DATE32, arrow.DATE64:
		return typeString, convToString, true
	case arrow.DICTIONARY:
		switch t.(*arrow.DictionaryType).ValueType.ID() {
		case arrow.STRING, arrow.LARGE_STRING:
			return typeString, convToString, true
		}
	case arrow.NULL:
		return typeFloat64, convNull, true
	}
	return nil, 0, false
}

// mapParquetSchema maps a file's Arrow schema to the handed-out one.
func mapParquetSchema(src *arrow.Schema) (*arrow.Schema, []convKind, error) {
	names := make([]string, src.NumFields())
	types := make([]arrow.DataType, src.NumFields())
	convs := make([]convKind, src.NumFields())
	seen := map[string]bool{}
	for i, f := range src.Fields() {
		t, c, ok := mapParquetType(f.Type)
		if !ok {
			return nil, nil, fmt.Errorf("column %q has type %s: %w", f.Name, f.Type, ErrUnsupportedFormat)
		}
		if seen[f.Name] {
			return nil, nil, fmt.Errorf("duplicate column name %q: %w", f.Name, ErrUnsupportedFormat)
		}
		seen[f.Name] = true
		names[i], types[i], convs[i] = f.Name, t, c
	}
	return newSchema(names, types), convs, nil
}

// parquetReader streams a Parquet file batch by batch, never the whole file
// at once. Remote files are first downloaded to a temporary file, removed on
// close (OpenShard reads them through ranged reads instead).
//
// Row groups whose columns are small (see columnWiseMaxBytes) are read one
// column chunk at a time into whole-row-group arrays, which records then
// slice (cols); others are decoded BatchRows rows at a time, every column
// at once (rr). The records are the same either way: BatchRows rows each,
// across row-group boundaries, the last one shorter.
type parquetReader struct {
	uri    string
	f      *os.File
	tmp    string
	ra     io.Closer // a ranged reader (OpenShard), closed on close
	pf     *file.Reader
	src    *watchedReaderAt // pf's bytes
	rr     pqarrow.RecordReader
	cols   *columnWise // instead of rr
	schema *arrow.Schema
	convs  []convKind
	mem    memory.Allocator
	// rows is the number of rows rr reads, pos how many it has handed out
	// or skipped.
	rows, pos int64
}

func openParquet(ctx context.Context, uri string, opts Options) (_ fileReader, err error) {
	if storage.Scheme(uri) == "s3" {
		// Ranged GETs: the footer, then only the column chunks read.
		return openParquetRanged(ctx, uri, nil, opts)
	}
	r := &parquetReader{uri: displayName(uri), mem: opts.Alloc}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("reading Parquet metadata: %w: %v", ErrMalformed, p)
		}
		if err != nil {
			r.close()
		}
	}()
	kind, p, err := splitURI(uri)
	if err != nil {
		return nil, err
	}
	if kind == local {
		r.f, err = os.Open(p)
		if errors.Is(err, os.ErrNotExist) {
			return nil, ErrNotFound
		}
		if err != nil {
			return nil, err
		}
	} else if err := r.download(ctx, uri, opts); err != nil {
		return nil, err
	}
	if err := r.openFooter(); err != nil {
		return nil, err
	}
	if err := r.start(ctx, nil, opts); err != nil {
		return nil, err
	}
	return r, nil
}

// start reads the schema from r.pf and starts a record reader over
// rowGroups (nil: all of them).
func (r *parquetReader) start(ctx context.Context, rowGroups []int, opts Options) error {
	fr, err := newArrowFileReader(r.pf, pqarrow.ArrowReadProperties{BatchSize: int64(opts.BatchRows)}, opts.Alloc)
	if err != nil {
		return fmt.Errorf("reading Parquet schema: %w: %w", ErrMalformed, err)
	}
	src, err := fr.Schema()
	if err != nil {
		return fmt.Errorf("reading Parquet schema: %w: %w", ErrMalformed, err)
	}
	if r.schema, r.convs, err = mapParquetSchema(src); err != nil {
		return err
	}
	if src.NumFields() == 0 {
		return fmt.Errorf("the Parquet file has no columns: %w", ErrEmpty)
	}
	md := r.pf.MetaData()
	for _, g := range rowGroups {
		if g < 0 || g >= r.pf.NumRowGroups() {
			return fmt.Errorf("row group %d of a file with %d: %w", g, r.pf.NumRowGroups(), ErrMalformed)
		}
		r.rows += md.RowGroup(g).NumRows()
	}
	if rowGroups == nil {
		r.rows = r.pf.NumRows()
	}
	if cw := newColumnWise(ctx, fr, src, rowGroups, opts); cw != nil {
		r.cols = cw
		return nil
	}
	r.rr, err = fr.GetRecordReader(ctx, nil, rowGroups)
	if err != nil {
		return fmt.Errorf("reading Parquet file: %w: %w", ErrMalformed, err)
	}
	return nil
}

// skip discards up to n rows, seeking (by page where the file has an
// offset index) rather than decoding them.
func (r *parquetReader) skip(n int64) (_ int64, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("seeking in Parquet data: %w: %v", ErrMalformed, p)
		}
	}()
	k := min(n, r.rows-r.pos)
	if k <= 0 {
		return 0, nil
	}
	if r.pos+k == r.rows {
		r.pos = r.rows // at the end: next reports io.EOF
		return k, nil
	}
	if r.cols != nil {
		r.cols.seek(r.pos + k)
		r.pos += k
		return k, nil
	}
	if err := r.rr.SeekToRow(r.pos + k); err != nil {
		return 0, fmt.Errorf("seeking to row %d: %w", r.pos+k, err)
	}
	r.pos += k
	return k, nil
}

func (r *parquetReader) openFooter() error {
	fi, err := r.f.Stat()
	if err != nil {
		return err
	}
	if fi.Size() == 0 {
		return fmt.Errorf("file is empty (0 bytes): %w", ErrEmpty)
	}
	r.src = &watchedReaderAt{src: r.f}
	r.pf, err = file.NewParquetReader(r.src, file.WithReadProps(readProps(r.mem)))
	if err != nil {
		return r.src.decodeErr("reading Parquet footer", err)
	}
	return nil
}

// download copies a remote file to a temporary file.
func (r *parquetReader) download(ctx context.Context, uri string, opts Options) error {
	body, err := openRaw(ctx, uri, opts.HTTPClient)
	if err != nil {
		return err
	}
	defer body.Close()
	r.f, err = os.CreateTemp("", "batchinfer-dataset-*.parquet")
	if err != nil {
		return fmt.Errorf("creating temporary file: %w", err)
	}
	r.tmp = r.f.Name()
	if _, err := io.Copy(r.f, body); err != nil {
		return fmt.Errorf("downloading: %w", err)
	}
	return nil
}

// parquetSchema reads the handed-out schema of a local Parquet file from
// its footer.
func parquetSchema(uri string) (_ *arrow.Schema, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("reading Parquet metadata: %w: %v", ErrMalformed, p)
		}
	}()
	_, p, err := splitURI(uri)
	if err != nil {
		return nil, err
	}
	r := &parquetReader{}
	if r.f, err = os.Open(p); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, ErrNotFound
		}
		return nil, err
	}
	defer r.close()
	if err := r.openFooter(); err != nil {
		return nil, err
	}
	fr, err := newArrowFileReader(r.pf, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		return nil, fmt.Errorf("reading Parquet schema: %w: %w", ErrMalformed, err)
	}
	src, err := fr.Schema()
	if err != nil {
		return nil, fmt.Errorf("reading Parquet schema: %w: %w", ErrMalformed, err)
	}
	s, _, err := mapParquetSchema(src)
	return s, err
}

func (r *parquetReader) Schema() *arrow.Schema { return r.schema }

func (r *parquetReader) next() (_ arrow.RecordBatch, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("decoding Parquet data: %w: %v", ErrMalformed, p)
		}
	}()
	if r.pos >= r.rows {
		return nil, io.EOF
	}
	if r.cols != nil {
		return r.nextColumnWise()
	}
	rec, err := r.rr.Read()
	if err != nil {
		if err == io.EOF {
			return nil, io.EOF
		}
		return nil, r.src.decodeErr("decoding Parquet data", err)
	}
	if rec == nil {
		return nil, io.EOF
	}
	for i, col := range rec.Columns() {
		if int64(col.Len()) != rec.NumRows() {
			return nil, fmt.Errorf("decoding Parquet data: column %q has %d values in a batch of %d rows: %w", rec.Schema().Field(i).Name, col.Len(), rec.NumRows(), ErrMalformed)
		}
	}
	// rec belongs to r.rr (released at the next Read); build our own.
	cols := make([]arrow.Array, rec.NumCols())
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	for i := range cols {
		c, err := convertColumn(rec.Column(i), r.convs[i], r.mem)
		if err != nil {
			return nil, fmt.Errorf("column %q: %w", r.schema.Field(i).Name, err)
		}
		cols[i] = c
	}
	r.pos += rec.NumRows()
	return array.NewRecordBatch(r.schema, cols, rec.NumRows()), nil
}

func (r *parquetReader) close() error {
	var errs []error
	if r.rr != nil {
		r.rr.Release()
		r.rr = nil
	}
	if r.cols != nil {
		r.cols.release()
		r.cols = nil
	}
	if r.ra != nil {
		if err := r.ra.Close(); err != nil {
			errs = append(errs, err)
		}
		r.ra, r.pf = nil, nil
	}
	if r.f != nil {
		if err := r.f.Close(); err != nil {
			errs = append(errs, err)
		}
		r.f, r.pf = nil, nil
	}
	if r.tmp != "" {
		if err := os.Remove(r.tmp); err != nil {
			errs = append(errs, err)
		}
		r.tmp = ""
	}
	return errors.Join(errs...)
}

// columnWiseMaxBytes bounds the decoded size of one column chunk (of every
// row group of a file or shard) for column-at-a-time reading: 2 MiB, about
// what reading batch by batch holds per column anyway (a 1 MiB read buffer,
// the current page, compressed and decompressed, and a dictionary). Reading
// a column chunk whole drops its pages as soon as it is decoded, so a shard
// holds one row group of decoded values instead of every column's pages:
// 28 float32 columns in row groups of 131,072 rows take 14 MiB, against
// about 70 MiB batch by batch (measured). A variable so that tests can
// compare both ways of reading.
var columnWiseMaxBytes int64 = 2 << 20

// columnWise reads row groups one column chunk at a time and hands out
// slices of them.
type columnWise struct {
	ctx    context.Context
	fr     *pqarrow.FileReader
	groups []int   // row groups to read, in order
	starts []int64 // row of groups[i] among them
	batch  int64
	next   int              // index in groups of the next row group to load
	cur    []*arrow.Chunked // columns of the loaded row group (nil: none)
	off    int64            // rows of cur already handed out
}

// newColumnWise returns a column-at-a-time reader of rowGroups (nil: all),
// or nil when a column is not of fixed width or a column chunk would decode
// to more than columnWiseMaxBytes.
func newColumnWise(ctx context.Context, fr *pqarrow.FileReader, src *arrow.Schema, rowGroups []int, opts Options) *columnWise {
	width := 0 // widest column, in bits
	for _, f := range src.Fields() {
		fw, ok := f.Type.(arrow.FixedWidthDataType)
		if !ok || f.Type.ID() == arrow.DICTIONARY || f.Type.ID() == arrow.EXTENSION {
			return nil
		}
		width = max(width, fw.BitWidth()+1) // + validity bit
	}
	pf := fr.ParquetReader()
	if rowGroups == nil {
		rowGroups = make([]int, pf.NumRowGroups())
		for i := range rowGroups {
			rowGroups[i] = i
		}
	}
	c := &columnWise{ctx: ctx, fr: fr, groups: rowGroups, starts: make([]int64, len(rowGroups)), batch: int64(opts.BatchRows)}
	var row int64
	for i, g := range rowGroups {
		n := pf.MetaData().RowGroup(g).NumRows()
		if n*int64(width)/8 > columnWiseMaxBytes {
			return nil
		}
		c.starts[i] = row
		row += n
	}
	return c
}

// load reads the next row group's columns.
func (c *columnWise) load() error {
	c.release()
	if c.next >= len(c.groups) {
		return io.ErrUnexpectedEOF
	}
	g := c.groups[c.next]
	c.next++
	rows := c.fr.ParquetReader().MetaData().RowGroup(g).NumRows()
	n := len(c.fr.Manifest.Fields)
	cols := make([]*arrow.Chunked, 0, n)
	defer func() {
		for _, ch := range cols {
			ch.Release()
		}
	}()
	for j := range n {
		ch, err := c.readChunk(j, g, rows)
		if err != nil {
			return fmt.Errorf("row group %d, column %d: %w", g, j, err)
		}
		cols = append(cols, ch)
		if int64(ch.Len()) != rows {
			return fmt.Errorf("row group %d, column %d: %d values for %d rows: %w", g, j, ch.Len(), rows, ErrMalformed)
		}
	}
	c.cur, cols = cols, nil
	return nil
}

// readChunk decodes column j (a leaf: the schema is flat) of row group g,
// which has rows rows. It reads rows-1 rows, then the last one: the reader
// reserves its values buffer for the power of two above the count, which
// for a power-of-two row group (the common case) would be twice the data.
func (c *columnWise) readChunk(j, g int, rows int64) (*arrow.Chunked, error) {
	cr, err := c.fr.GetFieldReader(c.ctx, j, map[int]bool{j: true}, []int{g})
	if err != nil {
		return nil, err
	}
	defer cr.Release()
	if rows <= 1 {
		return cr.NextBatch(rows)
	}
	head, err := cr.NextBatch(rows - 1)
	if err != nil {
		return nil, err
	}
	defer head.Release()
	last, err := cr.NextBatch(1)
	if err != nil {
		return nil, err
	}
	defer last.Release()
	return arrow.NewChunked(head.DataType(), append(slices.Clone(head.Chunks()), last.Chunks()...)), nil
}

// seek makes row (counted over c.groups) the next one handed out.
func (c *columnWise) seek(row int64) {
	c.release()
	i := len(c.starts) - 1
	for i > 0 && c.starts[i] > row {
		i--
	}
	c.next = i
	c.off = row - c.starts[i] // applied by take after loading
}

// take returns, per column, the arrays of the next n rows (or fewer, at the
// end of the loaded row group; 0 rows when it is used up).
func (c *columnWise) take(n int64) ([][]arrow.Array, int64) {
	if c.cur == nil {
		return nil, 0
	}
	k := min(n, int64(c.cur[0].Len())-c.off)
	if k <= 0 {
		return nil, 0
	}
	out := make([][]arrow.Array, len(c.cur))
	for j, ch := range c.cur {
		sl := array.NewChunkedSlice(ch, c.off, c.off+k)
		for _, a := range sl.Chunks() {
			if a.Len() > 0 {
				a.Retain()
				out[j] = append(out[j], a)
			}
		}
		sl.Release()
	}
	c.off += k
	return out, k
}

func (c *columnWise) release() {
	for _, ch := range c.cur {
		ch.Release()
	}
	c.cur = nil
}

// nextColumnWise builds the next record from whole-row-group columns,
// spanning row groups as the batch-by-batch reader does.
func (r *parquetReader) nextColumnWise() (arrow.RecordBatch, error) {
	c := r.cols
	want := min(c.batch, r.rows-r.pos)
	parts := make([][]arrow.Array, len(r.convs))
	defer func() {
		for _, p := range parts {
			for _, a := range p {
				a.Release()
			}
		}
	}()
	var got int64
	for got < want {
		arrs, k := c.take(want - got)
		if k == 0 {
			off := c.off
			if c.cur != nil {
				off = 0 // the loaded row group is used up
			}
			if err := c.load(); err != nil {
				return nil, r.src.decodeErr("decoding Parquet data", err)
			}
			c.off = off
			continue
		}
		for j, a := range arrs {
			parts[j] = append(parts[j], a...)
		}
		got += k
	}
	cols := make([]arrow.Array, len(parts))
	defer func() {
		for _, a := range cols {
			if a != nil {
				a.Release()
			}
		}
	}()
	for j, p := range parts {
		src := p[0]
		if len(p) > 1 {
			var err error
			if src, err = array.Concatenate(p, r.mem); err != nil {
				return nil, fmt.Errorf("column %q: %w", r.schema.Field(j).Name, err)
			}
			defer src.Release()
		}
		a, err := convertColumn(src, r.convs[j], r.mem)
		if err != nil {
			return nil, fmt.Errorf("column %q: %w", r.schema.Field(j).Name, err)
		}
		cols[j] = a
	}
	r.pos += got
	return array.NewRecordBatch(r.schema, cols, got), nil
}

// convertColumn returns a new reference to col converted as c says.
func convertColumn(col arrow.Array, c convKind, mem memory.Allocator) (arrow.Array, error) {
	n := col.Len()
	switch c {
	case convNone:
		col.Retain()
		return col, nil
	case convNull:
		b := array.NewFloat64Builder(mem)
		defer b.Release()
		b.AppendNulls(n)
		return b.NewArray(), nil
	case convToFloat64:
		b := array.NewFloat64Builder(mem)
		defer b.Release()
		b.Resize(n) // exactly n: Reserve would round up to the next power of two
		for i := 0; i < n; i++ {
			if col.IsNull(i) {
				b.UnsafeAppendBoolToBitmap(false)
				continue
			}
			switch a := col.(type) {
			case *array.Float32:
				b.UnsafeAppend(float64(a.Value(i)))
			case *array.Float16:
				b.UnsafeAppend(float64(a.Value(i).Float32()))
			}
		}
		return b.NewArray(), nil
	case convToInt64:
		b := array.NewInt64Builder(mem)
		defer b.Release()
		b.Resize(n)
		for i := 0; i < n; i++ {
			if col.IsNull(i) {
				b.UnsafeAppendBoolToBitmap(false)
				continue
			}
			var v int64
			switch a := col.(type) {
			case *array.Int8:
				v = int64(a.Value(i))
			case *array.Int16:
				v = int64(a.Value(i))
			case *array.Int32:
				v = int64(a.Value(i))
			case *array.Uint8:
				v = int64(a.Value(i))
			case *array.Uint16:
				v = int64(a.Value(i))
			case *array.Uint32:
				v = int64(a.Value(i))
			case *array.Uint64:
				u := a.Value(i)
				if u > math.MaxInt64 {
					return nil, fmt.Errorf("uint64 value %d does not fit in int64: %w", u, ErrUnsupportedFormat)
				}
				v = int64(u)
			}
			b.UnsafeAppend(v)
		}
		return b.NewArray(), nil
	case convToString:
		b := array.NewStringBuilder(mem)
		defer b.Release()
		b.Reserve(n)
		for i := 0; i < n; i++ {
			if col.IsNull(i) {
				b.AppendNull()
				continue
			}
			s, ok, err := stringValue(col, i)
			if err != nil {
				return nil, err
			}
			if !ok {
				b.AppendNull()
				continue
			}
			b.Append(s)
		}
		return b.NewArray(), nil
	}
	return nil, fmt.Errorf("internal: conversion %d", c)
}

// stringValue formats element i (not null) of col; ok is false when the
// value is null after all (a null dictionary entry).
func stringValue(col arrow.Array, i int) (string, bool, error) {
	switch a := col.(type) {
	case *array.LargeString:
		return a.Value(i), true, nil
	case *array.String:
		return a.Value(i), true, nil
	case *array.Timestamp:
		unit := a.DataType().(*arrow.TimestampType).Unit
		return a.Value(i).ToTime(unit).UTC().Format(time.RFC3339Nano), true, nil
	case *array.Date32:
		return a.Value(i).ToTime().UTC().Format(time.DateOnly), true, nil
	case *array.Date64:
		return a.Value(i).ToTime().UTC().Format(time.DateOnly), true, nil
	case *array.Dictionary:
		j := a.GetValueIndex(i)
		if a.Dictionary().IsNull(j) {
			return "", false, nil
		}
		return stringValue(a.Dictionary(), j)
	}
	return "", false, fmt.Errorf("type %s: %w", col.DataType(), ErrUnsupportedFormat)
}

// readProps streams column chunks through a 1 MiB buffer instead of reading
// each whole chunk into memory (a row group of 1M float rows is 8 MiB per
// column): memory per open file stays small whatever the row group size.
func readProps(mem memory.Allocator) *parquet.ReaderProperties {
	p := parquet.NewReaderProperties(mem)
	p.BufferedStreamEnabled = true
	p.BufferSize = 1 << 20
	return p
}
