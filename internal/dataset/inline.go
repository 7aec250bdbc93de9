package dataset

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// Limits on inline samples (ParseInline). Larger data belongs in a file.
const (
	// MaxInlineBytes is the largest inline sample, in bytes of JSON: 1 MiB.
	MaxInlineBytes = 1 << 20
	// MaxInlineRows is the most rows an inline sample may have: 10,000.
	MaxInlineRows = 10_000
)

// ParseInline converts an inline sample (what a user passes on the command
// line instead of a file) into JSON Lines, one object per row, ready to be
// written to a .jsonl file and read with Open.
//
// data is a JSON array of either
//
//   - objects, [{"a":1,"b":2}, ...]: keys are written in featureColumns
//     order, then any other keys in order of first appearance; a key that a
//     row lacks is written as null. featureColumns may be empty.
//   - rows, [[1,2],[3,4]]: featureColumns names the positions and is
//     required; every row must have len(featureColumns) values.
//
// Values must be numbers, strings, booleans or null; numbers are copied
// verbatim (no rounding). Errors: ErrInlineTooLarge when data is over
// MaxInlineBytes or has more than MaxInlineRows rows (the message states
// the limit); ErrEmpty for an empty array; ErrMalformed for anything else
// wrong with the JSON or its shape.
func ParseInline(data []byte, featureColumns []string) ([]byte, error) {
	if len(data) > MaxInlineBytes {
		return nil, fmt.Errorf("inline sample is %d bytes, over the limit of %d bytes (1 MiB); put the data in a file: %w",
			len(data), MaxInlineBytes, ErrInlineTooLarge)
	}
	seen := make(map[string]bool, len(featureColumns))
	for _, c := range featureColumns {
		if c == "" {
			return nil, fmt.Errorf("inline sample: empty feature column name: %w", ErrMalformed)
		}
		if !utf8.ValidString(c) {
			// JSON text would carry it as U+FFFD, where it could collide with another name.
			return nil, fmt.Errorf("inline sample: feature column %q is not valid UTF-8: %w", c, ErrMalformed)
		}
		if seen[c] {
			return nil, fmt.Errorf("inline sample: duplicate feature column %q: %w", c, ErrMalformed)
		}
		seen[c] = true
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	bad := func(format string, args ...any) error {
		return fmt.Errorf("inline sample: %s: %w", fmt.Sprintf(format, args...), ErrMalformed)
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, bad("invalid JSON: %v", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return nil, bad("want a JSON array of objects or of arrays")
	}
	var (
		keys   = append([]string(nil), featureColumns...)
		keyIdx = make(map[string]int, len(keys))
		rows   [][]string // raw JSON value per key index; "" = absent
		shape  json.Delim // '{' or '['
		rowNum int
	)
	for i, k := range keys {
		keyIdx[k] = i
	}
	for dec.More() {
		rowNum++
		if rowNum > MaxInlineRows {
			return nil, fmt.Errorf("inline sample has more than %d rows, the limit; put the data in a file: %w",
				MaxInlineRows, ErrInlineTooLarge)
		}
		tok, err := dec.Token()
		if err != nil {
			return nil, bad("row %d: invalid JSON: %v", rowNum, err)
		}
		d, ok := tok.(json.Delim)
		if !ok || (d != '{' && d != '[') {
			return nil, bad("row %d: want an object or an array", rowNum)
		}
		if shape == 0 {
			shape = d
			if shape == '[' && len(featureColumns) == 0 {
				return nil, bad("rows given as arrays need the feature column names")
			}
		} else if d != shape {
			return nil, bad("row %d: rows mix objects and arrays", rowNum)
		}
		var row []string
		if d == '{' {
			row = make([]string, len(keys))
			for dec.More() {
				tok, err := dec.Token()
				if err != nil {
					return nil, bad("row %d: invalid JSON: %v", rowNum, err)
				}
				key, _ := tok.(string)
				v, err := rawScalar(dec)
				if err != nil {
					return nil, bad("row %d: key %q: %v", rowNum, key, err)
				}
				j, ok := keyIdx[key]
				if !ok {
					j = len(keys)
					keyIdx[key] = j
					keys = append(keys, key)
					row = append(row, "")
				}
				if row[j] != "" {
					return nil, bad("row %d: duplicate key %q", rowNum, key)
				}
				row[j] = v
			}
		} else {
			for dec.More() {
				if len(row) == len(featureColumns) {
					return nil, bad("row %d has more than %d values, the number of feature columns", rowNum, len(featureColumns))
				}
				v, err := rawScalar(dec)
				if err != nil {
					return nil, bad("row %d: value %d: %v", rowNum, len(row)+1, err)
				}
				row = append(row, v)
			}
			if len(row) != len(featureColumns) {
				return nil, bad("row %d has %d values, want %d (one per feature column)", rowNum, len(row), len(featureColumns))
			}
		}
		if _, err := dec.Token(); err != nil { // closing delimiter
			return nil, bad("row %d: invalid JSON: %v", rowNum, err)
		}
		rows = append(rows, row)
	}
	if _, err := dec.Token(); err != nil { // closing ']'
		return nil, bad("invalid JSON: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, bad("more data after the array")
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("inline sample has no rows: %w", ErrEmpty)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("inline sample has no columns: %w", ErrEmpty)
	}
	quoted := make([][]byte, len(keys))
	for i, k := range keys {
		quoted[i], _ = json.Marshal(k) // a string always marshals
	}
	var out bytes.Buffer
	for _, row := range rows {
		out.WriteByte('{')
		for j := range keys {
			if j > 0 {
				out.WriteByte(',')
			}
			out.Write(quoted[j])
			out.WriteByte(':')
			if j < len(row) && row[j] != "" {
				out.WriteString(row[j])
			} else {
				out.WriteString("null")
			}
		}
		out.WriteString("}\n")
	}
	return out.Bytes(), nil
}

// rawScalar reads one scalar value and returns its JSON text.
func rawScalar(dec *json.Decoder) (string, error) {
	tok, err := dec.Token()
	if err != nil {
		return "", fmt.Errorf("invalid JSON: %v", err)
	}
	switch t := tok.(type) {
	case nil:
		return "null", nil
	case bool:
		if t {
			return "true", nil
		}
		return "false", nil
	case json.Number:
		return string(t), nil
	case string:
		b, err := json.Marshal(t)
		return string(b), err
	case json.Delim:
		return "", errors.New("nested arrays and objects are not supported")
	}
	return "", fmt.Errorf("unexpected JSON token %v", tok)
}
