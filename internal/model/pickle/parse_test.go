package pickle

import (
	"bytes"
	"errors"
	"fmt"
	"math/big"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// render prints a parsed value in a Python-like notation; shared containers
// print once per path and cycles print as "...".
func render(v any) string {
	var b strings.Builder
	renderTo(&b, v, map[any]bool{})
	return b.String()
}

func renderTo(b *strings.Builder, v any, open map[any]bool) {
	list := func(items []any) {
		for i, it := range items {
			if i > 0 {
				b.WriteString(", ")
			}
			renderTo(b, it, open)
		}
	}
	switch v := v.(type) {
	case *List, *Dict, *Set, *Object:
		if open[v] {
			b.WriteString("...")
			return
		}
		open[v] = true
		defer delete(open, v)
	}
	switch v := v.(type) {
	case nil:
		b.WriteString("None")
	case bool:
		if v {
			b.WriteString("True")
		} else {
			b.WriteString("False")
		}
	case int64:
		b.WriteString(strconv.FormatInt(v, 10))
	case *big.Int:
		b.WriteString(v.String())
	case float64:
		b.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
	case string:
		b.WriteString(`"` + v + `"`)
	case []byte:
		b.WriteString("b\"")
		for _, c := range v {
			if c >= 0x20 && c < 0x7f && c != '"' && c != '\\' {
				b.WriteByte(c)
			} else {
				fmt.Fprintf(b, "\\x%02x", c)
			}
		}
		b.WriteString("\"")
	case Tuple:
		b.WriteString("(")
		list(v)
		b.WriteString(")")
	case *List:
		b.WriteString("[")
		list(v.Items)
		b.WriteString("]")
	case *Set:
		if v.Frozen {
			b.WriteString("frozenset")
		}
		b.WriteString("{")
		list(v.Items)
		b.WriteString("}")
	case *Dict:
		b.WriteString("{")
		for i := range v.Keys {
			if i > 0 {
				b.WriteString(", ")
			}
			renderTo(b, v.Keys[i], open)
			b.WriteString(": ")
			renderTo(b, v.Values[i], open)
		}
		b.WriteString("}")
	case *Global:
		b.WriteString("<" + v.String() + ">")
	case *Object:
		b.WriteString(v.Module + "." + v.Name + "(")
		list(v.Args)
		b.WriteString(")")
		if v.State != nil {
			renderTo(b, v.State, open)
		}
		if v.ListItems != nil {
			b.WriteString("+")
			list(v.ListItems)
		}
		if v.DictItems != nil {
			b.WriteString("+")
			renderTo(b, v.DictItems, open)
		}
	default:
		fmt.Fprintf(b, "<%T>", v)
	}
}

func parseString(s string, opts Options) (any, error) {
	return Parse(strings.NewReader(s), opts)
}

func TestParsePlainValuesAllProtocols(t *testing.T) {
	for _, c := range plainPickles {
		t.Run(fmt.Sprint("protocol", c.proto), func(t *testing.T) {
			v, err := parseString(c.data, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got := render(v); got != plainWant {
				t.Errorf("got  %s\nwant %s", got, plainWant)
			}
		})
	}
}

func allowMainFoo(module, name string) bool { return module == "__main__" && name == "Foo" }

func TestParseObjectsAllProtocols(t *testing.T) {
	const want = `__main__.Foo(){"x": 1, "y": [1.5, "z"]}`
	for _, c := range objectPickles {
		t.Run(fmt.Sprint("protocol", c.proto), func(t *testing.T) {
			v, err := parseString(c.data, Options{Allow: allowMainFoo})
			if err != nil {
				t.Fatal(err)
			}
			if got := render(v); got != want {
				t.Errorf("got  %s\nwant %s", got, want)
			}
			_, err = parseString(c.data, Options{})
			var fe *ForbiddenError
			if !errors.As(err, &fe) || fe.Module != "__main__" || fe.Name != "Foo" || !errors.Is(err, ErrUnsupported) {
				t.Errorf("without an allow-list: err = %v, want a ForbiddenError for __main__.Foo", err)
			}
		})
	}
}

func TestParseSharedAndCyclic(t *testing.T) {
	v, err := parseString(sharedList, Options{})
	if err != nil {
		t.Fatal(err)
	}
	outer := v.(*List)
	if len(outer.Items) != 2 || outer.Items[0] != outer.Items[1] {
		t.Errorf("memoized list not shared: %s", render(v))
	}
	v, err = parseString(cyclicList, Options{})
	if err != nil {
		t.Fatal(err)
	}
	l := v.(*List)
	if len(l.Items) != 1 || l.Items[0] != any(l) {
		t.Errorf("cyclic list: %s", render(v))
	}
	v, err = parseString(orderedDict, Options{Allow: func(m, n string) bool { return m == "collections" && n == "OrderedDict" }})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := render(v), `collections.OrderedDict()+{"a": 1}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

// Each of these names would run code in Python's unpickler. Parse must refuse
// them before anything is called, whatever follows.
func TestForbiddenGlobals(t *testing.T) {
	cases := map[string]string{
		"os.system protocol 0":        "cos\nsystem\n(S'echo pwned'\ntR.",
		"posix.system protocol 2":     "\x80\x02cposix\nsystem\nq\x00X\x0a\x00\x00\x00echo pwnedq\x01\x85q\x02Rq\x03.",
		"builtins.eval protocol 4":    "\x80\x04\x95\x00\x00\x00\x00\x00\x00\x00\x00\x8c\x08builtins\x94\x8c\x04eval\x94\x93\x94\x8c\x0bprint(1234)\x94\x85\x94R\x94.",
		"__builtin__.eval protocol 2": "\x80\x02c__builtin__\neval\nX\x0b\x00\x00\x00print(1234)\x85R.",
		"subprocess via INST":         "(S'ls'\nisubprocess\ncheck_output\n.",
		"builtins.getattr":            "\x80\x02c__builtin__\ngetattr\n.",
		"copyreg as a call target":    "\x80\x02ccopy_reg\n_reconstructor\ncos\nsystem\n.",
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			v, err := parseString(data, Options{Allow: allowMainFoo})
			var fe *ForbiddenError
			if !errors.As(err, &fe) || !errors.Is(err, ErrUnsupported) {
				t.Fatalf("Parse = %v, %v; want a ForbiddenError", render(v), err)
			}
			if !strings.Contains(err.Error(), fe.Module+"."+fe.Name) {
				t.Errorf("error %q does not name %s.%s", err, fe.Module, fe.Name)
			}
		})
	}
}

func TestMalformed(t *testing.T) {
	cases := map[string]string{
		"empty":                 "",
		"no STOP":               "\x80\x02K\x01",
		"STOP on empty stack":   "\x80\x02.",
		"unknown opcode":        "\x80\x02\xff.",
		"APPEND to an int":      "\x80\x02K\x01K\x02a.",
		"pop below the mark":    "\x80\x02]K\x01(a.",
		"memo miss":             "\x80\x02h\x05.",
		"truncated BINUNICODE":  "\x80\x02X\x10\x00\x00\x00abc",
		"truncated BINFLOAT":    "\x80\x02G\x00\x00",
		"odd DICT":              "(K\x01d.",
		"REDUCE of non-tuple":   "\x80\x02c__main__\nFoo\nK\x01R.",
		"BUILD on a list":       "\x80\x02]}b.",
		"bad latin1":            "\x80\x02c_codecs\nencode\nX\x03\x00\x00\x00\xe2\x82\xacX\x06\x00\x00\x00latin1\x86R.",
		"STACK_GLOBAL of ints":  "\x80\x04K\x01K\x02\x93.",
		"negative BINSTRING":    "T\xff\xff\xff\xff.",
		"bad text int":          "I12x\n.",
		"bad STRING quoting":    "S'abc\n.",
		"MARK then STOP":        "(.",
		"TUPLE2 with one value": "\x80\x02K\x01\x86.",
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			v, err := parseString(data, Options{Allow: allowMainFoo})
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("Parse = %v, %v; want ErrMalformed", render(v), err)
			}
		})
	}
}

func TestUnsupported(t *testing.T) {
	cases := map[string]string{
		"protocol 6":      "\x80\x06N.",
		"persistent id":   "\x80\x02X\x01\x00\x00\x00aQ.",
		"extension code":  "\x80\x02\x82\x01.",
		"next buffer":     "\x80\x05\x97.",
		"readonly buffer": "\x80\x05N\x98.",
		"other encoding":  "\x80\x02c_codecs\nencode\nX\x01\x00\x00\x00aX\x05\x00\x00\x00utf-8\x86R.",
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := parseString(data, Options{})
			if !errors.Is(err, ErrUnsupported) {
				t.Fatalf("err = %v, want ErrUnsupported", err)
			}
		})
	}
}

// Lengths in the stream never cause allocation beyond the bytes present.
func TestAbsurdLengths(t *testing.T) {
	cases := map[string]string{
		"BINBYTES8 2^62":   "\x80\x04\x8e\x00\x00\x00\x00\x00\x00\x00\x40abc",
		"BINUNICODE8 2^63": "\x80\x04\x8d\xff\xff\xff\xff\xff\xff\xff\x7fabc",
		"BYTEARRAY8 max":   "\x80\x05\x96\xff\xff\xff\xff\xff\xff\xff\xff",
		"BINBYTES 4 GiB":   "\x80\x03B\xff\xff\xff\xffabc",
		"BINUNICODE 4 GiB": "\x80\x03X\xff\xff\xff\xffabc",
		"LONG4 2 GiB":      "\x80\x02\x8b\xff\xff\xff\x7f\x01",
		"FRAME 2^63":       "\x80\x04\x95\xff\xff\xff\xff\xff\xff\xff\x7fN.",
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := parseString(data, Options{})
			if err == nil {
				if name == "FRAME 2^63" {
					return // FRAME lengths are hints only
				}
				t.Fatal("no error")
			}
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrLimit) {
				t.Errorf("err = %v, want ErrMalformed or ErrLimit", err)
			}
		})
	}
	// A 100 MB claim over 1 KB of data must not allocate 100 MB.
	data := append([]byte("\x80\x04\x8e\x00\xe1\xf5\x05\x00\x00\x00\x00"), make([]byte, 1024)...)
	var before, after runtimeMem
	before.read()
	if _, err := Parse(bytes.NewReader(data), Options{}); !errors.Is(err, ErrMalformed) {
		t.Fatalf("err = %v, want ErrMalformed (truncated)", err)
	}
	after.read()
	if grew := after.total - before.total; grew > 16<<20 {
		t.Errorf("parsing a truncated 100 MB claim allocated %d bytes", grew)
	}
}

func TestLimits(t *testing.T) {
	var many bytes.Buffer
	many.WriteString("\x80\x02]q\x00(")
	for range 1000 {
		many.WriteString("K\x01")
	}
	many.WriteString("e.")
	if _, err := Parse(bytes.NewReader(many.Bytes()), Options{MaxObjects: 500}); !errors.Is(err, ErrLimit) {
		t.Errorf("MaxObjects: err = %v, want ErrLimit", err)
	}
	if _, err := Parse(bytes.NewReader(many.Bytes()), Options{MaxContainerLen: 999}); !errors.Is(err, ErrLimit) {
		t.Errorf("MaxContainerLen: err = %v, want ErrLimit", err)
	}
	if _, err := Parse(bytes.NewReader(many.Bytes()), Options{}); err != nil {
		t.Errorf("default limits: %v", err)
	}
	deep := strings.Repeat("(", 300) + "N" + strings.Repeat("t", 300) + "."
	if _, err := parseString(deep, Options{}); !errors.Is(err, ErrLimit) {
		t.Errorf("MaxDepth: err = %v, want ErrLimit", err)
	}
	if _, err := parseString(deep, Options{MaxDepth: 400}); err != nil {
		t.Errorf("MaxDepth 400: %v", err)
	}
	big := "\x80\x03B\x00\x10\x00\x00" + strings.Repeat("x", 4096) + "."
	if _, err := parseString(big, Options{MaxBytes: 4095}); !errors.Is(err, ErrLimit) {
		t.Errorf("MaxBytes: err = %v, want ErrLimit", err)
	}
	// DUP-ing one value many times counts each push.
	dups := "\x80\x02N" + strings.Repeat("2", 2000) + "."
	if _, err := parseString(dups, Options{MaxObjects: 1000}); !errors.Is(err, ErrLimit) {
		t.Errorf("DUP: err = %v, want ErrLimit", err)
	}
}

func TestTextOpcodes(t *testing.T) {
	cases := map[string]string{
		"S'a\\'b\\x41\\101\\n'\n.":             `"a'bAA` + "\n" + `"`,
		"V\\u0041\\U0001F600\xe9\n.":           `"A😀é"`,
		"L-123456789012345678901234567890L\n.": "-123456789012345678901234567890",
		"I-5\n.":                               "-5",
		"Finf\n.":                              "+Inf",
		"F-1.5\n.":                             "-1.5",
		"\x80\x02\x8a\x00.":                    "0",
		"\x80\x02\x8a\x02\xff\x7f.":            "32767",
		"\x80\x02\x8a\x01\xff.":                "-1",
		"\x80\x02\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\x80.": "-2361183241434822606848",
		"(I1\nI2\n1N.": "None", // POP_MARK
		"(0N.":         "None", // POP of a bare mark
	}
	for data, want := range cases {
		v, err := parseString(data, Options{})
		if err != nil {
			t.Errorf("%q: %v", data, err)
			continue
		}
		if got := render(v); got != want {
			t.Errorf("%q: got %s, want %s", data, got, want)
		}
	}
}

func TestAfterBuild(t *testing.T) {
	// Foo() with state {} then 3 raw bytes, then STOP: the hook reads the
	// bytes and replaces the object.
	data := "\x80\x02c__main__\nFoo\n)\x81}bxyz."
	var seen *Object
	v, err := parseString(data, Options{Allow: allowMainFoo, AfterBuild: func(o *Object, s *Stream) (any, error) {
		seen = o
		return s.Read(3)
	}})
	if err != nil {
		t.Fatal(err)
	}
	if seen == nil || render(v) != `b"xyz"` {
		t.Errorf("got %s (hook saw %v)", render(v), seen)
	}
	// A nested pickle after the BUILD.
	data = "\x80\x02c__main__\nFoo\n)\x81}b\x80\x02K\x07.."
	v, err = parseString(data, Options{Allow: allowMainFoo, AfterBuild: func(o *Object, s *Stream) (any, error) {
		return s.Parse()
	}})
	if err != nil || render(v) != "7" {
		t.Errorf("nested: got %s, %v", render(v), err)
	}
}

type runtimeMem struct{ total uint64 }

func (m *runtimeMem) read() {
	var st runtime.MemStats
	runtime.ReadMemStats(&st)
	m.total = st.TotalAlloc
}

func TestNestedNewobj(t *testing.T) {
	// copyreg.__newobj__(copyreg.__newobj__, copyreg.__newobj__, ..., Foo)
	var b strings.Builder
	b.WriteString("\x80\x02ccopy_reg\n__newobj__\nq\x00(")
	for range 10000 {
		b.WriteString("h\x00")
	}
	b.WriteString("c__main__\nFoo\ntR.")
	if _, err := parseString(b.String(), Options{Allow: allowMainFoo}); !errors.Is(err, ErrUnsupported) {
		t.Errorf("err = %v, want ErrUnsupported", err)
	}
	v, err := parseString("\x80\x02ccopy_reg\n__newobj__\nc__main__\nFoo\nK\x01\x86R.", Options{Allow: allowMainFoo})
	if err != nil || render(v) != "__main__.Foo(1)" {
		t.Errorf("__newobj__(Foo, 1) = %s, %v", render(v), err)
	}
}
