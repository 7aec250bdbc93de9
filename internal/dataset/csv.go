package dataset

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// missingValues are the field texts read as null (after trimming spaces),
// in every column type of CSV files. The set is pandas' default na_values:
// "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan",
// "1.#IND", "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a",
// "nan", "null".
var missingValues = map[string]struct{}{
	"": {}, "#N/A": {}, "#N/A N/A": {}, "#NA": {}, "-1.#IND": {}, "-1.#QNAN": {},
	"-NaN": {}, "-nan": {}, "1.#IND": {}, "1.#QNAN": {}, "<NA>": {}, "N/A": {},
	"NA": {}, "NULL": {}, "NaN": {}, "None": {}, "n/a": {}, "nan": {}, "null": {},
}

// MissingValues returns, sorted, the CSV field texts read as null in every
// column (compared after trimming spaces): pandas' default na_values, that
// is "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan",
// "1.#IND", "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a",
// "nan" and "null". A String column therefore cannot hold the text "NA".
func MissingValues() []string {
	out := make([]string, 0, len(missingValues))
	for k := range missingValues {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func isMissing(s string) bool {
	_, ok := missingValues[strings.TrimSpace(s)]
	return ok
}

// parseNumber parses s (surrounding spaces allowed) with strconv.ParseFloat,
// which rounds correctly. Out-of-range values become ±Inf (or 0), as
// ParseFloat returns them.
func parseNumber(s string) (float64, bool) {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) && ne.Err == strconv.ErrRange {
			return v, true
		}
		return 0, false
	}
	return v, true
}

// parseBool accepts true and false in any case.
func parseBool(s string) (v, ok bool) {
	s = strings.TrimSpace(s)
	switch {
	case strings.EqualFold(s, "true"):
		return true, true
	case strings.EqualFold(s, "false"):
		return false, true
	}
	return false, false
}

// csvReader reads a CSV file with a header row.
//
// Parsing is encoding/csv's (RFC 4180: comma separator, double-quoted
// fields that may contain commas, quotes doubled, and newlines; strict about
// stray quotes). Empty lines are skipped. Header names must be unique; an
// empty header name becomes "Unnamed: i" (i the 0-based position), as in
// pandas.
type csvReader struct {
	uri    string // display name
	ts     *textStream
	cr     *csv.Reader
	schema *arrow.Schema
	rb     *array.RecordBuilder
	batch  int
	// first batch, buffered for type inference; flushed by the first next.
	pending      [][]string
	pendingLines []int
	eof          bool
	// lineBase is added to the line numbers encoding/csv reports: 0 for a
	// stream that starts at the file's start, else the number of lines
	// before the stream (a shard).
	lineBase int
}

func openCSV(ctx context.Context, uri string, opts Options, hint *arrow.Schema) (fileReader, error) {
	ts, err := openText(ctx, uri, opts.HTTPClient)
	if err != nil {
		return nil, err
	}
	return newCSVReader(uri, ts, opts, hint)
}

// newCSVReader reads ts, header row first, which it closes on error or on
// close.
func newCSVReader(uri string, ts *textStream, opts Options, hint *arrow.Schema) (fileReader, error) {
	r := &csvReader{uri: displayName(uri), ts: ts, batch: opts.BatchRows}
	r.cr = newCSVParser(ts)
	header, err := r.cr.Read()
	if err == io.EOF {
		ts.Close()
		return nil, fmt.Errorf("no header row: %w", ErrEmpty)
	}
	if err != nil {
		ts.Close()
		return nil, r.readErr(err)
	}
	line, _ := r.cr.FieldPos(0)
	if err := r.init(header, line, opts, hint); err != nil {
		ts.Close()
		return nil, err
	}
	return r, nil
}

// newCSVParser returns the encoding/csv reader every CSV stream uses.
func newCSVParser(rd io.Reader) *csv.Reader {
	cr := csv.NewReader(rd)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	return cr
}

// readCSVHeader reads the header row of ts (the start of a CSV file) and
// returns a copy of it with its line number. It does not close ts.
func readCSVHeader(uri string, ts *textStream) ([]string, int, error) {
	r := &csvReader{uri: displayName(uri)}
	r.cr = newCSVParser(ts)
	header, err := r.cr.Read()
	if err == io.EOF {
		return nil, 0, fmt.Errorf("no header row: %w", ErrEmpty)
	}
	if err != nil {
		return nil, 0, r.readErr(err)
	}
	line, _ := r.cr.FieldPos(0)
	return slices.Clone(header), line, nil
}

// newCSVShardReader reads the records of body, the bytes of a CSV shard
// (starting at a record, after the header), with the file's header given
// separately. Line numbers in errors are lineBase plus the line within
// body. It closes body on error or on close.
func newCSVShardReader(uri string, header []string, headerLine int, body *textStream, lineBase int, opts Options, hint *arrow.Schema) (fileReader, error) {
	r := &csvReader{uri: displayName(uri), ts: body, batch: opts.BatchRows, lineBase: lineBase}
	r.cr = newCSVParser(body)
	if err := r.init(header, headerLine, opts, hint); err != nil {
		body.Close()
		return nil, err
	}
	return r, nil
}

// init sets the schema from the header (line headerLine) and hint, or
// infers it from the first batch of records.
func (r *csvReader) init(header []string, headerLine int, opts Options, hint *arrow.Schema) error {
	names, err := headerNames(header)
	if err != nil {
		return &ParseError{URI: r.uri, Line: headerLine, Err: err}
	}
	types := make([]arrow.DataType, len(names))
	if hint != nil {
		r.schema = hintedSchema(hint, names)
	} else {
		// Buffer the first batch and infer the types from it.
		for len(r.pending) < r.batch {
			rec, line, err := r.readRecord(len(names))
			if err == io.EOF {
				r.eof = true
				break
			}
			if err != nil {
				return err
			}
			r.pending = append(r.pending, append([]string(nil), rec...))
			r.pendingLines = append(r.pendingLines, line)
		}
		for j := range names {
			types[j] = inferCSVType(r.pending, j)
			if types[j] == typeString && opts.numeric(names[j]) {
				types[j] = typeFloat64
			}
		}
		r.schema = newSchema(names, types)
	}
	r.rb = array.NewRecordBuilder(opts.Alloc, r.schema)
	return nil
}

func headerNames(header []string) ([]string, error) {
	names := make([]string, len(header))
	seen := make(map[string]bool, len(header))
	for i, h := range header {
		if h == "" {
			h = fmt.Sprintf("Unnamed: %d", i)
		}
		if seen[h] {
			return nil, fmt.Errorf("header: duplicate column name %q", h)
		}
		seen[h] = true
		names[i] = h
	}
	return names, nil
}

// inferCSVType: Float64 if every non-missing value is a number (or there
// is none), Boolean if every one is true/false, else String.
func inferCSVType(rows [][]string, j int) arrow.DataType {
	numeric, boolean := true, true
	for _, row := range rows {
		s := row[j]
		if isMissing(s) {
			continue
		}
		if numeric {
			if _, ok := parseNumber(s); !ok {
				numeric = false
			}
		}
		if boolean {
			if _, ok := parseBool(s); !ok {
				boolean = false
			}
		}
		if !numeric && !boolean {
			return typeString
		}
	}
	if numeric {
		return typeFloat64
	}
	return typeBool
}

// readRecord reads one record with n fields and returns it with its start line.
func (r *csvReader) readRecord(n int) ([]string, int, error) {
	rec, err := r.cr.Read()
	if err != nil {
		if err == io.EOF {
			return nil, 0, io.EOF
		}
		return nil, 0, r.readErr(err)
	}
	line, _ := r.cr.FieldPos(0)
	line += r.lineBase
	if len(rec) != n {
		return nil, 0, &ParseError{URI: r.uri, Line: line,
			Err: fmt.Errorf("record has %d fields, the header has %d", len(rec), n)}
	}
	return rec, line, nil
}

func (r *csvReader) readErr(err error) error {
	var ce *csv.ParseError
	if errors.As(err, &ce) {
		msg := ce.Err
		if ce.Line != ce.StartLine {
			msg = fmt.Errorf("%w (at line %d)", ce.Err, ce.Line+r.lineBase)
		}
		return &ParseError{URI: r.uri, Line: ce.StartLine + r.lineBase, Err: msg}
	}
	return err
}

func (r *csvReader) Schema() *arrow.Schema { return r.schema }

func (r *csvReader) next() (arrow.RecordBatch, error) {
	n := 0
	if r.pending != nil {
		for i, row := range r.pending {
			if err := r.appendRow(row, r.pendingLines[i]); err != nil {
				resetBuilders(r.rb)
				return nil, err
			}
		}
		n = len(r.pending)
		r.pending, r.pendingLines = nil, nil
	} else {
		nf := r.schema.NumFields()
		for n < r.batch && !r.eof {
			rec, line, err := r.readRecord(nf)
			if err == io.EOF {
				r.eof = true
				break
			}
			if err != nil {
				resetBuilders(r.rb)
				return nil, err
			}
			if err := r.appendRow(rec, line); err != nil {
				resetBuilders(r.rb)
				return nil, err
			}
			n++
		}
	}
	if n == 0 {
		return nil, io.EOF
	}
	return r.rb.NewRecordBatch(), nil
}

// skip discards up to n records without converting their values (the
// record structure, quoting and field count, is still checked).
func (r *csvReader) skip(n int64) (int64, error) {
	done := dropPending(&r.pending, &r.pendingLines, n)
	nf := r.schema.NumFields()
	for done < n && !r.eof {
		_, _, err := r.readRecord(nf)
		if err == io.EOF {
			r.eof = true
			break
		}
		if err != nil {
			return done, err
		}
		done++
	}
	return done, nil
}

func (r *csvReader) appendRow(row []string, line int) error {
	for j, s := range row {
		if err := appendText(r.rb.Field(j), s); err != nil {
			return &ParseError{URI: r.uri, Line: line, Column: r.schema.Field(j).Name, Value: s, Err: err}
		}
	}
	return nil
}

// appendText appends a CSV field to a builder of one of the four types.
func appendText(b array.Builder, s string) error {
	if isMissing(s) {
		b.AppendNull()
		return nil
	}
	switch b := b.(type) {
	case *array.Float64Builder:
		v, ok := parseNumber(s)
		if !ok {
			return fmt.Errorf("cannot parse %s as a number", quoteValue(s))
		}
		b.Append(v)
	case *array.Int64Builder:
		v, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil {
			return fmt.Errorf("cannot parse %s as an integer", quoteValue(s))
		}
		b.Append(v)
	case *array.BooleanBuilder:
		v, ok := parseBool(s)
		if !ok {
			return fmt.Errorf("cannot parse %s as a boolean (true or false)", quoteValue(s))
		}
		b.Append(v)
	case *array.StringBuilder:
		b.Append(s)
	default:
		return fmt.Errorf("column type %s: %w", b.Type(), ErrUnsupportedFormat)
	}
	return nil
}

func (r *csvReader) close() error {
	r.pending = nil
	if r.rb != nil {
		r.rb.Release()
		r.rb = nil
	}
	return r.ts.Close()
}
