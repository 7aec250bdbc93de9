package sklearn

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/batchinfer/batchinfer/internal/model"
	"github.com/batchinfer/batchinfer/internal/model/pickle"
)

// dtype is a decoded numpy dtype: a scalar type or a structured record.
type dtype struct {
	kind   byte // 'f', 'i', 'u', 'b', 'O', 'U', 'S', 'V'
	size   int  // bytes per element
	big    bool // big-endian
	fields []dfield
}

type dfield struct {
	name string
	dt   *dtype
	off  int
}

func (d *dtype) String() string {
	if d.fields != nil {
		return fmt.Sprintf("record[%d fields, %d bytes]", len(d.fields), d.size)
	}
	return fmt.Sprintf("%c%d", d.kind, d.size)
}

func (d *dtype) field(name string) *dfield {
	for i := range d.fields {
		if d.fields[i].name == name {
			return &d.fields[i]
		}
	}
	return nil
}

// ndarray is a decoded numpy array in C (row-major) order: raw element bytes,
// or the Python values of an object array.
type ndarray struct {
	shape []int
	dt    *dtype
	data  []byte
	objs  []any
}

func (a *ndarray) len() int {
	n := 1
	for _, d := range a.shape {
		n *= d
	}
	return n
}

// numpy decodes the numpy values of one parsed pickle. It caches decoded
// dtypes and arrays by the identity of their pickle objects, which pickles
// share through the memo.
type numpy struct {
	dtypes map[*pickle.Object]*dtype
	arrays map[*pickle.Object]*ndarray
}

func newNumpy() *numpy {
	return &numpy{dtypes: map[*pickle.Object]*dtype{}, arrays: map[*pickle.Object]*ndarray{}}
}

func malformedf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", model.ErrMalformed, fmt.Sprintf(format, args...))
}

func unsupportedf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", model.ErrUnsupported, fmt.Sprintf(format, args...))
}

func isNumpyName(o *pickle.Object, module, name string) bool {
	if o.Name != name {
		return false
	}
	return o.Module == module || o.Module == strings.Replace(module, "numpy.core.", "numpy._core.", 1)
}

// decodeDtype decodes numpy.dtype(spec, align, copy) with its BUILD state
// (version, byteorder, subarray, names, fields, itemsize, alignment, flags).
func (np *numpy) decodeDtype(v any, depth int) (*dtype, error) {
	o, ok := v.(*pickle.Object)
	if !ok || o.Module != "numpy" || o.Name != "dtype" {
		return nil, malformedf("numpy dtype is a %s", pickle.TypeName(v))
	}
	if d, ok := np.dtypes[o]; ok {
		if d == nil {
			return nil, malformedf("numpy dtype contains itself")
		}
		return d, nil
	}
	if depth > 8 {
		return nil, unsupportedf("numpy dtype nested deeper than 8 levels")
	}
	np.dtypes[o] = nil // in progress: catches self-reference
	if len(o.Args) < 1 {
		return nil, malformedf("numpy dtype without a type code")
	}
	spec, ok := o.Args[0].(string)
	if !ok || spec == "" {
		return nil, malformedf("numpy dtype type code is a %s", pickle.TypeName(o.Args[0]))
	}
	d := &dtype{kind: spec[0]}
	size := 0
	if len(spec) > 1 {
		n, err := strconv.Atoi(spec[1:])
		if err != nil || n < 0 || n > 1<<20 {
			return nil, unsupportedf("numpy dtype %q", spec)
		}
		size = n
	}
	switch d.kind {
	case 'f':
		if size != 4 && size != 8 {
			return nil, unsupportedf("numpy dtype %q", spec)
		}
	case 'i', 'u':
		if size != 1 && size != 2 && size != 4 && size != 8 {
			return nil, unsupportedf("numpy dtype %q", spec)
		}
	case 'b':
		size = 1
	case 'O':
		size = 8
	case 'U':
		size *= 4
	case 'S', 'V':
	default:
		return nil, unsupportedf("numpy dtype %q", spec)
	}
	d.size = size
	if st, ok := o.State.(pickle.Tuple); ok {
		if len(st) < 8 {
			return nil, malformedf("numpy dtype state has %d items", len(st))
		}
		if order, ok := st[1].(string); ok && order == ">" {
			d.big = true
		}
		if st[2] != nil {
			return nil, unsupportedf("numpy sub-array dtypes")
		}
		if n, ok := st[5].(int64); ok && n > 0 {
			if n > 1<<20 {
				return nil, unsupportedf("numpy dtype of %d bytes", n)
			}
			if d.kind != 'V' && d.kind != 'U' && d.kind != 'S' && int(n) != d.size {
				return nil, malformedf("numpy dtype %q with item size %d", spec, n)
			}
			d.size = int(n)
		}
		if st[3] != nil {
			if d.kind != 'V' {
				return nil, malformedf("numpy dtype %q with fields", spec)
			}
			names, ok1 := st[3].(pickle.Tuple)
			fields, ok2 := st[4].(*pickle.Dict)
			if !ok1 || !ok2 {
				return nil, malformedf("numpy record dtype with names %s and fields %s", pickle.TypeName(st[3]), pickle.TypeName(st[4]))
			}
			d.fields = make([]dfield, 0, min(len(names), 64))
			for _, nv := range names {
				name, ok := nv.(string)
				if !ok {
					return nil, malformedf("numpy record field name is a %s", pickle.TypeName(nv))
				}
				fv, ok := fields.Get(name)
				ft, ok2 := fv.(pickle.Tuple)
				if !ok || !ok2 || len(ft) < 2 {
					return nil, malformedf("numpy record field %q has no (dtype, offset)", name)
				}
				sub, err := np.decodeDtype(ft[0], depth+1)
				if err != nil {
					return nil, err
				}
				off, ok := ft[1].(int64)
				if !ok || off < 0 || off+int64(sub.size) > int64(d.size) {
					return nil, malformedf("numpy record field %q at offset %v does not fit %d bytes", name, ft[1], d.size)
				}
				d.fields = append(d.fields, dfield{name: name, dt: sub, off: int(off)})
			}
		}
	}
	if d.kind == 'V' && d.size == 0 {
		return nil, unsupportedf("empty numpy void dtype")
	}
	np.dtypes[o] = d
	return d, nil
}

// decodeShape decodes a shape tuple and returns it with its element count.
func decodeShape(v any) ([]int, int, error) {
	t, ok := v.(pickle.Tuple)
	if !ok {
		// A bare integer is a 1-d shape.
		if n, ok := v.(int64); ok {
			t = pickle.Tuple{n}
		} else {
			return nil, 0, malformedf("numpy shape is a %s", pickle.TypeName(v))
		}
	}
	if len(t) > 32 {
		return nil, 0, malformedf("numpy array with %d dimensions", len(t))
	}
	shape := make([]int, len(t))
	count := int64(1)
	for i, dv := range t {
		d, ok := dv.(int64)
		if !ok || d < 0 || d > math.MaxInt32 {
			return nil, 0, malformedf("numpy shape dimension %v", dv)
		}
		shape[i] = int(d)
		count *= d
		if count > math.MaxInt32 {
			return nil, 0, malformedf("numpy array of more than %d elements", math.MaxInt32)
		}
	}
	return shape, int(count), nil
}

// newArray checks and builds an array from raw bytes in C or Fortran order.
func newArray(shape []int, count int, dt *dtype, fortran bool, data []byte) (*ndarray, error) {
	if dt.kind == 'O' {
		return nil, malformedf("numpy object array with raw bytes")
	}
	if int64(count)*int64(dt.size) != int64(len(data)) {
		return nil, malformedf("numpy array of %d x %d-byte elements with %d bytes", count, dt.size, len(data))
	}
	a := &ndarray{shape: shape, dt: dt, data: data}
	if fortran && len(shape) > 1 && count > 1 {
		a.data = fortranToC(shape, dt.size, data)
	}
	return a, nil
}

// fortranToC reorders the bytes of a column-major array into row-major order.
func fortranToC(shape []int, size int, data []byte) []byte {
	out := make([]byte, len(data))
	n := len(data) / size
	idx := make([]int, len(shape))
	for c := range n { // c: row-major flat index, idx its multi-index
		f, stride := 0, 1
		for k := range shape {
			f += idx[k] * stride
			stride *= shape[k]
		}
		copy(out[c*size:(c+1)*size], data[f*size:(f+1)*size])
		for k := len(shape) - 1; k >= 0; k-- {
			idx[k]++
			if idx[k] < shape[k] {
				break
			}
			idx[k] = 0
		}
	}
	return out
}

// decodeArray decodes a numpy array from its pickled form:
// numpy.core.multiarray._reconstruct + BUILD state (protocols 0-4),
// numpy.core.numeric._frombuffer (protocol 5), or an array already read by the
// joblib hook.
func (np *numpy) decodeArray(v any) (*ndarray, error) {
	switch v := v.(type) {
	case *ndarray:
		return v, nil
	case *pickle.Object:
		if a, ok := np.arrays[v]; ok {
			return a, nil
		}
		a, err := np.decodeArrayObject(v)
		if err != nil {
			return nil, err
		}
		np.arrays[v] = a
		return a, nil
	}
	return nil, malformedf("expected a numpy array, found a %s", pickle.TypeName(v))
}

func (np *numpy) decodeArrayObject(o *pickle.Object) (*ndarray, error) {
	switch {
	case isNumpyName(o, "numpy.core.multiarray", "_reconstruct"):
		if len(o.Args) < 1 {
			return nil, malformedf("numpy _reconstruct without arguments")
		}
		if g, ok := o.Args[0].(*pickle.Global); !ok || g.Module != "numpy" || g.Name != "ndarray" {
			return nil, unsupportedf("numpy array subclass %s", pickle.TypeName(o.Args[0]))
		}
		st, ok := o.State.(pickle.Tuple)
		if !ok {
			return nil, malformedf("numpy array state is a %s", pickle.TypeName(o.State))
		}
		if len(st) == 5 {
			st = st[1:] // drop the version
		}
		if len(st) != 4 {
			return nil, malformedf("numpy array state has %d items", len(st))
		}
		shape, count, err := decodeShape(st[0])
		if err != nil {
			return nil, err
		}
		dt, err := np.decodeDtype(st[1], 0)
		if err != nil {
			return nil, err
		}
		fortran, _ := st[2].(bool)
		if dt.kind == 'O' {
			l, ok := st[3].(*pickle.List)
			if !ok {
				return nil, malformedf("numpy object array data is a %s", pickle.TypeName(st[3]))
			}
			if len(l.Items) != count {
				return nil, malformedf("numpy object array of %d elements with %d values", count, len(l.Items))
			}
			objs := l.Items
			if fortran && len(shape) > 1 {
				objs = fortranObjs(shape, objs)
			}
			return &ndarray{shape: shape, dt: dt, objs: objs}, nil
		}
		var data []byte
		switch d := st[3].(type) {
		case []byte:
			data = d
		case string: // protocol 0-2 pickles written by Python 2
			data = []byte(d)
		default:
			return nil, malformedf("numpy array data is a %s", pickle.TypeName(st[3]))
		}
		return newArray(shape, count, dt, fortran, data)
	case isNumpyName(o, "numpy.core.numeric", "_frombuffer"):
		if len(o.Args) != 4 {
			return nil, malformedf("numpy _frombuffer with %d arguments", len(o.Args))
		}
		data, ok := o.Args[0].([]byte)
		if !ok {
			return nil, malformedf("numpy _frombuffer buffer is a %s", pickle.TypeName(o.Args[0]))
		}
		dt, err := np.decodeDtype(o.Args[1], 0)
		if err != nil {
			return nil, err
		}
		shape, count, err := decodeShape(o.Args[2])
		if err != nil {
			return nil, err
		}
		order, _ := o.Args[3].(string)
		return newArray(shape, count, dt, order == "F", data)
	}
	return nil, malformedf("expected a numpy array, found %s.%s", o.Module, o.Name)
}

func fortranObjs(shape []int, objs []any) []any {
	out := make([]any, len(objs))
	idx := make([]int, len(shape))
	for c := range objs {
		f, stride := 0, 1
		for k := range shape {
			f += idx[k] * stride
			stride *= shape[k]
		}
		out[c] = objs[f]
		for k := len(shape) - 1; k >= 0; k-- {
			idx[k]++
			if idx[k] < shape[k] {
				break
			}
			idx[k] = 0
		}
	}
	return out
}

// readJoblibArray is the pickle.Options.AfterBuild hook for joblib files:
// after a joblib.numpy_pickle.NumpyArrayWrapper, joblib writes the array's
// bytes (optionally after alignment padding) straight into the stream, or a
// nested pickle for arrays of Python objects.
func (np *numpy) readJoblibArray(o *pickle.Object, s *pickle.Stream) (any, error) {
	if o.Module != "joblib.numpy_pickle" || o.Name != "NumpyArrayWrapper" {
		return o, nil
	}
	st, ok := o.State.(*pickle.Dict)
	if !ok {
		return nil, malformedf("joblib array wrapper state is a %s", pickle.TypeName(o.State))
	}
	dv, _ := st.Get("dtype")
	dt, err := np.decodeDtype(dv, 0)
	if err != nil {
		return nil, err
	}
	sv, _ := st.Get("shape")
	shape, count, err := decodeShape(sv)
	if err != nil {
		return nil, err
	}
	if dt.kind == 'O' {
		v, err := s.Parse()
		if err != nil {
			return nil, err
		}
		a, err := np.decodeArray(v)
		if err != nil {
			return nil, err
		}
		if a.len() != count {
			return nil, malformedf("joblib object array of %d elements holds %d", count, a.len())
		}
		return a, nil
	}
	if av, ok := st.Get("numpy_array_alignment_bytes"); ok && av != nil {
		pad, err := s.ReadByte()
		if err != nil {
			return nil, err
		}
		if pad > 0 {
			if _, err := s.Read(int64(pad)); err != nil {
				return nil, err
			}
		}
	}
	data, err := s.Read(int64(count) * int64(dt.size))
	if err != nil {
		return nil, err
	}
	ov, _ := st.Get("order")
	order, _ := ov.(string)
	return newArray(shape, count, dt, order == "F", data)
}

// decodeScalar decodes numpy.core.multiarray.scalar(dtype, bytes).
func (np *numpy) decodeScalar(o *pickle.Object) (any, error) {
	if len(o.Args) != 2 {
		return nil, malformedf("numpy scalar with %d arguments", len(o.Args))
	}
	dt, err := np.decodeDtype(o.Args[0], 0)
	if err != nil {
		return nil, err
	}
	if dt.kind == 'O' {
		return o.Args[1], nil
	}
	var b []byte
	switch d := o.Args[1].(type) {
	case []byte:
		b = d
	case string:
		b = []byte(d)
	default:
		return nil, malformedf("numpy scalar data is a %s", pickle.TypeName(o.Args[1]))
	}
	if len(b) != dt.size || dt.fields != nil {
		return nil, malformedf("numpy scalar of type %s with %d bytes", dt, len(b))
	}
	switch dt.kind {
	case 'f':
		return elemFloat(dt, b), nil
	case 'i', 'u', 'b':
		v, _ := elemInt(dt, b)
		return v, nil
	case 'U', 'S':
		return elemString(dt, b), nil
	}
	return nil, unsupportedf("numpy scalar of type %s", dt)
}

func (d *dtype) order() binary.ByteOrder {
	if d.big {
		return binary.BigEndian
	}
	return binary.LittleEndian
}

// elemFloat converts one element of a numeric dtype to float64.
func elemFloat(d *dtype, b []byte) float64 {
	switch d.kind {
	case 'f':
		if d.size == 4 {
			return float64(math.Float32frombits(d.order().Uint32(b)))
		}
		return math.Float64frombits(d.order().Uint64(b))
	case 'i', 'u', 'b':
		v, u := elemInt(d, b)
		if d.kind == 'u' {
			return float64(u)
		}
		return float64(v)
	}
	return math.NaN()
}

// elemInt converts one element of an integer or bool dtype, as signed and as
// unsigned.
func elemInt(d *dtype, b []byte) (int64, uint64) {
	var u uint64
	switch d.size {
	case 1:
		u = uint64(b[0])
	case 2:
		u = uint64(d.order().Uint16(b))
	case 4:
		u = uint64(d.order().Uint32(b))
	case 8:
		u = d.order().Uint64(b)
	}
	if d.kind == 'i' {
		shift := 64 - 8*uint(d.size)
		return int64(u<<shift) >> shift, u
	}
	if d.kind == 'b' && u != 0 {
		u = 1
	}
	return int64(u), u
}

func elemString(d *dtype, b []byte) string {
	if d.kind == 'S' {
		end := len(b)
		for end > 0 && b[end-1] == 0 {
			end--
		}
		return string(b[:end])
	}
	var sb strings.Builder
	for i := 0; i+4 <= len(b); i += 4 {
		r := rune(d.order().Uint32(b[i:]))
		if r == 0 {
			break
		}
		if !utf8.ValidRune(r) {
			r = utf8.RuneError
		}
		sb.WriteRune(r)
	}
	return sb.String()
}

// floats returns the elements of a numeric array as float64.
func (a *ndarray) floats() ([]float64, error) {
	switch a.dt.kind {
	case 'f', 'i', 'u', 'b':
	default:
		return nil, malformedf("numpy array of %s where numbers are expected", a.dt)
	}
	if a.dt.fields != nil {
		return nil, malformedf("numpy record array where numbers are expected")
	}
	n := a.len()
	out := make([]float64, n)
	for i := range n {
		out[i] = elemFloat(a.dt, a.data[i*a.dt.size:])
	}
	return out, nil
}

// ints returns the elements of an integer or bool array.
func (a *ndarray) ints() ([]int64, error) {
	switch a.dt.kind {
	case 'i', 'u', 'b':
	default:
		return nil, malformedf("numpy array of %s where integers are expected", a.dt)
	}
	n := a.len()
	out := make([]int64, n)
	for i := range n {
		v, u := elemInt(a.dt, a.data[i*a.dt.size:])
		if a.dt.kind == 'u' && u > math.MaxInt64 {
			return nil, malformedf("integer %d out of range", u)
		}
		out[i] = v
	}
	return out, nil
}

// labels returns the elements of a 1-d array as numbers (when numeric) or as
// strings.
func (a *ndarray) labels() ([]float64, []string, error) {
	switch a.dt.kind {
	case 'f', 'i', 'u', 'b':
		f, err := a.floats()
		if err != nil {
			return nil, nil, err
		}
		s := make([]string, len(f))
		for i, v := range f {
			s[i] = strconv.FormatFloat(v, 'g', -1, 64)
		}
		return f, s, nil
	case 'U', 'S':
		n := a.len()
		s := make([]string, n)
		for i := range n {
			s[i] = elemString(a.dt, a.data[i*a.dt.size:(i+1)*a.dt.size])
		}
		return nil, s, nil
	case 'O':
		s := make([]string, len(a.objs))
		var f []float64
		numeric := true
		for _, v := range a.objs {
			switch v.(type) {
			case int64, float64, bool:
			default:
				numeric = false
			}
		}
		if numeric {
			f = make([]float64, len(a.objs))
		}
		for i, v := range a.objs {
			switch v := v.(type) {
			case string:
				s[i] = v
			case int64:
				s[i] = strconv.FormatInt(v, 10)
				f[i] = float64(v)
			case float64:
				s[i] = strconv.FormatFloat(v, 'g', -1, 64)
				f[i] = v
			case bool:
				s[i] = "False"
				if v {
					s[i] = "True"
					f[i] = 1
				}
			case *big.Int:
				s[i] = v.String()
			case []byte:
				s[i] = string(v)
			default:
				return nil, nil, unsupportedf("class label of type %s", pickle.TypeName(v))
			}
		}
		return f, s, nil
	}
	return nil, nil, unsupportedf("labels of numpy type %s", a.dt)
}

// column gives access to one field of a record array as float64 or int64.
type column struct {
	a   *ndarray
	f   *dfield
	num int
}

func (a *ndarray) column(name string) (column, bool) {
	if a.dt.fields == nil || len(a.shape) != 1 {
		return column{}, false
	}
	f := a.dt.field(name)
	if f == nil || f.dt.fields != nil {
		return column{}, false
	}
	switch f.dt.kind {
	case 'f', 'i', 'u', 'b':
	default:
		return column{}, false
	}
	return column{a: a, f: f, num: a.len()}, true
}

func (c column) bytes(i int) []byte {
	off := i*c.a.dt.size + c.f.off
	return c.a.data[off : off+c.f.dt.size]
}

func (c column) float(i int) float64 { return elemFloat(c.f.dt, c.bytes(i)) }

func (c column) int(i int) int64 {
	v, u := elemInt(c.f.dt, c.bytes(i))
	if c.f.dt.kind == 'f' {
		return int64(elemFloat(c.f.dt, c.bytes(i)))
	}
	if c.f.dt.kind == 'u' && u > math.MaxInt64 {
		return -1
	}
	return v
}
