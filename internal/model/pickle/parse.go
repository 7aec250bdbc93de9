package pickle

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ErrMalformed is wrapped by errors for input that is not a valid pickle:
// truncated, corrupt or inconsistent bytes.
var ErrMalformed = errors.New("pickle: malformed")

// ErrUnsupported is wrapped by errors for valid pickles that use something this
// reader does not interpret: a name off the allow-list (see ForbiddenError),
// persistent IDs, the extension registry, out-of-band buffers, protocols
// above 5.
var ErrUnsupported = errors.New("pickle: unsupported")

// ErrLimit is wrapped by errors for pickles that exceed one of the limits in
// Options.
var ErrLimit = errors.New("pickle: limit exceeded")

// ForbiddenError reports a reference to a module-level name that is not on
// the allow-list. It wraps ErrUnsupported.
type ForbiddenError struct {
	Module, Name string
	Offset       int64 // byte offset of the opcode in the stream
}

func (e *ForbiddenError) Error() string {
	return fmt.Sprintf("pickle references %s.%s (at byte %d), which is not allowed", e.Module, e.Name, e.Offset)
}

// Unwrap returns ErrUnsupported.
func (e *ForbiddenError) Unwrap() error { return ErrUnsupported }

// Options control Parse. The zero value allows no module-level names except
// the intrinsic data helpers listed in the package documentation, and applies
// the default limits.
type Options struct {
	// Allow reports whether a module-level name may be referenced. Names are
	// given as Python 3 spells them (a protocol 0-2 "__builtin__" or
	// "copy_reg" is passed as "builtins" or "copyreg"). Nil allows nothing
	// but the intrinsic helpers.
	Allow func(module, name string) bool

	// MaxObjects caps the number of values pushed on the unpickling stack
	// over the whole parse (each opcode pushes at most one). Default 1<<22.
	MaxObjects int
	// MaxContainerLen caps the length of any tuple, list, dict or set.
	// Default 1<<24.
	MaxContainerLen int
	// MaxBytes caps the total payload bytes read for strings, bytes, big
	// integers and through Stream.Read. Default 1<<30.
	MaxBytes int64
	// MaxDepth caps the nesting of MARK opcodes (and of Stream.Parse calls).
	// Default 256.
	MaxDepth int

	// AfterBuild, if set, is called after each BUILD on an *Object with the
	// object and the stream positioned just after the BUILD opcode. It may read
	// raw bytes that follow (as joblib does after a NumpyArrayWrapper) and
	// returns the value that replaces the object on the stack (the object
	// itself to keep it).
	AfterBuild func(obj *Object, s *Stream) (any, error)
}

const (
	defaultMaxObjects      = 1 << 22
	defaultMaxContainerLen = 1 << 24
	defaultMaxBytes        = 1 << 30
	defaultMaxDepth        = 256

	maxLineLen   = 1 << 16 // text opcodes (GLOBAL names, protocol 0 numbers and strings)
	maxIntDigits = 4300    // Python's default int/str conversion limit
	maxLongBytes = 1 << 12 // LONG1/LONG4 payload: far beyond any useful integer
	readChunk    = 1 << 20 // allocation step for long payloads
)

func (o *Options) withDefaults() Options {
	c := *o
	if c.MaxObjects <= 0 {
		c.MaxObjects = defaultMaxObjects
	}
	if c.MaxContainerLen <= 0 {
		c.MaxContainerLen = defaultMaxContainerLen
	}
	if c.MaxBytes <= 0 {
		c.MaxBytes = defaultMaxBytes
	}
	if c.MaxDepth <= 0 {
		c.MaxDepth = defaultMaxDepth
	}
	return c
}

// Parse reads one pickle from r (up to and including its STOP opcode) and
// returns the value it describes. It never executes anything; see the package
// documentation for the mapping of Python values to Go values. Bytes after
// STOP are not read beyond what buffering consumed.
//
// Errors wrap ErrMalformed, ErrUnsupported (including *ForbiddenError) or
// ErrLimit, or are the reader's own error.
func Parse(r io.Reader, opts Options) (any, error) {
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReaderSize(r, 64<<10)
	}
	o := opts.withDefaults()
	sh := &shared{r: br, opts: &o}
	p := &parser{sh: sh, depth: 0}
	return p.run()
}

// shared is the state common to a parse and the nested parses of
// Stream.Parse: the input and the budgets.
type shared struct {
	r       *bufio.Reader
	off     int64
	opts    *Options
	objects int
	bytes   int64
}

type parser struct {
	sh    *shared
	depth int // Stream.Parse nesting
	stack []any
	marks []int
	memo  map[int64]any
	op    byte  // current opcode
	opOff int64 // its offset
}

// Stream gives Options.AfterBuild access to the bytes that follow a BUILD
// opcode. It is valid only during the call.
type Stream struct {
	p *parser
}

// Offset returns the byte offset of the next byte to be read.
func (s *Stream) Offset() int64 { return s.p.sh.off }

// ReadByte reads one byte.
func (s *Stream) ReadByte() (byte, error) { return s.p.readByte() }

// Read reads exactly n bytes. The bytes count against Options.MaxBytes, and
// memory is allocated as they arrive, so a claimed n larger than the stream
// costs no more than the stream.
func (s *Stream) Read(n int64) ([]byte, error) { return s.p.readN(n) }

// Parse reads a complete nested pickle (with its own memo) from the current
// position, as joblib does for arrays of Python objects.
func (s *Stream) Parse() (any, error) {
	if s.p.depth+1 > s.p.sh.opts.MaxDepth/16+1 {
		return nil, s.p.limitf("nested pickles deeper than %d", s.p.sh.opts.MaxDepth/16+1)
	}
	q := &parser{sh: s.p.sh, depth: s.p.depth + 1}
	return q.run()
}

func (p *parser) errf(format string, args ...any) error {
	return fmt.Errorf("%w: at byte %d (opcode %s): %s", ErrMalformed, p.opOff, opName(p.op), fmt.Sprintf(format, args...))
}

func (p *parser) unsupportedf(format string, args ...any) error {
	return fmt.Errorf("%w: at byte %d (opcode %s): %s", ErrUnsupported, p.opOff, opName(p.op), fmt.Sprintf(format, args...))
}

func (p *parser) limitf(format string, args ...any) error {
	return fmt.Errorf("%w: at byte %d: %s", ErrLimit, p.opOff, fmt.Sprintf(format, args...))
}

func (p *parser) eof(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: truncated at byte %d (opcode %s)", ErrMalformed, p.sh.off, opName(p.op))
	}
	return fmt.Errorf("reading pickle at byte %d: %w", p.sh.off, err)
}

func (p *parser) readByte() (byte, error) {
	b, err := p.sh.r.ReadByte()
	if err != nil {
		return 0, p.eof(err)
	}
	p.sh.off++
	return b, nil
}

// readFixed reads n <= 8 bytes into a small buffer.
func (p *parser) readFixed(buf []byte) error {
	if _, err := io.ReadFull(p.sh.r, buf); err != nil {
		return p.eof(err)
	}
	p.sh.off += int64(len(buf))
	return nil
}

func (p *parser) readN(n int64) ([]byte, error) {
	if n < 0 {
		return nil, p.errf("negative length %d", n)
	}
	if n > p.sh.opts.MaxBytes-p.sh.bytes {
		return nil, p.limitf("%d payload bytes exceed the limit of %d in total", p.sh.bytes+n, p.sh.opts.MaxBytes)
	}
	p.sh.bytes += n
	if n <= readChunk {
		b := make([]byte, n)
		if _, err := io.ReadFull(p.sh.r, b); err != nil {
			return nil, p.eof(err)
		}
		p.sh.off += n
		return b, nil
	}
	// Grow as bytes arrive: a length field cannot make us allocate more than
	// about twice what the stream really holds.
	buf := make([]byte, 0, readChunk)
	for int64(len(buf)) < n {
		k := int(min(n-int64(len(buf)), readChunk))
		start := len(buf)
		buf = slices.Grow(buf, k)[:start+k]
		m, err := io.ReadFull(p.sh.r, buf[start:])
		p.sh.off += int64(m)
		if err != nil {
			return nil, p.eof(err)
		}
	}
	return buf, nil
}

// readLine reads a protocol 0 text argument up to '\n' (not included).
func (p *parser) readLine() (string, error) {
	var sb []byte
	for {
		chunk, err := p.sh.r.ReadSlice('\n')
		p.sh.off += int64(len(chunk))
		if len(sb)+len(chunk) > maxLineLen {
			return "", p.limitf("text argument longer than %d bytes", maxLineLen)
		}
		sb = append(sb, chunk...)
		if err == nil {
			return string(sb[:len(sb)-1]), nil
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return "", p.eof(err)
		}
	}
}

func (p *parser) u8() (int64, error) {
	b, err := p.readByte()
	return int64(b), err
}

func (p *parser) u16() (int64, error) {
	var b [2]byte
	err := p.readFixed(b[:])
	return int64(binary.LittleEndian.Uint16(b[:])), err
}

func (p *parser) u32() (int64, error) {
	var b [4]byte
	err := p.readFixed(b[:])
	return int64(binary.LittleEndian.Uint32(b[:])), err
}

func (p *parser) i32() (int64, error) {
	var b [4]byte
	err := p.readFixed(b[:])
	return int64(int32(binary.LittleEndian.Uint32(b[:]))), err
}

func (p *parser) u64() (int64, error) {
	var b [8]byte
	if err := p.readFixed(b[:]); err != nil {
		return 0, err
	}
	v := binary.LittleEndian.Uint64(b[:])
	if v > math.MaxInt64 {
		return 0, p.limitf("length %d", v)
	}
	return int64(v), nil
}

func (p *parser) push(v any) error {
	p.sh.objects++
	if p.sh.objects > p.sh.opts.MaxObjects {
		return p.limitf("more than %d values", p.sh.opts.MaxObjects)
	}
	p.stack = append(p.stack, v)
	return nil
}

// fence is the lowest stack index the current opcode may pop: the last mark.
func (p *parser) fence() int {
	if len(p.marks) == 0 {
		return 0
	}
	return p.marks[len(p.marks)-1]
}

func (p *parser) pop() (any, error) {
	if len(p.stack) <= p.fence() {
		return nil, p.errf("stack underflow")
	}
	v := p.stack[len(p.stack)-1]
	p.stack[len(p.stack)-1] = nil
	p.stack = p.stack[:len(p.stack)-1]
	return v, nil
}

func (p *parser) top() (any, error) {
	if len(p.stack) <= p.fence() {
		return nil, p.errf("stack underflow")
	}
	return p.stack[len(p.stack)-1], nil
}

// popMark removes and returns the values above the last mark (a copy).
func (p *parser) popMark() ([]any, error) {
	if len(p.marks) == 0 {
		return nil, p.errf("no MARK on the stack")
	}
	m := p.marks[len(p.marks)-1]
	p.marks = p.marks[:len(p.marks)-1]
	items := slices.Clone(p.stack[m:])
	clear(p.stack[m:])
	p.stack = p.stack[:m]
	if len(items) > p.sh.opts.MaxContainerLen {
		return nil, p.limitf("%d items exceed the container limit of %d", len(items), p.sh.opts.MaxContainerLen)
	}
	return items, nil
}

func (p *parser) checkLen(n int) error {
	if n > p.sh.opts.MaxContainerLen {
		return p.limitf("container of %d items exceeds the limit of %d", n, p.sh.opts.MaxContainerLen)
	}
	return nil
}

func (p *parser) run() (any, error) {
	p.memo = make(map[int64]any)
	for {
		p.opOff = p.sh.off
		op, err := p.readByte()
		if err != nil {
			p.op = 0
			return nil, err
		}
		p.op = op
		if op == opStop {
			v, err := p.pop()
			if err != nil {
				return nil, err
			}
			return v, nil
		}
		if err := p.step(op); err != nil {
			return nil, err
		}
	}
}

// Opcodes (see Python's pickletools for their definitions).
const (
	opMark           = '('
	opStop           = '.'
	opPop            = '0'
	opPopMark        = '1'
	opDup            = '2'
	opFloat          = 'F'
	opInt            = 'I'
	opBinInt         = 'J'
	opBinInt1        = 'K'
	opLong           = 'L'
	opBinInt2        = 'M'
	opNone           = 'N'
	opPersID         = 'P'
	opBinPersID      = 'Q'
	opReduce         = 'R'
	opString         = 'S'
	opBinString      = 'T'
	opShortBinString = 'U'
	opUnicode        = 'V'
	opBinUnicode     = 'X'
	opAppend         = 'a'
	opBuild          = 'b'
	opGlobal         = 'c'
	opDict           = 'd'
	opEmptyDict      = '}'
	opAppends        = 'e'
	opGet            = 'g'
	opBinGet         = 'h'
	opInst           = 'i'
	opLongBinGet     = 'j'
	opList           = 'l'
	opEmptyList      = ']'
	opObj            = 'o'
	opPut            = 'p'
	opBinPut         = 'q'
	opLongBinPut     = 'r'
	opSetItem        = 's'
	opTuple          = 't'
	opEmptyTuple     = ')'
	opSetItems       = 'u'
	opBinFloat       = 'G'

	opProto    = 0x80
	opNewObj   = 0x81
	opExt1     = 0x82
	opExt2     = 0x83
	opExt4     = 0x84
	opTuple1   = 0x85
	opTuple2   = 0x86
	opTuple3   = 0x87
	opNewTrue  = 0x88
	opNewFalse = 0x89
	opLong1    = 0x8a
	opLong4    = 0x8b

	opBinBytes      = 'B'
	opShortBinBytes = 'C'

	opShortBinUnicode = 0x8c
	opBinUnicode8     = 0x8d
	opBinBytes8       = 0x8e
	opEmptySet        = 0x8f
	opAddItems        = 0x90
	opFrozenSet       = 0x91
	opNewObjEx        = 0x92
	opStackGlobal     = 0x93
	opMemoize         = 0x94
	opFrame           = 0x95

	opByteArray8     = 0x96
	opNextBuffer     = 0x97
	opReadOnlyBuffer = 0x98
)

var opNames = map[byte]string{
	opMark: "MARK", opStop: "STOP", opPop: "POP", opPopMark: "POP_MARK", opDup: "DUP",
	opFloat: "FLOAT", opInt: "INT", opBinInt: "BININT", opBinInt1: "BININT1", opLong: "LONG",
	opBinInt2: "BININT2", opNone: "NONE", opPersID: "PERSID", opBinPersID: "BINPERSID",
	opReduce: "REDUCE", opString: "STRING", opBinString: "BINSTRING", opShortBinString: "SHORT_BINSTRING",
	opUnicode: "UNICODE", opBinUnicode: "BINUNICODE", opAppend: "APPEND", opBuild: "BUILD",
	opGlobal: "GLOBAL", opDict: "DICT", opEmptyDict: "EMPTY_DICT", opAppends: "APPENDS",
	opGet: "GET", opBinGet: "BINGET", opInst: "INST", opLongBinGet: "LONG_BINGET", opList: "LIST",
	opEmptyList: "EMPTY_LIST", opObj: "OBJ", opPut: "PUT", opBinPut: "BINPUT", opLongBinPut: "LONG_BINPUT",
	opSetItem: "SETITEM", opTuple: "TUPLE", opEmptyTuple: "EMPTY_TUPLE", opSetItems: "SETITEMS",
	opBinFloat: "BINFLOAT", opProto: "PROTO", opNewObj: "NEWOBJ", opExt1: "EXT1", opExt2: "EXT2",
	opExt4: "EXT4", opTuple1: "TUPLE1", opTuple2: "TUPLE2", opTuple3: "TUPLE3", opNewTrue: "NEWTRUE",
	opNewFalse: "NEWFALSE", opLong1: "LONG1", opLong4: "LONG4", opBinBytes: "BINBYTES",
	opShortBinBytes: "SHORT_BINBYTES", opShortBinUnicode: "SHORT_BINUNICODE", opBinUnicode8: "BINUNICODE8",
	opBinBytes8: "BINBYTES8", opEmptySet: "EMPTY_SET", opAddItems: "ADDITEMS", opFrozenSet: "FROZENSET",
	opNewObjEx: "NEWOBJ_EX", opStackGlobal: "STACK_GLOBAL", opMemoize: "MEMOIZE", opFrame: "FRAME",
	opByteArray8: "BYTEARRAY8", opNextBuffer: "NEXT_BUFFER", opReadOnlyBuffer: "READONLY_BUFFER",
}

func opName(op byte) string {
	if n, ok := opNames[op]; ok {
		return n
	}
	return fmt.Sprintf("0x%02x", op)
}

func (p *parser) step(op byte) error {
	switch op {
	case opMark:
		if len(p.marks) >= p.sh.opts.MaxDepth {
			return p.limitf("MARK nesting deeper than %d", p.sh.opts.MaxDepth)
		}
		p.marks = append(p.marks, len(p.stack))
		return nil
	case opPop:
		if len(p.stack) == p.fence() && len(p.marks) > 0 {
			_, err := p.popMark() // Python pops a mark when no value is above it
			return err
		}
		_, err := p.pop()
		return err
	case opPopMark:
		_, err := p.popMark()
		return err
	case opDup:
		v, err := p.top()
		if err != nil {
			return err
		}
		return p.push(v)

	case opNone:
		return p.push(nil)
	case opNewTrue:
		return p.push(true)
	case opNewFalse:
		return p.push(false)
	case opBinInt:
		v, err := p.i32()
		if err != nil {
			return err
		}
		return p.push(v)
	case opBinInt1:
		v, err := p.u8()
		if err != nil {
			return err
		}
		return p.push(v)
	case opBinInt2:
		v, err := p.u16()
		if err != nil {
			return err
		}
		return p.push(v)
	case opInt:
		line, err := p.readLine()
		if err != nil {
			return err
		}
		switch line {
		case "00":
			return p.push(false)
		case "01":
			return p.push(true)
		}
		v, err := p.parseIntText(line)
		if err != nil {
			return err
		}
		return p.push(v)
	case opLong:
		line, err := p.readLine()
		if err != nil {
			return err
		}
		line = strings.TrimSuffix(line, "L")
		v, err := p.parseIntText(line)
		if err != nil {
			return err
		}
		return p.push(v)
	case opLong1, opLong4:
		var n int64
		var err error
		if op == opLong1 {
			n, err = p.u8()
		} else {
			n, err = p.i32()
		}
		if err != nil {
			return err
		}
		if n < 0 {
			return p.errf("negative length %d", n)
		}
		if n > maxLongBytes {
			return p.limitf("integer of %d bytes", n)
		}
		b, err := p.readN(n)
		if err != nil {
			return err
		}
		return p.push(decodeLong(b))
	case opFloat:
		line, err := p.readLine()
		if err != nil {
			return err
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(line), 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return p.errf("bad float %q", line)
		}
		return p.push(f)
	case opBinFloat:
		var b [8]byte
		if err := p.readFixed(b[:]); err != nil {
			return err
		}
		return p.push(math.Float64frombits(binary.BigEndian.Uint64(b[:])))

	case opString:
		line, err := p.readLine()
		if err != nil {
			return err
		}
		s, err := p.decodeStringRepr(line)
		if err != nil {
			return err
		}
		return p.push(s)
	case opBinString, opShortBinString, opBinUnicode, opShortBinUnicode, opBinUnicode8:
		var n int64
		var err error
		switch op {
		case opBinString:
			n, err = p.i32()
		case opShortBinString, opShortBinUnicode:
			n, err = p.u8()
		case opBinUnicode:
			n, err = p.u32()
		default:
			n, err = p.u64()
		}
		if err != nil {
			return err
		}
		b, err := p.readN(n)
		if err != nil {
			return err
		}
		return p.push(string(b))
	case opUnicode:
		line, err := p.readLine()
		if err != nil {
			return err
		}
		s, err := p.decodeRawUnicodeEscape(line)
		if err != nil {
			return err
		}
		return p.push(s)
	case opBinBytes, opShortBinBytes, opBinBytes8, opByteArray8:
		var n int64
		var err error
		switch op {
		case opBinBytes:
			n, err = p.u32()
		case opShortBinBytes:
			n, err = p.u8()
		default:
			n, err = p.u64()
		}
		if err != nil {
			return err
		}
		b, err := p.readN(n)
		if err != nil {
			return err
		}
		return p.push(b)

	case opEmptyTuple:
		return p.push(Tuple{})
	case opTuple1, opTuple2, opTuple3:
		n := int(op - opTuple1 + 1)
		if len(p.stack)-p.fence() < n {
			return p.errf("stack underflow")
		}
		t := slices.Clone(p.stack[len(p.stack)-n:])
		clear(p.stack[len(p.stack)-n:])
		p.stack = p.stack[:len(p.stack)-n]
		return p.push(Tuple(t))
	case opTuple:
		items, err := p.popMark()
		if err != nil {
			return err
		}
		return p.push(Tuple(items))
	case opEmptyList:
		return p.push(&List{})
	case opList:
		items, err := p.popMark()
		if err != nil {
			return err
		}
		return p.push(&List{Items: items})
	case opEmptyDict:
		return p.push(&Dict{})
	case opDict:
		items, err := p.popMark()
		if err != nil {
			return err
		}
		if len(items)%2 != 0 {
			return p.errf("odd number of items for DICT")
		}
		d := &Dict{}
		for i := 0; i < len(items); i += 2 {
			d.Set(items[i], items[i+1])
		}
		return p.push(d)
	case opEmptySet:
		return p.push(&Set{})
	case opFrozenSet:
		items, err := p.popMark()
		if err != nil {
			return err
		}
		return p.push(&Set{Items: items, Frozen: true})

	case opAppend:
		v, err := p.pop()
		if err != nil {
			return err
		}
		return p.appendTo([]any{v})
	case opAppends:
		items, err := p.popMark()
		if err != nil {
			return err
		}
		return p.appendTo(items)
	case opSetItem:
		v, err := p.pop()
		if err != nil {
			return err
		}
		k, err := p.pop()
		if err != nil {
			return err
		}
		return p.setItems([]any{k, v})
	case opSetItems:
		items, err := p.popMark()
		if err != nil {
			return err
		}
		if len(items)%2 != 0 {
			return p.errf("odd number of items for SETITEMS")
		}
		return p.setItems(items)
	case opAddItems:
		items, err := p.popMark()
		if err != nil {
			return err
		}
		t, err := p.top()
		if err != nil {
			return err
		}
		s, ok := t.(*Set)
		if !ok || s.Frozen {
			return p.errf("ADDITEMS to a %s", TypeName(t))
		}
		if err := p.checkLen(len(s.Items) + len(items)); err != nil {
			return err
		}
		s.Items = append(s.Items, items...)
		return nil

	case opGet, opBinGet, opLongBinGet:
		var idx int64
		var err error
		switch op {
		case opGet:
			var line string
			if line, err = p.readLine(); err == nil {
				idx, err = p.parseIndex(line)
			}
		case opBinGet:
			idx, err = p.u8()
		default:
			idx, err = p.u32()
		}
		if err != nil {
			return err
		}
		v, ok := p.memo[idx]
		if !ok {
			return p.errf("memo key %d not found", idx)
		}
		return p.push(v)
	case opPut, opBinPut, opLongBinPut, opMemoize:
		var idx int64
		var err error
		switch op {
		case opPut:
			var line string
			if line, err = p.readLine(); err == nil {
				idx, err = p.parseIndex(line)
			}
		case opBinPut:
			idx, err = p.u8()
		case opLongBinPut:
			idx, err = p.u32()
		default:
			idx = int64(len(p.memo))
		}
		if err != nil {
			return err
		}
		v, err := p.top()
		if err != nil {
			return err
		}
		if _, ok := p.memo[idx]; !ok && len(p.memo) >= p.sh.opts.MaxObjects {
			return p.limitf("more than %d memo entries", p.sh.opts.MaxObjects)
		}
		p.memo[idx] = v
		return nil

	case opGlobal:
		module, err := p.readLine()
		if err != nil {
			return err
		}
		name, err := p.readLine()
		if err != nil {
			return err
		}
		g, err := p.global(module, name)
		if err != nil {
			return err
		}
		return p.push(g)
	case opStackGlobal:
		nv, err := p.pop()
		if err != nil {
			return err
		}
		mv, err := p.pop()
		if err != nil {
			return err
		}
		module, ok1 := mv.(string)
		name, ok2 := nv.(string)
		if !ok1 || !ok2 {
			return p.errf("STACK_GLOBAL of %s and %s, want two str", TypeName(mv), TypeName(nv))
		}
		g, err := p.global(module, name)
		if err != nil {
			return err
		}
		return p.push(g)
	case opReduce:
		args, err := p.pop()
		if err != nil {
			return err
		}
		fn, err := p.pop()
		if err != nil {
			return err
		}
		t, ok := args.(Tuple)
		if !ok {
			return p.errf("REDUCE arguments are a %s, want a tuple", TypeName(args))
		}
		v, err := p.call(fn, t, nil)
		if err != nil {
			return err
		}
		return p.push(v)
	case opNewObj:
		args, err := p.pop()
		if err != nil {
			return err
		}
		cls, err := p.pop()
		if err != nil {
			return err
		}
		t, ok := args.(Tuple)
		if !ok {
			return p.errf("NEWOBJ arguments are a %s, want a tuple", TypeName(args))
		}
		v, err := p.call(cls, t, nil)
		if err != nil {
			return err
		}
		return p.push(v)
	case opNewObjEx:
		kw, err := p.pop()
		if err != nil {
			return err
		}
		args, err := p.pop()
		if err != nil {
			return err
		}
		cls, err := p.pop()
		if err != nil {
			return err
		}
		t, ok1 := args.(Tuple)
		d, ok2 := kw.(*Dict)
		if !ok1 || !ok2 {
			return p.errf("NEWOBJ_EX arguments are a %s and a %s, want a tuple and a dict", TypeName(args), TypeName(kw))
		}
		v, err := p.call(cls, t, d)
		if err != nil {
			return err
		}
		return p.push(v)
	case opObj:
		items, err := p.popMark()
		if err != nil {
			return err
		}
		if len(items) == 0 {
			return p.errf("OBJ without a class")
		}
		v, err := p.call(items[0], Tuple(items[1:]), nil)
		if err != nil {
			return err
		}
		return p.push(v)
	case opInst:
		module, err := p.readLine()
		if err != nil {
			return err
		}
		name, err := p.readLine()
		if err != nil {
			return err
		}
		g, err := p.global(module, name)
		if err != nil {
			return err
		}
		items, err := p.popMark()
		if err != nil {
			return err
		}
		v, err := p.call(g, Tuple(items), nil)
		if err != nil {
			return err
		}
		return p.push(v)
	case opBuild:
		state, err := p.pop()
		if err != nil {
			return err
		}
		t, err := p.top()
		if err != nil {
			return err
		}
		obj, ok := t.(*Object)
		if !ok {
			return p.errf("BUILD on a %s", TypeName(t))
		}
		if d, ok := state.(*Dict); ok && obj.State != nil {
			if old, ok := obj.State.(*Dict); ok && old != d {
				if err := p.checkLen(old.Len() + d.Len()); err != nil {
					return err
				}
				for i := range d.Keys {
					old.Set(d.Keys[i], d.Values[i])
				}
				state = old
			}
		}
		obj.State = state
		if p.sh.opts.AfterBuild != nil {
			v, err := p.sh.opts.AfterBuild(obj, &Stream{p: p})
			if err != nil {
				return err
			}
			p.stack[len(p.stack)-1] = v
		}
		return nil

	case opProto:
		v, err := p.readByte()
		if err != nil {
			return err
		}
		if v > 5 {
			return p.unsupportedf("protocol %d", v)
		}
		return nil
	case opFrame:
		// Framing only groups opcodes for buffered reading; the contents
		// are read as they come.
		_, err := p.u64()
		return err

	case opPersID, opBinPersID:
		return p.unsupportedf("persistent IDs")
	case opExt1, opExt2, opExt4:
		return p.unsupportedf("the copyreg extension registry")
	case opNextBuffer, opReadOnlyBuffer:
		return p.unsupportedf("out-of-band buffers")
	}
	return p.errf("unknown opcode")
}

func (p *parser) appendTo(items []any) error {
	t, err := p.top()
	if err != nil {
		return err
	}
	switch c := t.(type) {
	case *List:
		if err := p.checkLen(len(c.Items) + len(items)); err != nil {
			return err
		}
		c.Items = append(c.Items, items...)
	case *Object:
		if err := p.checkLen(len(c.ListItems) + len(items)); err != nil {
			return err
		}
		c.ListItems = append(c.ListItems, items...)
	default:
		return p.errf("append to a %s", TypeName(t))
	}
	return nil
}

func (p *parser) setItems(items []any) error {
	t, err := p.top()
	if err != nil {
		return err
	}
	var d *Dict
	switch c := t.(type) {
	case *Dict:
		d = c
	case *Object:
		if c.DictItems == nil {
			c.DictItems = &Dict{}
		}
		d = c.DictItems
	default:
		return p.errf("set item on a %s", TypeName(t))
	}
	if err := p.checkLen(d.Len() + len(items)/2); err != nil {
		return err
	}
	for i := 0; i < len(items); i += 2 {
		d.Set(items[i], items[i+1])
	}
	return nil
}

// pythonNames maps the Python 2 module names protocols 0-2 write to the
// Python 3 ones, as Python's unpickler does with fix_imports.
var pythonNames = map[string]string{
	"__builtin__": "builtins",
	"copy_reg":    "copyreg",
}

// intrinsic names are interpreted by the parser itself (see call).
var intrinsic = map[string]bool{
	"_codecs.encode":         true,
	"builtins.bytes":         true,
	"builtins.bytearray":     true,
	"builtins.set":           true,
	"builtins.frozenset":     true,
	"builtins.object":        true,
	"copyreg._reconstructor": true,
	"copyreg.__newobj__":     true,
	"copyreg.__newobj_ex__":  true,
}

func (p *parser) global(module, name string) (*Global, error) {
	if m, ok := pythonNames[module]; ok {
		module = m
	}
	if !intrinsic[module+"."+name] && (p.sh.opts.Allow == nil || !p.sh.opts.Allow(module, name)) {
		return nil, &ForbiddenError{Module: module, Name: name, Offset: p.opOff}
	}
	return &Global{Module: module, Name: name}, nil
}

// call interprets calling fn (a *Global) with args.
func (p *parser) call(fn any, args Tuple, kwargs *Dict) (any, error) {
	return p.callDepth(fn, args, kwargs, 0)
}

func (p *parser) callDepth(fn any, args Tuple, kwargs *Dict, depth int) (any, error) {
	g, ok := fn.(*Global)
	if !ok {
		return nil, p.unsupportedf("calling a %s", TypeName(fn))
	}
	if depth > 1 {
		// copyreg.__newobj__(copyreg.__newobj__, ...): never written by
		// Python, and unbounded recursion otherwise.
		return nil, p.unsupportedf("nested copyreg constructors")
	}
	switch g.Module + "." + g.Name {
	case "_codecs.encode":
		if len(args) != 2 {
			return nil, p.errf("_codecs.encode with %d arguments", len(args))
		}
		s, ok1 := args[0].(string)
		enc, ok2 := args[1].(string)
		if !ok1 || !ok2 {
			return nil, p.errf("_codecs.encode of %s, %s", TypeName(args[0]), TypeName(args[1]))
		}
		return p.latin1(s, enc)
	case "builtins.bytes", "builtins.bytearray":
		switch len(args) {
		case 0:
			return []byte{}, nil
		case 1:
			if b, ok := args[0].([]byte); ok {
				return b, nil
			}
		case 2:
			s, ok1 := args[0].(string)
			enc, ok2 := args[1].(string)
			if ok1 && ok2 {
				return p.latin1(s, enc)
			}
		}
		return nil, p.unsupportedf("%s with arguments %s", g, describeArgs(args))
	case "builtins.set", "builtins.frozenset":
		s := &Set{Frozen: g.Name == "frozenset"}
		switch len(args) {
		case 0:
			return s, nil
		case 1:
			if l, ok := args[0].(*List); ok {
				s.Items = slices.Clone(l.Items)
				return s, nil
			}
		}
		return nil, p.unsupportedf("%s with arguments %s", g, describeArgs(args))
	case "copyreg._reconstructor":
		// copyreg._reconstructor(cls, base, state) makes a cls instance
		// without calling cls.__init__.
		if len(args) != 3 {
			return nil, p.errf("copyreg._reconstructor with %d arguments", len(args))
		}
		cls, ok := args[0].(*Global)
		if !ok {
			return nil, p.errf("copyreg._reconstructor of a %s", TypeName(args[0]))
		}
		o := &Object{Module: cls.Module, Name: cls.Name}
		if args[2] != nil {
			o.Args = Tuple{args[2]}
		}
		return o, nil
	case "copyreg.__newobj__":
		if len(args) == 0 {
			return nil, p.errf("copyreg.__newobj__ without a class")
		}
		return p.callDepth(args[0], args[1:], nil, depth+1)
	case "copyreg.__newobj_ex__":
		if len(args) != 3 {
			return nil, p.errf("copyreg.__newobj_ex__ with %d arguments", len(args))
		}
		t, ok1 := args[1].(Tuple)
		d, ok2 := args[2].(*Dict)
		if !ok1 || !ok2 {
			return nil, p.errf("copyreg.__newobj_ex__ arguments %s", describeArgs(args))
		}
		return p.callDepth(args[0], t, d, depth+1)
	}
	return &Object{Module: g.Module, Name: g.Name, Args: args, Kwargs: kwargs}, nil
}

func describeArgs(args Tuple) string {
	parts := make([]string, 0, min(len(args), 4))
	for i, a := range args {
		if i == 4 {
			parts = append(parts, "...")
			break
		}
		parts = append(parts, TypeName(a))
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// latin1 encodes s (UTF-8) as Latin-1 bytes, as Python's
// codecs.encode(s, "latin1") does.
func (p *parser) latin1(s, enc string) ([]byte, error) {
	switch strings.ToLower(strings.ReplaceAll(enc, "_", "-")) {
	case "latin1", "latin-1", "iso-8859-1", "iso8859-1", "l1":
	default:
		return nil, p.unsupportedf("text encoding %q", enc)
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && n <= 1) || r > 0xff {
			return nil, p.errf("character %U at %d is not Latin-1", r, i)
		}
		b = append(b, byte(r))
		i += n
	}
	return b, nil
}

func (p *parser) parseIntText(s string) (any, error) {
	s = strings.TrimSpace(s)
	if len(s) > maxIntDigits {
		return nil, p.limitf("integer of %d digits", len(s))
	}
	if v, err := strconv.ParseInt(s, 10, 64); err == nil {
		return v, nil
	}
	b, ok := new(big.Int).SetString(s, 10)
	if !ok {
		return nil, p.errf("bad integer %q", s)
	}
	return b, nil
}

func (p *parser) parseIndex(s string) (int64, error) {
	v, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || v < 0 {
		return 0, p.errf("bad memo index %q", s)
	}
	return v, nil
}

// decodeLong decodes a little-endian two's complement integer.
func decodeLong(b []byte) any {
	if len(b) == 0 {
		return int64(0)
	}
	if len(b) <= 8 {
		var u uint64
		for i := len(b) - 1; i >= 0; i-- {
			u = u<<8 | uint64(b[i])
		}
		shift := 64 - 8*uint(len(b))
		return int64(u<<shift) >> shift // sign-extend
	}
	be := make([]byte, len(b))
	for i := range b {
		be[len(b)-1-i] = b[i]
	}
	v := new(big.Int).SetBytes(be)
	if b[len(b)-1]&0x80 != 0 {
		v.Sub(v, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	if v.IsInt64() {
		return v.Int64()
	}
	return v
}

// decodeStringRepr decodes the quoted Python 2 string literal of a protocol 0
// STRING opcode.
func (p *parser) decodeStringRepr(s string) (string, error) {
	if len(s) < 2 || (s[0] != '\'' && s[0] != '"') || s[len(s)-1] != s[0] {
		return "", p.errf("STRING argument is not quoted")
	}
	s = s[1 : len(s)-1]
	var b []byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			b = append(b, c)
			continue
		}
		i++
		if i >= len(s) {
			return "", p.errf("trailing backslash in STRING")
		}
		switch c = s[i]; c {
		case '\n':
		case '\\', '\'', '"':
			b = append(b, c)
		case 'a':
			b = append(b, '\a')
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'v':
			b = append(b, '\v')
		case 'x':
			if i+3 > len(s) {
				return "", p.errf("short \\x escape in STRING")
			}
			v, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
			if err != nil {
				return "", p.errf("bad \\x escape in STRING")
			}
			b = append(b, byte(v))
			i += 2
		default:
			if c >= '0' && c <= '7' {
				v := int(c - '0')
				for k := 0; k < 2 && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '7'; k++ {
					i++
					v = v*8 + int(s[i]-'0')
				}
				b = append(b, byte(v))
				continue
			}
			b = append(b, '\\', c) // Python keeps unknown escapes
		}
	}
	return string(b), nil
}

// decodeRawUnicodeEscape decodes the raw-unicode-escape text of a protocol 0
// UNICODE opcode: \uXXXX and \UXXXXXXXX escapes; every other byte is a
// Latin-1 character.
func (p *parser) decodeRawUnicodeEscape(s string) (string, error) {
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\\' && i+1 < len(s) && (s[i+1] == 'u' || s[i+1] == 'U') {
			n := 4
			if s[i+1] == 'U' {
				n = 8
			}
			if i+2+n > len(s) {
				return "", p.errf("short \\u escape in UNICODE")
			}
			v, err := strconv.ParseUint(s[i+2:i+2+n], 16, 32)
			if err != nil || v > utf8.MaxRune {
				return "", p.errf("bad \\u escape in UNICODE")
			}
			sb.WriteRune(rune(v))
			i += 1 + n
			continue
		}
		sb.WriteRune(rune(c))
	}
	return sb.String(), nil
}
