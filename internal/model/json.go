package model

import (
	"fmt"
	"math"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// jsonParser is a small JSON reader for model files. Unlike encoding/json it
// accepts the non-standard tokens XGBoost writes for non-finite floats (NaN,
// Infinity, -Infinity; also inf/nan spellings), and it stores numeric arrays
// compactly. Floating-point literals are rounded directly to float32 (the
// precision XGBoost stores), integer literals are kept exact.
type jsonParser struct {
	data  []byte
	pos   int
	depth int
}

func parseJSON(data []byte) (value, error) {
	p := &jsonParser{data: data}
	p.skipSpace()
	v, err := p.parseValue()
	if err != nil {
		return value{}, err
	}
	p.skipSpace()
	if p.pos != len(p.data) {
		return value{}, p.errorf("trailing data after the top-level value")
	}
	return v, nil
}

func (p *jsonParser) errorf(format string, args ...any) error {
	return fmt.Errorf("%w: json at byte %d: %s", ErrMalformed, p.pos, fmt.Sprintf(format, args...))
}

func (p *jsonParser) skipSpace() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *jsonParser) parseValue() (value, error) {
	if p.pos >= len(p.data) {
		return value{}, p.errorf("unexpected end of input")
	}
	switch c := p.data[p.pos]; {
	case c == '{':
		return p.parseObject()
	case c == '[':
		return p.parseArray()
	case c == '"':
		s, err := p.parseString()
		return value{k: kindStr, str: s}, err
	case c == 't':
		return value{k: kindBool, b: true}, p.literal("true")
	case c == 'f':
		return value{k: kindBool}, p.literal("false")
	case c == 'n' && p.pos+1 < len(p.data) && p.data[p.pos+1] == 'u':
		return value{}, p.literal("null")
	case isNumberStart(c):
		f, err := p.parseNumber()
		return value{k: kindNum, num: f}, err
	}
	return value{}, p.errorf("unexpected character %q", p.data[p.pos])
}

func isNumberStart(c byte) bool {
	return c == '-' || c == '+' || (c >= '0' && c <= '9') || c == 'N' || c == 'I' || c == 'n' || c == 'i'
}

func (p *jsonParser) literal(word string) error {
	if len(p.data)-p.pos < len(word) || string(p.data[p.pos:p.pos+len(word)]) != word {
		return p.errorf("invalid literal")
	}
	p.pos += len(word)
	return nil
}

// parseNumber reads a JSON number or a non-finite token. Literals with a
// fraction or exponent are parsed straight to float32; integers exactly.
func (p *jsonParser) parseNumber() (float64, error) {
	start := p.pos
	isFloat := false
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		if (c >= '0' && c <= '9') || c == '-' || c == '+' {
			p.pos++
			continue
		}
		if c == '.' || c == 'e' || c == 'E' {
			isFloat = true
			p.pos++
			continue
		}
		if (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') {
			// NaN, Infinity, inf, nan: letters other than e/E.
			isFloat = true
			p.pos++
			continue
		}
		break
	}
	tok := string(p.data[start:p.pos])
	switch tok {
	case "NaN", "-NaN", "nan", "-nan", "+NaN":
		return math.NaN(), nil
	case "Infinity", "+Infinity", "inf", "+inf", "Inf":
		return math.Inf(1), nil
	case "-Infinity", "-inf", "-Inf":
		return math.Inf(-1), nil
	}
	if !isFloat {
		if n, err := strconv.ParseInt(tok, 10, 64); err == nil {
			return float64(n), nil
		}
		// Very long integers fall through to float parsing.
	}
	// Reject hex floats, underscores and the like that ParseFloat accepts.
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		if !((c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E') {
			p.pos = start
			return 0, p.errorf("invalid number %q", truncate(tok))
		}
	}
	f, err := strconv.ParseFloat(tok, 32)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return f, nil // ±Inf or 0, as a C++ reader would produce
		}
		p.pos = start
		return 0, p.errorf("invalid number %q", truncate(tok))
	}
	return f, nil
}

func truncate(s string) string {
	if len(s) > 32 {
		return s[:32] + "..."
	}
	return s
}

func (p *jsonParser) parseString() (string, error) {
	p.pos++ // opening quote
	start := p.pos
	// Fast path: no escapes.
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		if c == '"' {
			s := string(p.data[start:p.pos])
			p.pos++
			return s, nil
		}
		if c == '\\' {
			break
		}
		if c < 0x20 {
			return "", p.errorf("control character in string")
		}
		p.pos++
	}
	buf := append([]byte(nil), p.data[start:p.pos]...)
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		switch {
		case c == '"':
			p.pos++
			return string(buf), nil
		case c < 0x20:
			return "", p.errorf("control character in string")
		case c != '\\':
			buf = append(buf, c)
			p.pos++
			continue
		}
		if p.pos+1 >= len(p.data) {
			break
		}
		e := p.data[p.pos+1]
		p.pos += 2
		switch e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, ok := p.hex4()
			if !ok {
				return "", p.errorf("invalid \\u escape")
			}
			if utf16.IsSurrogate(r) {
				r2 := rune(utf8.RuneError)
				if p.pos+1 < len(p.data) && p.data[p.pos] == '\\' && p.data[p.pos+1] == 'u' {
					p.pos += 2
					lo, ok := p.hex4()
					if !ok {
						return "", p.errorf("invalid \\u escape")
					}
					r2 = lo
				}
				r = utf16.DecodeRune(r, r2)
			}
			buf = utf8.AppendRune(buf, r)
		default:
			return "", p.errorf("invalid escape \\%c", e)
		}
	}
	return "", p.errorf("unterminated string")
}

func (p *jsonParser) hex4() (rune, bool) {
	if len(p.data)-p.pos < 4 {
		return 0, false
	}
	var r rune
	for i := 0; i < 4; i++ {
		c := p.data[p.pos+i]
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(d)
	}
	p.pos += 4
	return r, true
}

func (p *jsonParser) enter() error {
	p.depth++
	if p.depth > maxNesting {
		return p.errorf("nesting deeper than %d", maxNesting)
	}
	return nil
}

func (p *jsonParser) parseArray() (value, error) {
	if err := p.enter(); err != nil {
		return value{}, err
	}
	defer func() { p.depth-- }()
	p.pos++ // [
	var nums []float64
	var elems []value
	numeric := true
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == ']' {
		p.pos++
		return value{k: kindNums}, nil
	}
	for {
		p.skipSpace()
		if p.pos >= len(p.data) {
			return value{}, p.errorf("unterminated array")
		}
		c := p.data[p.pos]
		if numeric && isNumberStart(c) && !(c == 'n' && p.pos+1 < len(p.data) && p.data[p.pos+1] == 'u') {
			f, err := p.parseNumber()
			if err != nil {
				return value{}, err
			}
			nums = append(nums, f)
		} else {
			if numeric {
				numeric = false
				elems = make([]value, len(nums), len(nums)+1)
				for i, f := range nums {
					elems[i] = value{k: kindNum, num: f}
				}
				nums = nil
			}
			v, err := p.parseValue()
			if err != nil {
				return value{}, err
			}
			elems = append(elems, v)
		}
		p.skipSpace()
		if p.pos >= len(p.data) {
			return value{}, p.errorf("unterminated array")
		}
		switch p.data[p.pos] {
		case ',':
			p.pos++
		case ']':
			p.pos++
			if numeric {
				return value{k: kindNums, nums: nums}, nil
			}
			return value{k: kindArr, arr: elems}, nil
		default:
			return value{}, p.errorf("expected ',' or ']' in array")
		}
	}
}

func (p *jsonParser) parseObject() (value, error) {
	if err := p.enter(); err != nil {
		return value{}, err
	}
	defer func() { p.depth-- }()
	p.pos++ // {
	var fields []field
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == '}' {
		p.pos++
		return value{k: kindObj}, nil
	}
	for {
		p.skipSpace()
		if p.pos >= len(p.data) || p.data[p.pos] != '"' {
			return value{}, p.errorf("expected object key")
		}
		key, err := p.parseString()
		if err != nil {
			return value{}, err
		}
		p.skipSpace()
		if p.pos >= len(p.data) || p.data[p.pos] != ':' {
			return value{}, p.errorf("expected ':' after object key")
		}
		p.pos++
		p.skipSpace()
		v, err := p.parseValue()
		if err != nil {
			return value{}, err
		}
		fields = append(fields, field{key: key, val: v})
		p.skipSpace()
		if p.pos >= len(p.data) {
			return value{}, p.errorf("unterminated object")
		}
		switch p.data[p.pos] {
		case ',':
			p.pos++
		case '}':
			p.pos++
			return value{k: kindObj, obj: fields}, nil
		default:
			return value{}, p.errorf("expected ',' or '}' in object")
		}
	}
}
