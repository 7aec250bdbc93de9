package dataset

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
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

// parquetReader streams a Parquet file batch by batch (row group data is
// decoded BatchRows rows at a time, never the whole file at once). Remote
// files are first downloaded to a temporary file, removed on close.
type parquetReader struct {
	uri    string
	f      *os.File
	tmp    string
	ra     io.Closer // a ranged reader (OpenShard), closed on close
	pf     *file.Reader
	rr     pqarrow.RecordReader
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
	fr, err := pqarrow.NewFileReader(r.pf, pqarrow.ArrowReadProperties{BatchSize: int64(opts.BatchRows)}, opts.Alloc)
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
		return fmt.Errorf("Parquet file has no columns: %w", ErrEmpty)
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
	r.pf, err = file.NewParquetReader(r.f, file.WithReadProps(readProps(r.mem)))
	if err != nil {
		return fmt.Errorf("reading Parquet footer: %w: %w", ErrMalformed, err)
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
	fr, err := pqarrow.NewFileReader(r.pf, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
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
	rec, err := r.rr.Read()
	if err != nil {
		if err == io.EOF {
			return nil, io.EOF
		}
		return nil, fmt.Errorf("decoding Parquet data: %w", err)
	}
	if rec == nil {
		return nil, io.EOF
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
		b.Reserve(n)
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
		b.Reserve(n)
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
