package pickle

import (
	"fmt"
	"math/big"
)

// The values Parse builds. Python objects map to Go values as follows:
//
//	None                      nil
//	bool                      bool
//	int                       int64, or *big.Int beyond 64 bits
//	float                     float64
//	str                       string (UTF-8; protocol 0-2 byte strings as read)
//	bytes, bytearray          []byte
//	tuple                     Tuple
//	list                      *List
//	dict                      *Dict
//	set, frozenset            *Set
//	a class or function name  *Global
//	an instance or a call     *Object
//
// Lists, dicts, sets and objects are pointers because a pickle may refer to the
// same one several times (through its memo) and mutate it after the first
// reference; such values may therefore be shared, and may even contain
// themselves. Tuples may be shared too (a few bytes of memo references can
// describe a tuple DAG with 2^40 paths). Code that walks a parsed value
// recursively must visit each shared value once and guard against cycles.

// Tuple is a Python tuple.
type Tuple []any

// List is a Python list.
type List struct {
	Items []any
}

// Set is a Python set or frozenset.
type Set struct {
	Items  []any
	Frozen bool
}

// Dict is a Python dict: its entries in insertion order. Setting a key that
// is already present (compared as Go values for nil, bool, int64, float64 and
// string keys) replaces its value, as in Python.
type Dict struct {
	Keys   []any
	Values []any
	index  map[any]int
}

// Len returns the number of entries.
func (d *Dict) Len() int { return len(d.Keys) }

// Get returns the value stored under the string key k.
func (d *Dict) Get(k string) (any, bool) {
	if d == nil {
		return nil, false
	}
	if d.index != nil {
		if i, ok := d.index[k]; ok {
			return d.Values[i], true
		}
		return nil, false
	}
	for i, key := range d.Keys {
		if s, ok := key.(string); ok && s == k {
			return d.Values[i], true
		}
	}
	return nil, false
}

// Set stores v under k.
func (d *Dict) Set(k, v any) {
	if hk, ok := hashKey(k); ok {
		if d.index == nil {
			d.index = make(map[any]int)
		}
		if i, ok := d.index[hk]; ok {
			d.Values[i] = v
			return
		}
		d.index[hk] = len(d.Keys)
	}
	d.Keys = append(d.Keys, k)
	d.Values = append(d.Values, v)
}

// hashKey returns a comparable Go value standing for the Python key k, when
// there is one cheaply: other keys (tuples, bytes, big ints) are never merged.
func hashKey(k any) (any, bool) {
	switch k := k.(type) {
	case nil, bool, int64, float64, string:
		return k, true
	}
	return nil, false
}

// Global is a reference to a module-level name: a class or a function.
type Global struct {
	Module, Name string
}

func (g *Global) String() string { return g.Module + "." + g.Name }

// Object is the result of calling an allowed class or function (REDUCE,
// NEWOBJ, NEWOBJ_EX, OBJ, INST) and of restoring its state (BUILD). Nothing is
// called: the object only records what the pickle asked for.
type Object struct {
	Module, Name string // the callable
	Args         Tuple  // positional arguments
	Kwargs       *Dict  // keyword arguments (NEWOBJ_EX), or nil
	// State is the argument of BUILD (usually a *Dict of attributes, or a
	// Tuple (dict, slots)), or nil when the pickle had none. A second BUILD with
	// a *Dict state merges into a *Dict State, as Python's default does.
	State any
	// ListItems and DictItems collect APPEND(S) and SETITEM(S) applied to the
	// object (list and dict subclasses, such as collections.OrderedDict).
	ListItems []any
	DictItems *Dict
}

func (o *Object) String() string { return o.Module + "." + o.Name + "(...)" }

// TypeName returns a short description of a parsed value's type, for error
// messages.
func TypeName(v any) string {
	switch v := v.(type) {
	case nil:
		return "None"
	case bool:
		return "bool"
	case int64, *big.Int:
		return "int"
	case float64:
		return "float"
	case string:
		return "str"
	case []byte:
		return "bytes"
	case Tuple:
		return "tuple"
	case *List:
		return "list"
	case *Dict:
		return "dict"
	case *Set:
		return "set"
	case *Global:
		return "global " + v.String()
	case *Object:
		return v.Module + "." + v.Name
	}
	return fmt.Sprintf("%T", v)
}
