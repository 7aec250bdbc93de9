package dataset

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// MaxJSONLineBytes bounds the length of one JSON Lines line.
const MaxJSONLineBytes = 64 << 20

type jsonKind uint8

const (
	jsonNull jsonKind = iota
	jsonNumber
	jsonString
	jsonBool
)

// jsonVal is one scalar of a JSON object. text is the source text of a
// number or the value of a string.
type jsonVal struct {
	kind jsonKind
	num  float64
	b    bool
	text string
}

type jsonField struct {
	key string
	val jsonVal
}

// jsonlReader reads JSON Lines: one JSON object per line, values scalars
// (number, string, true/false, null); blank lines are skipped.
//
// Column order is the order in which keys first appear in the first batch;
// a key missing from a row is null. A key that first appears after the
// first batch is a *ParseError rather than being dropped silently: the
// schema is fixed by then, and losing a column without notice is worse than
// stopping. Types: Float64 for numbers, Boolean, String; a column with only
// nulls is Float64; a column mixing kinds in the first batch is String,
// numbers kept as their JSON text. If the first batch has no keys at all
// the file is ErrEmpty. Later, a non-number in a Float64 column
// or a non-boolean in a Boolean column is a *ParseError.
type jsonlReader struct {
	uri    string
	ts     *textStream
	line   int // physical lines read so far
	schema *arrow.Schema
	index  map[string]int
	rb     *array.RecordBuilder
	batch  int
	seen   []int // generation per column, for missing/duplicate detection
	gen    int

	// midFile: the stream starts inside the file (a shard), so its first
	// line is not checked for being a JSON array.
	midFile bool

	pending      [][]jsonField
	pendingLines []int
	eof          bool
	fields       []jsonField // scratch
}

func openJSONL(ctx context.Context, uri string, opts Options, hint *arrow.Schema) (fileReader, error) {
	ts, err := openText(ctx, uri, opts.HTTPClient)
	if err != nil {
		return nil, err
	}
	return newJSONLReader(uri, ts, opts, hint)
}

// newJSONLReader reads ts, which it closes on error or on close.
func newJSONLReader(uri string, ts *textStream, opts Options, hint *arrow.Schema) (fileReader, error) {
	return newJSONLShardReader(uri, ts, 0, false, opts, hint)
}

// newJSONLShardReader reads ts, which starts after lineBase lines of the
// file (midFile: ts starts inside the file, at a line start). It closes ts
// on error or on close.
func newJSONLShardReader(uri string, ts *textStream, lineBase int, midFile bool, opts Options, hint *arrow.Schema) (fileReader, error) {
	r := &jsonlReader{uri: displayName(uri), ts: ts, batch: opts.BatchRows, line: lineBase, midFile: midFile}
	if hint != nil {
		r.schema = hint
	} else {
		var keys []string
		idx := map[string]int{}
		var kinds [][4]bool
		for len(r.pending) < r.batch {
			fields, line, err := r.readObject(nil, len(r.pending) == 0 && !r.midFile)
			if err == io.EOF {
				r.eof = true
				break
			}
			if err != nil {
				ts.Close()
				return nil, err
			}
			for _, f := range fields {
				j, ok := idx[f.key]
				if !ok {
					j = len(keys)
					idx[f.key] = j
					keys = append(keys, f.key)
					kinds = append(kinds, [4]bool{})
				}
				kinds[j][f.val.kind] = true
			}
			r.pending = append(r.pending, fields)
			r.pendingLines = append(r.pendingLines, line)
		}
		if len(r.pending) == 0 {
			ts.Close()
			return nil, fmt.Errorf("no JSON lines: %w", ErrEmpty)
		}
		if len(keys) == 0 {
			ts.Close()
			return nil, fmt.Errorf("the first %d objects have no keys: %w", len(r.pending), ErrEmpty)
		}
		types := make([]arrow.DataType, len(keys))
		for j, k := range kinds {
			types[j] = inferJSONType(k)
			if types[j] == typeString && opts.numeric(keys[j]) {
				types[j] = typeFloat64
			}
		}
		r.schema = newSchema(keys, types)
	}
	r.index = make(map[string]int, r.schema.NumFields())
	for i, f := range r.schema.Fields() {
		r.index[f.Name] = i
	}
	r.seen = make([]int, r.schema.NumFields())
	r.rb = array.NewRecordBuilder(opts.Alloc, r.schema)
	return r, nil
}

func inferJSONType(k [4]bool) arrow.DataType {
	n := 0
	for _, seen := range k[1:] {
		if seen {
			n++
		}
	}
	switch {
	case n == 0 || n == 1 && k[jsonNumber]:
		return typeFloat64
	case n == 1 && k[jsonBool]:
		return typeBool
	default:
		return typeString
	}
}

// readLine returns the next line without its line ending, or io.EOF.
func (r *jsonlReader) readLine() ([]byte, error) {
	var buf []byte
	for {
		chunk, err := r.ts.ReadSlice('\n')
		if len(buf)+len(chunk) > MaxJSONLineBytes {
			return nil, &ParseError{URI: r.uri, Line: r.line + 1,
				Err: fmt.Errorf("line longer than %d bytes", MaxJSONLineBytes)}
		}
		switch {
		case err == nil:
			r.line++
			if buf == nil {
				return chunk, nil // valid until the next read
			}
			return append(buf, chunk...), nil
		case errors.Is(err, bufio.ErrBufferFull):
			buf = append(buf, chunk...)
		case err == io.EOF:
			buf = append(buf, chunk...)
			if len(buf) == 0 {
				return nil, io.EOF
			}
			r.line++
			return buf, nil
		default:
			return nil, err
		}
	}
}

// readObject reads the next non-blank line as an object; it appends the
// fields to dst (nil: new slice) and returns them with the line number.
func (r *jsonlReader) readObject(dst []jsonField, first bool) ([]jsonField, int, error) {
	for {
		raw, err := r.readLine()
		if err != nil {
			return nil, 0, err
		}
		b := bytes.TrimSpace(raw)
		if len(b) == 0 {
			continue
		}
		if first && b[0] == '[' {
			return nil, 0, fmt.Errorf("%s is a JSON array, not JSON Lines (one object per line): %w", r.uri, ErrUnsupportedFormat)
		}
		fields, err := parseObject(b, dst[:0])
		if err != nil {
			var pe *ParseError
			if errors.As(err, &pe) {
				pe.URI, pe.Line = r.uri, r.line
				return nil, 0, pe
			}
			return nil, 0, &ParseError{URI: r.uri, Line: r.line, Err: err}
		}
		return fields, r.line, nil
	}
}

// parseObject parses one JSON object of scalars, keeping key order.
func parseObject(b []byte, dst []jsonField) ([]jsonField, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errors.New("line is not a JSON object")
	}
	var dup dupCheck
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("invalid JSON: %w", err)
		}
		key, ok := tok.(string)
		if !ok {
			return nil, errors.New("invalid JSON: object key is not a string")
		}
		if dup.has(dst, key) {
			return nil, &ParseError{Column: key, Err: errors.New("duplicate key")}
		}
		tok, err = dec.Token()
		if err != nil {
			return nil, fmt.Errorf("invalid JSON: %w", err)
		}
		v, err := scalar(tok)
		if err != nil {
			return nil, &ParseError{Column: key, Err: err}
		}
		dst = append(dst, jsonField{key: key, val: v})
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("invalid JSON: more data after the object")
	}
	return dst, nil
}

// dupCheck finds duplicate keys: a linear scan for small objects, a set
// once an object has more than dupScanMax keys.
type dupCheck struct{ set map[string]struct{} }

const dupScanMax = 32

// has reports whether key is among fields' keys (the keys seen so far).
func (d *dupCheck) has(fields []jsonField, key string) bool {
	if len(fields) <= dupScanMax {
		for _, f := range fields {
			if f.key == key {
				return true
			}
		}
		return false
	}
	if d.set == nil {
		d.set = make(map[string]struct{}, 2*len(fields))
		for _, f := range fields {
			d.set[f.key] = struct{}{}
		}
	}
	if _, ok := d.set[key]; ok {
		return true
	}
	d.set[key] = struct{}{}
	return false
}

// scalar converts a decoder token to a jsonVal; nested values are rejected.
func scalar(tok json.Token) (jsonVal, error) {
	switch t := tok.(type) {
	case nil:
		return jsonVal{kind: jsonNull}, nil
	case bool:
		return jsonVal{kind: jsonBool, b: t}, nil
	case string:
		return jsonVal{kind: jsonString, text: t}, nil
	case json.Number:
		v, ok := parseNumber(string(t))
		if !ok {
			return jsonVal{}, fmt.Errorf("cannot parse %s as a number", quoteValue(string(t)))
		}
		return jsonVal{kind: jsonNumber, num: v, text: string(t)}, nil
	case json.Delim:
		return jsonVal{}, errors.New("nested arrays and objects are not supported")
	}
	return jsonVal{}, fmt.Errorf("unexpected JSON token %v", tok)
}

func (r *jsonlReader) Schema() *arrow.Schema { return r.schema }

func (r *jsonlReader) next() (arrow.RecordBatch, error) {
	n := 0
	if r.pending != nil {
		for i, fields := range r.pending {
			if err := r.appendRow(fields, r.pendingLines[i]); err != nil {
				resetBuilders(r.rb)
				return nil, err
			}
		}
		n = len(r.pending)
		r.pending, r.pendingLines = nil, nil
	} else {
		for n < r.batch && !r.eof {
			fields, line, err := r.readObject(r.fields, false)
			if err == io.EOF {
				r.eof = true
				break
			}
			if err != nil {
				resetBuilders(r.rb)
				return nil, err
			}
			r.fields = fields
			if err := r.appendRow(fields, line); err != nil {
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

// skip discards up to n rows (non-blank lines) without parsing them.
func (r *jsonlReader) skip(n int64) (int64, error) {
	done := dropPending(&r.pending, &r.pendingLines, n)
	for done < n && !r.eof {
		raw, err := r.readLine()
		if err == io.EOF {
			r.eof = true
			break
		}
		if err != nil {
			return done, err
		}
		if len(bytes.TrimSpace(raw)) > 0 {
			done++
		}
	}
	return done, nil
}

func (r *jsonlReader) appendRow(fields []jsonField, line int) error {
	r.gen++
	for _, f := range fields {
		j, ok := r.index[f.key]
		if !ok {
			return &ParseError{URI: r.uri, Line: line, Column: f.key,
				Err: errors.New("key is not in the schema (columns are fixed by the first batch of rows or the first file)")}
		}
		r.seen[j] = r.gen
		if err := appendJSON(r.rb.Field(j), f.val); err != nil {
			return &ParseError{URI: r.uri, Line: line, Column: f.key, Value: f.val.String(), Err: err}
		}
	}
	for j, g := range r.seen {
		if g != r.gen {
			r.rb.Field(j).AppendNull()
		}
	}
	return nil
}

func (v jsonVal) String() string {
	switch v.kind {
	case jsonNumber, jsonString:
		return v.text
	case jsonBool:
		return strconv.FormatBool(v.b)
	}
	return "null"
}

func appendJSON(b array.Builder, v jsonVal) error {
	if v.kind == jsonNull {
		b.AppendNull()
		return nil
	}
	switch b := b.(type) {
	case *array.Float64Builder:
		if v.kind != jsonNumber {
			return fmt.Errorf("%s is not a number", quoteJSON(v))
		}
		b.Append(v.num)
	case *array.Int64Builder:
		if v.kind != jsonNumber {
			return fmt.Errorf("%s is not a number", quoteJSON(v))
		}
		i, err := strconv.ParseInt(v.text, 10, 64)
		if err != nil {
			if v.num != math.Trunc(v.num) || math.Abs(v.num) >= 1<<63 {
				return fmt.Errorf("%s is not a 64-bit integer", v.text)
			}
			i = int64(v.num)
		}
		b.Append(i)
	case *array.BooleanBuilder:
		if v.kind != jsonBool {
			return fmt.Errorf("%s is not a boolean", quoteJSON(v))
		}
		b.Append(v.b)
	case *array.StringBuilder:
		b.Append(v.String())
	default:
		return fmt.Errorf("column type %s: %w", b.Type(), ErrUnsupportedFormat)
	}
	return nil
}

func quoteJSON(v jsonVal) string {
	if v.kind == jsonString {
		return "string " + quoteValue(v.text)
	}
	return v.String()
}

func (r *jsonlReader) close() error {
	r.pending = nil
	if r.rb != nil {
		r.rb.Release()
		r.rb = nil
	}
	return r.ts.Close()
}
