package dataset

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/batchinfer/batchinfer/internal/storage"
)

// Default shard sizes (ShardOptions).
const (
	// DefaultShardRows is the default ShardOptions.Rows: 1,048,576 rows,
	// the row-group size ParquetWriter writes.
	DefaultShardRows = 1 << 20
	// DefaultShardBytes is the default ShardOptions.Bytes: 64 MiB, a few
	// seconds of parsing and well under a worker's memory (a shard is
	// streamed BatchRows rows at a time, never held whole).
	DefaultShardBytes = 64 << 20
)

// Shard is one unit of work over part of one file: a run of consecutive
// Parquet row groups, or a byte range of a CSV or JSON Lines file that
// starts at a line start and ends after a line end. It is JSON-serialisable
// (it goes into the shard manifest); fields may be added, never renamed or
// removed.
type Shard struct {
	// Index is the shard's 0-based position in the plan: files in order,
	// then position in the file.
	Index int `json:"index"`
	// File is the file the shard reads.
	File File `json:"file"`
	// RowGroups are the Parquet row groups of the shard, consecutive and
	// ascending. Empty means every row group of the file.
	RowGroups []int `json:"row_groups,omitempty"`
	// Offset is, for CSV and JSON Lines, the first byte of the shard. For
	// CSV it is the first byte of the shard's first record (after the
	// header); for JSON Lines the start of a line (possibly blank). Offset
	// 0 means the file from its start: in CSV, header included, which is how
	// a gzip-compressed file (never split) is read. Parquet shards have 0.
	Offset int64 `json:"offset"`
	// Length is the number of bytes from Offset to the end of the shard's
	// last line, or -1 for "to the end of the file" (a gzip-compressed file,
	// a file whose size is unknown, and Parquet shards).
	Length int64 `json:"length"`
	// Rows is the number of rows when known (Parquet from the metadata;
	// CSV counted by the planner's scan), else -1.
	Rows int64 `json:"rows"`
	// FirstLine is, for CSV and JSON Lines, the 1-based physical line
	// number at Offset (for CSV the line of the first record), so that
	// *ParseError lines are file lines; 0 when unknown (JSON Lines shards
	// after the first, whose planning reads no more than a few bytes around
	// each cut). Quoted newlines in CSV count as lines, as in ParseError.
	FirstLine int `json:"first_line"`
}

// ShardOptions configure PlanShards. The zero value gives the defaults.
// Fields may be added but never renamed or removed.
type ShardOptions struct {
	// Rows is the target number of rows of a Parquet shard: consecutive row
	// groups are grouped while their total stays within Rows; a row group
	// larger than Rows is a shard of its own. Default (<= 0)
	// DefaultShardRows.
	Rows int64
	// Bytes is the target size of a CSV or JSON Lines shard: a shard ends at
	// the first record (line) boundary at or after Offset+Bytes, so every
	// shard but the last of a file has at least Bytes bytes and overshoots
	// by less than one record. Default (<= 0) DefaultShardBytes.
	Bytes int64
}

func (o ShardOptions) withDefaults() ShardOptions {
	if o.Rows <= 0 {
		o.Rows = DefaultShardRows
	}
	if o.Bytes <= 0 {
		o.Bytes = DefaultShardBytes
	}
	return o
}

// PlanShards splits files into shards, in order, without reading the rows
// of Parquet or JSON Lines files:
//
//   - Parquet: only the footer is read (ranged reads for remote files);
//     consecutive row groups are grouped up to opts.Rows rows. Row groups
//     without rows are left out.
//   - JSON Lines: byte ranges cut at newlines (a newline never occurs inside
//     a JSON string), found by reading forward from each cut point (one
//     ranged read of a few KiB per cut, not the whole file). FirstLine is
//     known only for the first shard; Rows is -1.
//   - CSV: a quoted field may contain newlines, so a record boundary cannot
//     be found from the middle of the file without knowing the quote state.
//     The planner streams the whole file once through a quote-aware byte
//     scan (no parsing into fields: it looks for quotes and newlines with
//     bytes.IndexByte, at well over 500 MB/s) that follows encoding/csv's
//     rules (RFC 4180 quoting, "\r\n" line ends, blank lines skipped), and
//     records each shard's first line and row count. Where the file breaks
//     those rules (a bare quote, text after a closing quote, an unclosed
//     quote) it stops cutting: the rest of the file is the last shard, whose
//     reader then reports the same error as reading the whole file.
//
// A file that is gzip-compressed, or a text file whose size is unknown for
// JSON Lines, is one shard (Offset 0, Length -1). A file without records
// (a CSV header-only file, a Parquet file without rows, a 0-byte JSON
// Lines file) contributes no shard, so a dataset may have an empty plan;
// the dataset's schema still comes from OpenAll. A CSV file with no header
// row gives ErrEmpty, as Open does.
//
// Reading the shards of a plan in Index order with OpenShard, under the
// schema of OpenAll(files), gives exactly the records of OpenAll(files).
func PlanShards(ctx context.Context, files []File, opts ShardOptions) ([]Shard, error) {
	opts = opts.withDefaults()
	var out []Shard
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("planning shards of %s: %w", displayName(f.URI), err)
		}
		var (
			ss  []Shard
			err error
		)
		switch f.Format {
		case Parquet:
			ss, err = planParquet(ctx, f, opts.Rows)
		case CSV:
			ss, err = planCSV(ctx, f, opts.Bytes)
		case JSONL:
			ss, err = planJSONL(ctx, f, opts.Bytes)
		default:
			err = fmt.Errorf("format %q: %w", f.Format, ErrUnsupportedFormat)
		}
		if err != nil {
			return nil, fmt.Errorf("planning shards of %s: %w", displayName(f.URI), err)
		}
		for _, s := range ss {
			s.Index = len(out)
			out = append(out, s)
		}
	}
	return out, nil
}

// storageErr maps storage's sentinels to this package's and removes a
// presigned URL's query string from the message.
func storageErr(err error, uri string) error {
	err = redactErr(err, uri, displayName(uri))
	switch {
	case errors.Is(err, storage.ErrNotFound) && !errors.Is(err, ErrNotFound):
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	case errors.Is(err, storage.ErrUnsupportedScheme) && !errors.Is(err, ErrUnsupportedScheme):
		return fmt.Errorf("%w: %w", ErrUnsupportedScheme, err)
	}
	return err
}

func planParquet(ctx context.Context, f File, target int64) (_ []Shard, err error) {
	ra, err := storage.OpenReaderAt(ctx, f.URI)
	if err != nil {
		return nil, storageErr(err, f.URI)
	}
	defer ra.Close()
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("reading Parquet metadata: %w: %v", ErrMalformed, p)
		}
	}()
	if ra.Size() == 0 {
		return nil, fmt.Errorf("file is empty (0 bytes): %w", ErrEmpty)
	}
	if f.Size < 0 {
		f.Size = ra.Size()
	}
	pf, err := file.NewParquetReader(io.NewSectionReader(ra, 0, ra.Size()))
	if err != nil {
		return nil, fmt.Errorf("reading Parquet footer: %w: %w", ErrMalformed, err)
	}
	defer pf.Close()
	// Check the columns now rather than in every shard.
	fr, err := newArrowFileReader(pf, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		return nil, fmt.Errorf("reading Parquet schema: %w: %w", ErrMalformed, err)
	}
	src, err := fr.Schema()
	if err != nil {
		return nil, fmt.Errorf("reading Parquet schema: %w: %w", ErrMalformed, err)
	}
	if _, _, err := mapParquetSchema(src); err != nil {
		return nil, err
	}
	md := pf.MetaData()
	var out []Shard
	for g := 0; g < pf.NumRowGroups(); g++ {
		n := md.RowGroup(g).NumRows()
		if n <= 0 {
			continue
		}
		if k := len(out) - 1; k >= 0 && out[k].Rows+n <= target && out[k].RowGroups[len(out[k].RowGroups)-1] == g-1 {
			out[k].RowGroups = append(out[k].RowGroups, g)
			out[k].Rows += n
			continue
		}
		out = append(out, Shard{File: f, RowGroups: []int{g}, Length: -1, Rows: n})
	}
	return out, nil
}

// probeText returns the size of a text file (-1 when unknown) and whether
// it is gzip-compressed.
func probeText(ctx context.Context, f File) (int64, bool, error) {
	size := f.Size
	if size < 0 {
		info, err := storage.Stat(ctx, f.URI)
		if err != nil {
			return 0, false, storageErr(err, f.URI)
		}
		size = info.Size
	}
	if size == 0 {
		return 0, false, nil
	}
	rc, err := storage.OpenRange(ctx, f.URI, 0, 2)
	if err != nil {
		return 0, false, storageErr(err, f.URI)
	}
	defer rc.Close()
	var head [2]byte
	n, err := io.ReadFull(rc, head[:])
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return 0, false, storageErr(err, f.URI)
	}
	return size, isGzip(head[:n]), nil
}

// planJSONL cuts a JSON Lines file after the first newline at or after
// each target point.
func planJSONL(ctx context.Context, f File, target int64) ([]Shard, error) {
	size, gz, err := probeText(ctx, f)
	if err != nil {
		return nil, err
	}
	if size == 0 {
		return nil, nil
	}
	if f.Size < 0 && size > 0 {
		f.Size = size
	}
	if gz || size < 0 {
		return []Shard{{File: f, Length: -1, Rows: -1, FirstLine: 1}}, nil
	}
	var out []Shard
	start := int64(0)
	for start+target < size {
		nl, err := nextNewline(ctx, f.URI, start+target-1, size)
		if err != nil {
			return nil, err
		}
		if nl < 0 || nl+1 >= size {
			break
		}
		out = append(out, Shard{File: f, Offset: start, Length: nl + 1 - start, Rows: -1})
		start = nl + 1
	}
	out = append(out, Shard{File: f, Offset: start, Length: size - start, Rows: -1})
	out[0].FirstLine = 1
	return out, nil
}

// nextNewline returns the offset of the first '\n' at or after off, or -1,
// reading forward in growing ranged reads.
func nextNewline(ctx context.Context, uri string, off, size int64) (int64, error) {
	chunk := int64(16 << 10)
	buf := make([]byte, 0, chunk)
	for off < size {
		n := min(chunk, size-off)
		rc, err := storage.OpenRange(ctx, uri, off, n)
		if err != nil {
			return 0, storageErr(err, uri)
		}
		buf = buf[:n]
		got, err := io.ReadFull(rc, buf)
		rc.Close()
		if i := bytes.IndexByte(buf[:got], '\n'); i >= 0 {
			return off + int64(i), nil
		}
		if err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
				return -1, nil // the file is shorter than its size said
			}
			return 0, storageErr(err, uri)
		}
		off += int64(got)
		if chunk < 4<<20 {
			chunk *= 4
			buf = make([]byte, 0, chunk)
		}
	}
	return -1, nil
}

// csvScanBuf is the size of the planner's reads.
const csvScanBuf = 1 << 20

// planCSV streams the file once through csvScanner.
func planCSV(ctx context.Context, f File, target int64) ([]Shard, error) {
	rc, err := storage.OpenRange(ctx, f.URI, 0, -1)
	if err != nil {
		return nil, storageErr(err, f.URI)
	}
	defer rc.Close()
	buf := make([]byte, csvScanBuf)
	n, err := io.ReadFull(rc, buf)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, storageErr(err, f.URI)
	}
	if n == 0 {
		return nil, fmt.Errorf("file is empty (0 bytes): %w", ErrEmpty)
	}
	if isGzip(buf[:n]) {
		return []Shard{{File: f, Length: -1, Rows: -1}}, nil
	}
	sc := newCSVScanner(f, target)
	chunk := buf[:n]
	base := int64(0)
	if bytes.HasPrefix(chunk, utf8BOM) {
		chunk, base = chunk[len(utf8BOM):], int64(len(utf8BOM))
	}
	eof := err != nil
	for {
		sc.scan(chunk, base)
		base += int64(len(chunk))
		if eof || sc.broken {
			break
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		n, err = io.ReadFull(rc, buf)
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
			return nil, storageErr(err, f.URI)
		}
		chunk, eof = buf[:n], err != nil
	}
	if f.Size < 0 && !sc.broken {
		f.Size = base
		for i := range sc.shards {
			sc.shards[i].File.Size = base
		}
	}
	return sc.finish(base)
}

type csvScanState uint8

const (
	csvLineStart   csvScanState = iota // at a line start, between records
	csvLineStartCR                     // a '\r' at a line start: blank line or record
	csvRecord                          // in a record, outside quotes
	csvQuoted                          // in a quoted field
	csvQuote                           // after a '"' in a quoted field
	csvQuoteCR                         // after `"\r` in a quoted field
)

// csvScanner finds the record boundaries of a CSV file as encoding/csv
// (strict quotes, comma separator) sees them, from its bytes: outside quotes
// a '\n' ends a record; a '"' opens a quoted field at the start of a field
// (after a comma or at the record's start) and anywhere else is a bare
// quote (an error); in a quoted field `""` is a quote and `"` followed by a
// comma, a line end or the end of the file closes it, anything else is an
// error. Lines that are empty (or "\r") are skipped. The first record is
// the header.
type csvScanner struct {
	file     File
	target   int64
	st       csvScanState
	line     int   // newlines before the scan position
	prev     byte  // last byte of the previous chunk
	recStart int64 // offset of the current record's first byte
	header   bool  // the header record has started
	broken   bool  // the file breaks encoding/csv's rules: no more cuts
	rows     int64 // records in the open shard
	shards   []Shard
}

func newCSVScanner(f File, target int64) *csvScanner {
	return &csvScanner{file: f, target: target, prev: '\n'}
}

// startRecord notes a record starting at offset p (on line s.line+1).
func (s *csvScanner) startRecord(p int64) {
	s.recStart = p
	if !s.header {
		s.header = true
		return
	}
	if k := len(s.shards) - 1; k < 0 || p-s.shards[k].Offset >= s.target {
		if k >= 0 {
			s.shards[k].Length = p - s.shards[k].Offset
			s.shards[k].Rows = s.rows
		}
		s.shards = append(s.shards, Shard{File: s.file, Offset: p, Length: -1, Rows: -1, FirstLine: s.line + 1})
		s.rows = 0
	}
	s.rows++
}

// scan advances over buf, the bytes at offsets base.. of the file.
func (s *csvScanner) scan(buf []byte, base int64) {
	n := len(buf)
	// Cached positions of the next '\n' and '"' at or after the position
	// they were searched from: -1 none in buf, -2 not searched.
	nl, q := -2, -2
	i := 0
	for i < n && !s.broken {
		switch s.st {
		case csvLineStart:
			switch buf[i] {
			case '\n':
				s.line++
				i++
			case '\r':
				s.st = csvLineStartCR
				i++
			default:
				s.startRecord(base + int64(i))
				s.st = csvRecord
			}
		case csvLineStartCR:
			if buf[i] == '\n' {
				s.line++
				i++
				s.st = csvLineStart
				continue
			}
			s.startRecord(base + int64(i) - 1) // the record starts with the '\r'
			s.st = csvRecord
		case csvRecord:
			if nl != -1 && nl < i {
				if nl = bytes.IndexByte(buf[i:], '\n'); nl >= 0 {
					nl += i
				}
			}
			if q != -1 && q < i {
				if q = bytes.IndexByte(buf[i:], '"'); q >= 0 {
					q += i
				}
			}
			switch {
			case nl < 0 && q < 0:
				i = n
			case q < 0 || nl >= 0 && nl < q:
				s.line++
				i = nl + 1
				s.st = csvLineStart
			default:
				p := s.prev
				if q > 0 {
					p = buf[q-1]
				}
				if p != ',' && base+int64(q) != s.recStart {
					s.broken = true // bare quote
					break
				}
				i = q + 1
				s.st = csvQuoted
			}
		case csvQuoted:
			if q != -1 && q < i {
				if q = bytes.IndexByte(buf[i:], '"'); q >= 0 {
					q += i
				}
			}
			if q < 0 {
				s.line += bytes.Count(buf[i:], newline)
				i = n
				break
			}
			s.line += bytes.Count(buf[i:q], newline)
			i = q + 1
			s.st = csvQuote
		case csvQuote:
			switch buf[i] {
			case '"':
				s.st = csvQuoted
			case ',':
				s.st = csvRecord
			case '\n':
				s.line++
				s.st = csvLineStart
			case '\r':
				s.st = csvQuoteCR
			default:
				s.broken = true // text after a closing quote
			}
			i++
		case csvQuoteCR:
			if buf[i] != '\n' {
				s.broken = true // `"\r` then text
				break
			}
			s.line++
			s.st = csvLineStart
			i++
		}
	}
	if n > 0 {
		s.prev = buf[n-1]
	}
}

var newline = []byte{'\n'}

// finish closes the last shard at size, the file's length, and returns the
// shards.
func (s *csvScanner) finish(size int64) ([]Shard, error) {
	if !s.header {
		return nil, fmt.Errorf("no header row: %w", ErrEmpty)
	}
	if s.st == csvQuoted {
		s.broken = true // unclosed quote at the end of the file
	}
	k := len(s.shards) - 1
	switch {
	case k < 0 && s.broken:
		// The header itself is broken: one shard from the start, whose
		// reader reports the error.
		return []Shard{{File: s.file, Length: -1, Rows: -1, FirstLine: 1}}, nil
	case k < 0:
		return nil, nil // header only
	case s.broken:
		s.shards[k].Length, s.shards[k].Rows = -1, -1
	default:
		s.shards[k].Length = size - s.shards[k].Offset
		s.shards[k].Rows = s.rows
	}
	return s.shards, nil
}

// OpenShard reads the records of one shard of a plan made by PlanShards.
//
// schema is the schema of the whole dataset (OpenAll(files).Schema()), so
// that every shard parses to the same types: text shards are parsed with
// it, Parquet shards converted to it as OpenAll converts later files, and
// a shard whose column names differ gives ErrSchemaMismatch. nil infers the
// types from the shard itself, as Open does (tests, single shards).
//
// A CSV shard re-reads the header from the start of the file (a short
// ranged read) to map the columns, then parses only its own byte range; a
// JSON Lines shard reads only its range; a Parquet shard reads only its row
// groups, through ranged reads for remote files (no temporary copy).
// *ParseError lines are file lines (see Shard.FirstLine; where it is 0, the
// error's Line is 0 and its message gives the line within the shard and the
// shard's byte offset). Memory is bounded by opts.BatchRows rows, whatever
// the shard's size. Remote reads go through package storage, which uses its
// own HTTP client (opts.HTTPClient is not used).
//
// The context governs the whole life of the reader.
func OpenShard(ctx context.Context, s Shard, schema *arrow.Schema, opts Options) (Reader, error) {
	opts = opts.withDefaults()
	uri := s.File.URI
	name := displayName(uri)
	var (
		fr  fileReader
		err error
	)
	switch s.File.Format {
	case CSV:
		fr, err = openCSVShard(ctx, s, opts, schema)
	case JSONL:
		fr, err = openJSONLShard(ctx, s, opts, schema)
	case Parquet:
		fr, err = openParquetShard(ctx, s, opts)
	default:
		err = fmt.Errorf("format %q: %w", s.File.Format, ErrUnsupportedFormat)
	}
	if err != nil {
		var pe *ParseError
		if errors.As(err, &pe) {
			return nil, err
		}
		return nil, fmt.Errorf("opening shard %d (%s): %w", s.Index, name, err)
	}
	if schema != nil {
		c, err := conform(fr, "the dataset schema", uri, schema, opts.Alloc)
		if err != nil {
			fr.close()
			return nil, fmt.Errorf("opening shard %d: %w", s.Index, err)
		}
		fr = c
	}
	return &stream{ctx: ctx, uri: name, fr: fr}, nil
}

// openShardText opens bytes [off, off+n) of uri (n < 0: to the end).
// decode: the range starts the file, so gzip is undone and a byte order
// mark dropped, as for a whole file; otherwise the bytes are read as they
// are (a record inside a file may well start with those bytes).
func openShardText(ctx context.Context, uri string, off, n int64, decode bool) (*textStream, error) {
	rc, err := storage.OpenRange(ctx, uri, off, n)
	if err != nil {
		return nil, storageErr(err, uri)
	}
	if decode {
		return newTextStream(rc)
	}
	return &textStream{Reader: bufio.NewReaderSize(rc, textBufSize), closers: []io.Closer{rc}}, nil
}

func openCSVShard(ctx context.Context, s Shard, opts Options, hint *arrow.Schema) (fileReader, error) {
	uri := s.File.URI
	if s.Offset <= 0 {
		ts, err := openShardText(ctx, uri, 0, s.Length, true)
		if err != nil {
			return nil, err
		}
		return newCSVReader(uri, ts, opts, hint)
	}
	hs, err := openShardText(ctx, uri, 0, s.Offset, true)
	if err != nil {
		return nil, err
	}
	header, headerLine, err := readCSVHeader(uri, hs)
	hs.Close()
	if err != nil {
		return nil, err
	}
	body, err := openShardText(ctx, uri, s.Offset, s.Length, false)
	if err != nil {
		return nil, err
	}
	return newCSVShardReader(uri, header, headerLine, body, max(s.FirstLine-1, 0), opts, hint)
}

func openJSONLShard(ctx context.Context, s Shard, opts Options, hint *arrow.Schema) (fileReader, error) {
	uri := s.File.URI
	mid := s.Offset > 0
	ts, err := openShardText(ctx, uri, s.Offset, s.Length, !mid)
	if err != nil {
		return nil, err
	}
	if mid && s.FirstLine <= 0 {
		fr, err := newJSONLShardReader(uri, ts, 0, true, opts, hint)
		if err != nil {
			return nil, shardLines(err, s.Offset)
		}
		return &relLines{fileReader: fr, off: s.Offset}, nil
	}
	return newJSONLShardReader(uri, ts, max(s.FirstLine-1, 0), mid, opts, hint)
}

// relLines rewrites the line numbers of a JSON Lines shard whose first
// line number is unknown (see shardLines).
type relLines struct {
	fileReader
	off int64
}

func (r *relLines) next() (arrow.RecordBatch, error) {
	rec, err := r.fileReader.next()
	return rec, shardLines(err, r.off)
}

func (r *relLines) skip(n int64) (int64, error) {
	k, err := skipFile(r.fileReader, n)
	return k, shardLines(err, r.off)
}

// shardLines moves the line of a *ParseError counted from the start of a
// shard at byte off into its message, leaving Line 0 (unknown).
func shardLines(err error, off int64) error {
	var pe *ParseError
	if errors.As(err, &pe) && pe.Line > 0 {
		pe.Err = fmt.Errorf("line %d of the shard at byte %d: %w", pe.Line, off, pe.Err)
		pe.Line = 0
	}
	return err
}

func openParquetShard(ctx context.Context, s Shard, opts Options) (fileReader, error) {
	var groups []int
	if len(s.RowGroups) > 0 {
		groups = s.RowGroups
	}
	return openParquetRanged(ctx, s.File.URI, groups, opts)
}

// openParquetRanged reads a Parquet file of any scheme storage serves
// through random access (ranged GETs remotely): the footer, then only the
// given row groups (nil: all).
func openParquetRanged(ctx context.Context, uri string, groups []int, opts Options) (_ fileReader, err error) {
	r := &parquetReader{uri: displayName(uri), mem: opts.Alloc}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("reading Parquet metadata: %w: %v", ErrMalformed, p)
		}
		if err != nil {
			r.close()
		}
	}()
	ra, err := storage.OpenReaderAt(ctx, uri)
	if err != nil {
		return nil, storageErr(err, uri)
	}
	r.ra = ra
	if ra.Size() == 0 {
		return nil, fmt.Errorf("file is empty (0 bytes): %w", ErrEmpty)
	}
	r.src = &watchedReaderAt{src: io.NewSectionReader(ra, 0, ra.Size())}
	r.pf, err = file.NewParquetReader(r.src, file.WithReadProps(readProps(opts.Alloc)))
	if err != nil {
		return nil, r.src.decodeErr("reading Parquet footer", err)
	}
	if err := r.start(ctx, groups, opts); err != nil {
		return nil, err
	}
	return r, nil
}

// skipper is implemented by file readers that can discard rows without
// building records.
type skipper interface {
	// skip discards up to n rows and returns how many it discarded, fewer
	// than n only at the end of the data.
	skip(n int64) (int64, error)
}

// errCannotSkip: the file reader cannot skip rows itself.
var errCannotSkip = errors.New("reader cannot skip rows")

func skipFile(fr fileReader, n int64) (int64, error) {
	if sk, ok := fr.(skipper); ok {
		return sk.skip(n)
	}
	return 0, errCannotSkip
}

// SkipRows consumes and discards the next n rows of r, so that a retried
// shard can resume after the rows it had already processed (from the last
// heartbeat). The next call to r.Next returns the record starting at the
// row after them (a slice of a record when n ends inside one).
//
// On readers from Open and OpenShard it is cheap: Parquet seeks (whole row
// groups by metadata, pages by the offset index when present) instead of
// decoding; CSV and JSON Lines split the skipped records (CSV) or lines
// (JSON Lines) without converting values, so a bad value in a skipped row
// is not reported. Other readers (OpenAll) read and drop records.
//
// Fewer than n rows left gives an error wrapping io.ErrUnexpectedEOF (the
// data changed since the rows were counted); n < 0 is an error.
func SkipRows(r Reader, n int64) error {
	switch {
	case n < 0:
		return fmt.Errorf("skipping %d rows: negative count", n)
	case n == 0:
		return nil
	}
	if s, ok := r.(interface{ skipRows(int64) error }); ok {
		return s.skipRows(n)
	}
	for n > 0 {
		rec, err := r.Next()
		if err == io.EOF {
			return fmt.Errorf("skipping rows: %d rows short: %w", n, io.ErrUnexpectedEOF)
		}
		if err != nil {
			return err
		}
		if k := rec.NumRows(); k > n {
			return fmt.Errorf("skipping rows: cannot stop inside a record of a %T", r)
		}
		n -= rec.NumRows()
	}
	return nil
}

func (s *stream) skipRows(n int64) error {
	s.release()
	if s.closed {
		return fmt.Errorf("skipping rows of %s: reader is closed", s.uri)
	}
	if s.head != nil {
		k := s.head.NumRows()
		if k > n {
			h := s.head.NewSlice(n, k)
			s.head.Release()
			s.head = h
			return nil
		}
		s.head.Release()
		s.head = nil
		n -= k
	}
	if n == 0 {
		return nil
	}
	if s.done {
		return fmt.Errorf("skipping rows of %s: %d rows short: %w", s.uri, n, io.ErrUnexpectedEOF)
	}
	got, err := skipFile(s.fr, n)
	switch {
	case err == nil:
		if got < n {
			s.done = true
			return fmt.Errorf("skipping rows of %s: %d rows short: %w", s.uri, n-got, io.ErrUnexpectedEOF)
		}
		return nil
	case !errors.Is(err, errCannotSkip):
		return wrapRead(s.uri, err)
	}
	for n > 0 {
		if err := s.ctx.Err(); err != nil {
			return fmt.Errorf("skipping rows of %s: %w", s.uri, err)
		}
		rec, err := s.fr.next()
		if err == io.EOF {
			s.done = true
			return fmt.Errorf("skipping rows of %s: %d rows short: %w", s.uri, n, io.ErrUnexpectedEOF)
		}
		if err != nil {
			return wrapRead(s.uri, err)
		}
		k := rec.NumRows()
		if k > n {
			s.head = rec.NewSlice(n, k)
			rec.Release()
			return nil
		}
		rec.Release()
		n -= k
	}
	return nil
}

func (m *multi) skipRows(n int64) error {
	for n > 0 {
		rec, err := m.Next()
		if err == io.EOF {
			return fmt.Errorf("skipping rows of the dataset: %d rows short: %w", n, io.ErrUnexpectedEOF)
		}
		if err != nil {
			return err
		}
		k := rec.NumRows()
		if k > n {
			m.head = rec.NewSlice(n, k)
			m.rec.Release()
			m.rec = nil
			return nil
		}
		n -= k
	}
	return nil
}
