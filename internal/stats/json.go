package stats

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// MarshalJSON writes the columns in Names order, each as an object with
// MLRun's keys in MLRun's order:
//
//	numeric:     count, mean, std (omitted when !HasStd), min, 25%, 50%, 75%, max,
//	             hist (omitted when nil), then the extras nan_count, inf_count
//	categorical: count, unique, top, freq (top and freq omitted when unique == 0),
//	             then the extra nan_count
//
// The extras beyond MLRun's keys, which MLRun's readers ignore:
//
//	numeric:     "approx": true when the quartiles come from the sketch (else
//	             omitted); "sketch": {"mantissa_bits": 7, "zeros", "neg_inf",
//	             "pos_inf", "neg": [offset, [counts]], "pos": [offset, [counts]]}
//	             (Sketch; a negative entry -k in counts stands for k empty
//	             buckets; an empty side is omitted)
//	categorical: "frequencies": {"exact", "other", "values": [[value, count], ...]}
//	             (FreqTable)
//
// Floats are written as Python's repr writes them (shortest round-trip digits,
// "10.0" for integral values, exponent form below 1e-4 and from 1e16), so
// count is "10.0" as in MLRun. Histogram counts, unique and freq are integers.
//
// Non-finite floats (NaN, +-Inf) are written as null: MLRun's files write the
// non-standard tokens NaN/Infinity, which strict JSON readers (Go, JavaScript)
// reject. The information is kept in nan_count and inf_count; reading null
// back gives NaN.
func (d *Dataset) MarshalJSON() ([]byte, error) {
	b := []byte{'{'}
	for i, name := range d.Names {
		c, ok := d.Columns[name]
		if !ok || c == nil {
			return nil, fmt.Errorf("encoding statistics: column %q has no statistics", name)
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, name)
		b = append(b, ':')
		b = c.appendJSON(b)
	}
	return append(b, '}'), nil
}

func (c *Column) appendJSON(b []byte) []byte {
	b = append(b, `{"count":`...)
	b = AppendJSONFloat(b, c.Count)
	if c.Kind == KindCategorical {
		b = append(b, `,"unique":`...)
		b = strconv.AppendInt(b, c.Unique, 10)
		if c.Unique > 0 {
			b = append(b, `,"top":`...)
			b = appendString(b, c.Top)
			b = append(b, `,"freq":`...)
			b = strconv.AppendInt(b, c.Freq, 10)
		}
		b = append(b, `,"nan_count":`...)
		b = strconv.AppendInt(b, c.NaNCount, 10)
		if t := c.Freqs; t != nil {
			b = append(b, `,"frequencies":{"exact":`...)
			b = strconv.AppendBool(b, t.Exact)
			b = append(b, `,"other":`...)
			b = strconv.AppendInt(b, t.Other, 10)
			b = append(b, `,"values":[`...)
			for i, v := range t.Values {
				if i > 0 {
					b = append(b, ',')
				}
				b = append(b, '[')
				b = appendString(b, v)
				b = append(b, ',')
				b = strconv.AppendInt(b, t.Counts[i], 10)
				b = append(b, ']')
			}
			b = append(b, "]}"...)
		}
		return append(b, '}')
	}
	b = append(b, `,"mean":`...)
	b = AppendJSONFloat(b, c.Mean)
	if c.HasStd {
		b = append(b, `,"std":`...)
		b = AppendJSONFloat(b, c.Std)
	}
	for _, kv := range [...]struct {
		k string
		v float64
	}{{"min", c.Min}, {"25%", c.Q25}, {"50%", c.Q50}, {"75%", c.Q75}, {"max", c.Max}} {
		b = append(b, `,"`...)
		b = append(b, kv.k...)
		b = append(b, `":`...)
		b = AppendJSONFloat(b, kv.v)
	}
	if c.Hist != nil {
		b = append(b, `,"hist":[[`...)
		for i, n := range c.Hist.Counts {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendInt(b, n, 10)
		}
		b = append(b, "],["...)
		for i, e := range c.Hist.Edges {
			if i > 0 {
				b = append(b, ',')
			}
			b = AppendJSONFloat(b, e)
		}
		b = append(b, "]]"...)
	}
	b = append(b, `,"nan_count":`...)
	b = strconv.AppendInt(b, c.NaNCount, 10)
	b = append(b, `,"inf_count":`...)
	b = strconv.AppendInt(b, c.InfCount, 10)
	if c.Approx {
		b = append(b, `,"approx":true`...)
	}
	if s := c.Sketch; s != nil {
		b = append(b, `,"sketch":{"mantissa_bits":`...)
		b = strconv.AppendInt(b, SketchMantissaBits, 10)
		for _, kv := range [...]struct {
			k string
			v int64
		}{{"zeros", s.Zeros}, {"neg_inf", s.NegInf}, {"pos_inf", s.PosInf}} {
			b = append(b, `,"`...)
			b = append(b, kv.k...)
			b = append(b, `":`...)
			b = strconv.AppendInt(b, kv.v, 10)
		}
		for _, kv := range [...]struct {
			k  string
			bk *Buckets
		}{{"neg", &s.Neg}, {"pos", &s.Pos}} {
			if len(kv.bk.Counts) == 0 {
				continue
			}
			b = append(b, `,"`...)
			b = append(b, kv.k...)
			b = append(b, `":[`...)
			b = strconv.AppendInt(b, int64(kv.bk.Offset), 10)
			b = append(b, ",["...)
			cs := kv.bk.Counts
			for i := 0; i < len(cs); i++ {
				if i > 0 {
					b = append(b, ',')
				}
				if cs[i] != 0 {
					b = strconv.AppendInt(b, cs[i], 10)
					continue
				}
				j := i
				for j+1 < len(cs) && cs[j+1] == 0 {
					j++
				}
				b = strconv.AppendInt(b, -int64(j-i+1), 10) // a run of empty buckets
				i = j
			}
			b = append(b, "]]"...)
		}
		b = append(b, '}')
	}
	return append(b, '}')
}

func appendString(b []byte, s string) []byte {
	q, _ := json.Marshal(s) // a string always encodes
	return append(b, q...)
}

// AppendJSONFloat appends f as Python's repr(float) spells it, which is what
// MLRun's JSON files contain: the shortest digits that round-trip, in fixed
// notation with at least one decimal ("10.0", "0.0001", "1000000000000000.0")
// when the decimal exponent is in [-4, 16), else in exponent notation
// ("1e-05", "1e+16", "1.5e+300"). Non-finite values are written as null.
func AppendJSONFloat(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, "null"...)
	}
	if f == 0 {
		if math.Signbit(f) {
			return append(b, "-0.0"...)
		}
		return append(b, "0.0"...)
	}
	e := strconv.AppendFloat(nil, f, 'e', -1, 64)
	exp, _ := strconv.Atoi(string(e[strings.LastIndexByte(string(e), 'e')+1:]))
	if exp < -4 || exp >= 16 {
		return append(b, e...)
	}
	start := len(b)
	b = strconv.AppendFloat(b, f, 'f', -1, 64)
	for _, ch := range b[start:] {
		if ch == '.' {
			return b
		}
	}
	return append(b, ".0"...)
}

// ErrSyntax is wrapped by the errors UnmarshalJSON returns for malformed input.
var ErrSyntax = errors.New("invalid statistics JSON")

// UnmarshalJSON reads a statistics object such as MLRun's feature_stats or
// dataset_statistics.json, keeping the column order of the input. It accepts
// Python's non-standard NaN, Infinity and -Infinity tokens, null for a
// number (read as NaN), integer or float counts, and missing keys (a missing
// std leaves HasStd false, a missing hist leaves Hist nil). A column with
// "unique", "top" or "freq" and no "mean" is categorical; any other column is
// numeric. A non-string top (pandas writes booleans as true/false) is kept in
// its Python spelling ("True", "False", "1.5"). Unknown keys are ignored.
// Duplicate column names and malformed histograms are errors.
//
// Note: encoding/json.Unmarshal validates its input as strict JSON before it
// calls this method, so it rejects files with NaN/Infinity tokens; read
// MLRun's files with ParseDataset (or call UnmarshalJSON directly).
func (d *Dataset) UnmarshalJSON(data []byte) error {
	p := parser{s: data}
	p.skipSpace()
	v, err := p.value(0)
	if err != nil {
		return err
	}
	p.skipSpace()
	if p.i != len(p.s) {
		return p.errorf("unexpected data after the top-level value")
	}
	obj, ok := v.(*object)
	if !ok {
		return fmt.Errorf("%w: top level is %s, want an object of columns", ErrSyntax, kindOf(v))
	}
	out := Dataset{Columns: make(map[string]*Column, len(obj.keys))}
	for i, name := range obj.keys {
		if _, dup := out.Columns[name]; dup {
			return fmt.Errorf("%w: duplicate column %q", ErrSyntax, name)
		}
		c, err := columnFrom(obj.vals[i])
		if err != nil {
			return fmt.Errorf("%w: column %q: %w", ErrSyntax, name, err)
		}
		out.Set(name, c)
	}
	*d = out
	return nil
}

func columnFrom(v any) (*Column, error) {
	obj, ok := v.(*object)
	if !ok {
		return nil, fmt.Errorf("statistics are %s, want an object", kindOf(v))
	}
	c := &Column{Kind: KindNumeric}
	_, hasMean := obj.get("mean")
	if !hasMean {
		for _, k := range []string{"unique", "top", "freq"} {
			if _, ok := obj.get(k); ok {
				c.Kind = KindCategorical
			}
		}
	}
	num := func(key string, dst *float64) error {
		v, ok := obj.get(key)
		if !ok {
			return nil
		}
		f, err := toFloat(v)
		if err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		*dst = f
		return nil
	}
	integer := func(key string, dst *int64) error {
		var f float64
		if err := num(key, &f); err != nil {
			return err
		}
		if f != math.Trunc(f) || math.Abs(f) > 1<<62 {
			return fmt.Errorf("%s: %v is not an integer", key, f)
		}
		*dst = int64(f)
		return nil
	}
	if err := num("count", &c.Count); err != nil {
		return nil, err
	}
	if err := integer("nan_count", &c.NaNCount); err != nil {
		return nil, err
	}
	if c.Kind == KindCategorical {
		if err := integer("unique", &c.Unique); err != nil {
			return nil, err
		}
		if err := integer("freq", &c.Freq); err != nil {
			return nil, err
		}
		if v, ok := obj.get("top"); ok {
			c.Top = pyString(v)
		}
		if v, ok := obj.get("frequencies"); ok && v != nil {
			t, err := freqsFrom(v)
			if err != nil {
				return nil, fmt.Errorf("frequencies: %w", err)
			}
			c.Freqs = t
		}
		return c, nil
	}
	nan := math.NaN()
	c.Mean, c.Min, c.Q25, c.Q50, c.Q75, c.Max = nan, nan, nan, nan, nan, nan
	for _, kv := range []struct {
		k string
		p *float64
	}{{"mean", &c.Mean}, {"min", &c.Min}, {"25%", &c.Q25}, {"50%", &c.Q50}, {"75%", &c.Q75}, {"max", &c.Max}} {
		if err := num(kv.k, kv.p); err != nil {
			return nil, err
		}
	}
	if _, ok := obj.get("std"); ok {
		c.HasStd = true
		if err := num("std", &c.Std); err != nil {
			return nil, err
		}
	}
	if err := integer("inf_count", &c.InfCount); err != nil {
		return nil, err
	}
	if v, ok := obj.get("hist"); ok && v != nil {
		h, err := histFrom(v)
		if err != nil {
			return nil, fmt.Errorf("hist: %w", err)
		}
		c.Hist = h
	}
	if v, ok := obj.get("approx"); ok {
		b, isBool := v.(bool)
		if !isBool {
			return nil, fmt.Errorf("approx: %s, want a boolean", kindOf(v))
		}
		c.Approx = b
	}
	if v, ok := obj.get("sketch"); ok && v != nil {
		s, err := sketchFrom(v)
		if err != nil {
			return nil, fmt.Errorf("sketch: %w", err)
		}
		c.Sketch = s
	}
	return c, nil
}

// intFrom reads a non-negative integer.
func intFrom(v any) (int64, error) {
	f, err := toFloat(v)
	if err != nil {
		return 0, err
	}
	if f != math.Trunc(f) || f < 0 || f > 1<<62 {
		return 0, fmt.Errorf("%v is not a non-negative integer", f)
	}
	return int64(f), nil
}

func sketchFrom(v any) (*Sketch, error) {
	obj, ok := v.(*object)
	if !ok {
		return nil, fmt.Errorf("%s, want an object", kindOf(v))
	}
	mb, ok := obj.get("mantissa_bits")
	if !ok {
		return nil, errors.New("no mantissa_bits")
	}
	if m, err := intFrom(mb); err != nil || m != SketchMantissaBits {
		return nil, fmt.Errorf("mantissa_bits %v, want %d", pyString(mb), SketchMantissaBits)
	}
	s := &Sketch{}
	for _, kv := range []struct {
		k string
		p *int64
	}{{"zeros", &s.Zeros}, {"neg_inf", &s.NegInf}, {"pos_inf", &s.PosInf}} {
		if x, ok := obj.get(kv.k); ok {
			n, err := intFrom(x)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", kv.k, err)
			}
			*kv.p = n
		}
	}
	for _, kv := range []struct {
		k  string
		bk *Buckets
	}{{"neg", &s.Neg}, {"pos", &s.Pos}} {
		x, ok := obj.get(kv.k)
		if !ok {
			continue
		}
		arr, ok := x.([]any)
		if !ok || len(arr) != 2 {
			return nil, fmt.Errorf("%s: want [offset, [counts]]", kv.k)
		}
		off, err := intFrom(arr[0])
		if err != nil {
			return nil, fmt.Errorf("%s offset: %w", kv.k, err)
		}
		counts, ok := arr[1].([]any)
		if !ok {
			return nil, fmt.Errorf("%s: want [offset, [counts]]", kv.k)
		}
		bk := Buckets{Offset: int(min(off, sketchMaxKey+1))}
		for i, cv := range counts {
			f, err := toFloat(cv)
			if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<62 {
				return nil, fmt.Errorf("%s count %d: %v is not an integer", kv.k, i, pyString(cv))
			}
			n := int64(f)
			run := int64(1)
			if n < 0 { // a run of -n empty buckets
				run, n = -n, 0
			}
			if off+int64(len(bk.Counts))+run > sketchMaxKey+1 {
				return nil, fmt.Errorf("%s: buckets beyond key %d", kv.k, sketchMaxKey)
			}
			for range run {
				bk.Counts = append(bk.Counts, n)
			}
		}
		*kv.bk = bk.trimmed()
	}
	return s, nil
}

func freqsFrom(v any) (*FreqTable, error) {
	obj, ok := v.(*object)
	if !ok {
		return nil, fmt.Errorf("%s, want an object", kindOf(v))
	}
	t := &FreqTable{}
	if x, ok := obj.get("exact"); ok {
		b, isBool := x.(bool)
		if !isBool {
			return nil, fmt.Errorf("exact: %s, want a boolean", kindOf(x))
		}
		t.Exact = b
	}
	if x, ok := obj.get("other"); ok {
		n, err := intFrom(x)
		if err != nil {
			return nil, fmt.Errorf("other: %w", err)
		}
		t.Other = n
	}
	if x, ok := obj.get("values"); ok {
		arr, isArr := x.([]any)
		if !isArr {
			return nil, errors.New("values: want [[value, count], ...]")
		}
		for i, e := range arr {
			pair, isPair := e.([]any)
			if !isPair || len(pair) != 2 {
				return nil, fmt.Errorf("values %d: want [value, count]", i)
			}
			n, err := intFrom(pair[1])
			if err != nil {
				return nil, fmt.Errorf("values %d: %w", i, err)
			}
			t.Values = append(t.Values, pyString(pair[0]))
			t.Counts = append(t.Counts, n)
		}
	}
	return t, nil
}

func histFrom(v any) (*Hist, error) {
	arr, ok := v.([]any)
	if !ok || len(arr) != 2 {
		return nil, errors.New("want [[counts], [edges]]")
	}
	counts, ok1 := arr[0].([]any)
	edges, ok2 := arr[1].([]any)
	if !ok1 || !ok2 {
		return nil, errors.New("want [[counts], [edges]]")
	}
	if len(counts) == 0 || len(edges) != len(counts)+1 {
		return nil, fmt.Errorf("%d counts and %d edges, want n > 0 counts and n+1 edges", len(counts), len(edges))
	}
	h := &Hist{Counts: make([]int64, len(counts)), Edges: make([]float64, len(edges))}
	for i, x := range counts {
		f, err := toFloat(x)
		if err != nil {
			return nil, fmt.Errorf("count %d: %w", i, err)
		}
		if f != math.Trunc(f) || f < 0 || f > 1<<62 {
			return nil, fmt.Errorf("count %d: %v is not a non-negative integer", i, f)
		}
		h.Counts[i] = int64(f)
	}
	for i, x := range edges {
		f, err := toFloat(x)
		if err != nil {
			return nil, fmt.Errorf("edge %d: %w", i, err)
		}
		h.Edges[i] = f
	}
	return h, nil
}

func toFloat(v any) (float64, error) {
	switch x := v.(type) {
	case number:
		return x.f, nil
	case nil:
		return math.NaN(), nil
	default:
		return 0, fmt.Errorf("%s, want a number", kindOf(v))
	}
}

// pyString spells a scalar as Python's str() would.
func pyString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case bool:
		if x {
			return "True"
		}
		return "False"
	case number:
		return x.raw
	case nil:
		return ""
	default:
		return fmt.Sprint(x)
	}
}

func kindOf(v any) string {
	switch v.(type) {
	case *object:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case number:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	default:
		return fmt.Sprintf("%T", v)
	}
}

// ParseDataset decodes statistics JSON as UnmarshalJSON does, including
// MLRun's NaN/Infinity tokens.
func ParseDataset(b []byte) (*Dataset, error) {
	var d Dataset
	if err := d.UnmarshalJSON(b); err != nil {
		return nil, fmt.Errorf("parsing statistics: %w", err)
	}
	return &d, nil
}
