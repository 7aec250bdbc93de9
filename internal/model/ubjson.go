package model

import (
	"encoding/binary"
	"fmt"
	"math"
)

// ubjParser reads Universal Binary JSON (draft 12, big-endian) as XGBoost
// writes it: objects whose keys carry a length prefix, strings 'S', integers
// i/U/I/l/L, floats d/D, and optimized containers "[$<type>#<count>" (typed
// numeric arrays) or "[#<count>" (counted arrays). Every count is checked
// against the bytes that remain before anything is allocated.
type ubjParser struct {
	data  []byte
	pos   int
	depth int
}

func parseUBJSON(data []byte) (value, error) {
	p := &ubjParser{data: data}
	v, err := p.parseValue()
	if err != nil {
		return value{}, err
	}
	p.skipNoop()
	if p.pos != len(p.data) {
		return value{}, p.errorf("trailing data after the top-level value")
	}
	return v, nil
}

func (p *ubjParser) errorf(format string, args ...any) error {
	return fmt.Errorf("%w: ubjson at byte %d: %s", ErrMalformed, p.pos, fmt.Sprintf(format, args...))
}

func (p *ubjParser) remaining() int { return len(p.data) - p.pos }

func (p *ubjParser) skipNoop() {
	for p.pos < len(p.data) && p.data[p.pos] == 'N' {
		p.pos++
	}
}

func (p *ubjParser) marker() (byte, error) {
	p.skipNoop()
	if p.pos >= len(p.data) {
		return 0, p.errorf("unexpected end of input")
	}
	c := p.data[p.pos]
	p.pos++
	return c, nil
}

func (p *ubjParser) take(n int) ([]byte, error) {
	if n < 0 || n > p.remaining() {
		return nil, p.errorf("length %d exceeds the %d bytes left", n, p.remaining())
	}
	b := p.data[p.pos : p.pos+n]
	p.pos += n
	return b, nil
}

// scalarSize is the payload size of a fixed-size scalar type marker, or 0.
func scalarSize(t byte) int {
	switch t {
	case 'i', 'U', 'C':
		return 1
	case 'I':
		return 2
	case 'l', 'd':
		return 4
	case 'L', 'D':
		return 8
	}
	return 0
}

// number decodes the payload of a numeric type marker t. Integers are exact;
// 'd' is a float32, 'D' a float64 (kept as float64).
func (p *ubjParser) number(t byte) (float64, error) {
	n := scalarSize(t)
	if n == 0 || t == 'C' {
		return 0, p.errorf("type %q is not a number", t)
	}
	b, err := p.take(n)
	if err != nil {
		return 0, err
	}
	switch t {
	case 'i':
		return float64(int8(b[0])), nil
	case 'U':
		return float64(b[0]), nil
	case 'I':
		return float64(int16(binary.BigEndian.Uint16(b))), nil
	case 'l':
		return float64(int32(binary.BigEndian.Uint32(b))), nil
	case 'L':
		return float64(int64(binary.BigEndian.Uint64(b))), nil
	case 'd':
		return float64(math.Float32frombits(binary.BigEndian.Uint32(b))), nil
	default: // 'D'
		return math.Float64frombits(binary.BigEndian.Uint64(b)), nil
	}
}

// length reads an integer length (type marker then payload) and checks it is
// non-negative.
func (p *ubjParser) length() (int, error) {
	t, err := p.marker()
	if err != nil {
		return 0, err
	}
	switch t {
	case 'i', 'U', 'I', 'l', 'L':
	default:
		return 0, p.errorf("length has non-integer type %q", t)
	}
	f, err := p.number(t)
	if err != nil {
		return 0, err
	}
	if f < 0 || f > float64(len(p.data)) {
		return 0, p.errorf("length %g out of range", f)
	}
	return int(f), nil
}

func (p *ubjParser) str() (string, error) {
	n, err := p.length()
	if err != nil {
		return "", err
	}
	b, err := p.take(n)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

func (p *ubjParser) enter() error {
	p.depth++
	if p.depth > maxNesting {
		return p.errorf("nesting deeper than %d", maxNesting)
	}
	return nil
}

func (p *ubjParser) parseValue() (value, error) {
	t, err := p.marker()
	if err != nil {
		return value{}, err
	}
	return p.valueOfType(t)
}

func (p *ubjParser) valueOfType(t byte) (value, error) {
	switch t {
	case 'Z':
		return value{}, nil
	case 'T':
		return value{k: kindBool, b: true}, nil
	case 'F':
		return value{k: kindBool}, nil
	case 'i', 'U', 'I', 'l', 'L', 'd', 'D':
		f, err := p.number(t)
		if t == 'd' || t == 'D' {
			f = float64(float32(f)) // model floats are float32
		}
		return value{k: kindNum, num: f}, err
	case 'C':
		b, err := p.take(1)
		if err != nil {
			return value{}, err
		}
		return value{k: kindStr, str: string(b)}, nil
	case 'S':
		s, err := p.str()
		return value{k: kindStr, str: s}, err
	case 'H':
		// High-precision number: a decimal string. Parse it like JSON text.
		s, err := p.str()
		if err != nil {
			return value{}, err
		}
		jp := &jsonParser{data: []byte(s)}
		f, err := jp.parseNumber()
		if err != nil || jp.pos != len(s) {
			return value{}, p.errorf("invalid high-precision number")
		}
		return value{k: kindNum, num: f}, nil
	case '[':
		return p.parseArray()
	case '{':
		return p.parseObject()
	}
	return value{}, p.errorf("unknown type marker %q", t)
}

// header reads the optional "$<type>" and "#<count>" of a container. count is
// -1 when absent.
func (p *ubjParser) header() (elemType byte, count int, err error) {
	count = -1
	if p.pos < len(p.data) && p.data[p.pos] == '$' {
		p.pos++
		if p.pos >= len(p.data) {
			return 0, 0, p.errorf("unexpected end of input")
		}
		elemType = p.data[p.pos]
		p.pos++
		if p.pos >= len(p.data) || p.data[p.pos] != '#' {
			return 0, 0, p.errorf("typed container without count")
		}
	}
	if p.pos < len(p.data) && p.data[p.pos] == '#' {
		p.pos++
		count, err = p.length()
		if err != nil {
			return 0, 0, err
		}
	}
	return elemType, count, nil
}

func (p *ubjParser) parseArray() (value, error) {
	if err := p.enter(); err != nil {
		return value{}, err
	}
	defer func() { p.depth-- }()
	elemType, count, err := p.header()
	if err != nil {
		return value{}, err
	}
	if elemType != 0 {
		return p.typedArray(elemType, count)
	}
	var nums []float64
	var elems []value
	numeric := true
	if count >= 0 {
		// Each element takes at least one byte.
		if count > p.remaining() {
			return value{}, p.errorf("array count %d exceeds the %d bytes left", count, p.remaining())
		}
	}
	for i := 0; count < 0 || i < count; i++ {
		t, err := p.marker()
		if err != nil {
			return value{}, err
		}
		if count < 0 && t == ']' {
			break
		}
		v, err := p.valueOfType(t)
		if err != nil {
			return value{}, err
		}
		if numeric && v.k == kindNum {
			if nums == nil && count > 0 {
				nums = make([]float64, 0, min(count, maxPrealloc))
			}
			nums = append(nums, v.num)
			continue
		}
		if numeric {
			numeric = false
			elems = make([]value, len(nums), len(nums)+1)
			for j, f := range nums {
				elems[j] = value{k: kindNum, num: f}
			}
			nums = nil
		}
		elems = append(elems, v)
	}
	if numeric {
		return value{k: kindNums, nums: nums}, nil
	}
	return value{k: kindArr, arr: elems}, nil
}

func (p *ubjParser) typedArray(t byte, count int) (value, error) {
	size := scalarSize(t)
	switch {
	case t == 'C' || t == 'H' || t == 'S' || t == '[' || t == '{':
		// Typed arrays of strings or containers: parse element by element.
		// Each element takes at least one byte.
		if count > p.remaining() {
			return value{}, p.errorf("array count %d exceeds the %d bytes left", count, p.remaining())
		}
		elems := make([]value, 0, min(count, maxPrealloc))
		for i := 0; i < count; i++ {
			v, err := p.valueOfType(t)
			if err != nil {
				return value{}, err
			}
			elems = append(elems, v)
		}
		return value{k: kindArr, arr: elems}, nil
	case size == 0:
		// Z, T, F, N payloads are empty, so a count could claim anything.
		return value{}, p.errorf("typed array of %q is not supported", t)
	}
	if count > p.remaining()/size {
		return value{}, p.errorf("typed array of %d x %d bytes exceeds the %d bytes left", count, size, p.remaining())
	}
	nums := make([]float64, count)
	for i := range nums {
		f, err := p.number(t)
		if err != nil {
			return value{}, err
		}
		if t == 'd' || t == 'D' {
			f = float64(float32(f))
		}
		nums[i] = f
	}
	return value{k: kindNums, nums: nums}, nil
}

func (p *ubjParser) parseObject() (value, error) {
	if err := p.enter(); err != nil {
		return value{}, err
	}
	defer func() { p.depth-- }()
	elemType, count, err := p.header()
	if err != nil {
		return value{}, err
	}
	if count >= 0 && count > p.remaining() {
		return value{}, p.errorf("object count %d exceeds the %d bytes left", count, p.remaining())
	}
	if elemType != 0 && scalarSize(elemType) == 0 && elemType != 'S' && elemType != 'H' &&
		elemType != '[' && elemType != '{' {
		return value{}, p.errorf("typed object of %q is not supported", elemType)
	}
	var fields []field
	for i := 0; count < 0 || i < count; i++ {
		if count < 0 {
			p.skipNoop()
			if p.pos < len(p.data) && p.data[p.pos] == '}' {
				p.pos++
				break
			}
		}
		key, err := p.str()
		if err != nil {
			return value{}, err
		}
		var v value
		if elemType != 0 {
			v, err = p.valueOfType(elemType)
		} else {
			v, err = p.parseValue()
		}
		if err != nil {
			return value{}, err
		}
		fields = append(fields, field{key: key, val: v})
	}
	return value{k: kindObj, obj: fields}, nil
}
