package model

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// maxNesting bounds the nesting depth of arrays and objects in JSON and UBJSON
// documents. XGBoost models nest fewer than ten levels deep.
const maxNesting = 64

// maxPrealloc caps the capacity reserved from a length read out of a file;
// beyond it slices grow by appending, so memory follows the bytes actually
// present rather than a claimed count.
const maxPrealloc = 1 << 16

type kind uint8

const (
	kindNull kind = iota
	kindBool
	kindNum
	kindStr
	kindArr
	kindObj
	kindNums // homogeneous numeric array, stored in value.nums
)

func (k kind) String() string {
	switch k {
	case kindNull:
		return "null"
	case kindBool:
		return "bool"
	case kindNum:
		return "number"
	case kindStr:
		return "string"
	case kindArr, kindNums:
		return "array"
	case kindObj:
		return "object"
	}
	return "invalid"
}

// value is a parsed JSON or UBJSON document node. Numbers hold float32-rounded
// values for floating-point literals and exact values for integer literals
// (integers beyond 2^53 lose precision; XGBoost models hold none that matter).
type value struct {
	k    kind
	b    bool
	num  float64
	str  string
	arr  []value
	obj  []field
	nums []float64
}

type field struct {
	key string
	val value
}

// get returns the member named key of an object, or nil.
func (v *value) get(key string) *value {
	if v == nil || v.k != kindObj {
		return nil
	}
	for i := range v.obj {
		if v.obj[i].key == key {
			return &v.obj[i].val
		}
	}
	return nil
}

// path follows a chain of object keys.
func (v *value) path(keys ...string) *value {
	for _, k := range keys {
		v = v.get(k)
	}
	return v
}

// asString returns a string member; XGBoost stores most scalar parameters as
// strings, but numbers are accepted too.
func (v *value) asString(what string) (string, error) {
	if v == nil {
		return "", fmt.Errorf("%w: missing %s", ErrMalformed, what)
	}
	switch v.k {
	case kindStr:
		return v.str, nil
	case kindNum:
		return strconv.FormatFloat(v.num, 'g', -1, 64), nil
	}
	return "", fmt.Errorf("%w: %s is a %s, want string", ErrMalformed, what, v.k)
}

// asIntParam reads an integer parameter stored as a string ("3") or number,
// requiring lo <= n <= hi.
func (v *value) asIntParam(what string, lo, hi int64) (int, error) {
	s, err := v.asString(what)
	if err != nil {
		return 0, err
	}
	s = strings.TrimSpace(s)
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		// Some writers store integral parameters as floats ("3.0", "1E0").
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
			return 0, fmt.Errorf("%w: %s = %q is not an integer", ErrMalformed, what, s)
		}
		n = int64(f)
	}
	if n < lo || n > hi {
		return 0, fmt.Errorf("%w: %s = %d out of range [%d, %d]", ErrMalformed, what, n, lo, hi)
	}
	return int(n), nil
}

// floats returns a numeric array as float32 values (bools count as 0/1).
// A missing member yields nil.
func (v *value) floats(what string) ([]float32, error) {
	if v == nil {
		return nil, nil
	}
	switch v.k {
	case kindNums:
		out := make([]float32, len(v.nums))
		for i, f := range v.nums {
			out[i] = float32(f)
		}
		return out, nil
	case kindArr:
		out := make([]float32, len(v.arr))
		for i := range v.arr {
			e := &v.arr[i]
			switch e.k {
			case kindNum:
				out[i] = float32(e.num)
			case kindBool:
				if e.b {
					out[i] = 1
				}
			default:
				return nil, fmt.Errorf("%w: %s[%d] is a %s, want number", ErrMalformed, what, i, e.k)
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("%w: %s is a %s, want array", ErrMalformed, what, v.k)
}

// ints returns a numeric (or boolean) array as int32 values; every element must
// be integral and within int32. A missing member yields nil.
func (v *value) ints(what string) ([]int32, error) {
	if v == nil {
		return nil, nil
	}
	conv := func(i int, f float64) (int32, error) {
		if f != math.Trunc(f) || f < math.MinInt32 || f > math.MaxInt32 {
			return 0, fmt.Errorf("%w: %s[%d] = %g is not an int32", ErrMalformed, what, i, f)
		}
		return int32(f), nil
	}
	switch v.k {
	case kindNums:
		out := make([]int32, len(v.nums))
		for i, f := range v.nums {
			n, err := conv(i, f)
			if err != nil {
				return nil, err
			}
			out[i] = n
		}
		return out, nil
	case kindArr:
		out := make([]int32, len(v.arr))
		for i := range v.arr {
			e := &v.arr[i]
			switch e.k {
			case kindNum:
				n, err := conv(i, e.num)
				if err != nil {
					return nil, err
				}
				out[i] = n
			case kindBool:
				if e.b {
					out[i] = 1
				}
			default:
				return nil, fmt.Errorf("%w: %s[%d] is a %s, want integer", ErrMalformed, what, i, e.k)
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("%w: %s is a %s, want array", ErrMalformed, what, v.k)
}

// strings returns an array of strings. A missing member yields nil.
func (v *value) strings(what string) ([]string, error) {
	if v == nil {
		return nil, nil
	}
	switch v.k {
	case kindNums:
		if len(v.nums) == 0 {
			return nil, nil
		}
	case kindArr:
		out := make([]string, len(v.arr))
		for i := range v.arr {
			if v.arr[i].k != kindStr {
				return nil, fmt.Errorf("%w: %s[%d] is a %s, want string", ErrMalformed, what, i, v.arr[i].k)
			}
			out[i] = v.arr[i].str
		}
		return out, nil
	}
	return nil, fmt.Errorf("%w: %s is a %s, want array of strings", ErrMalformed, what, v.k)
}
