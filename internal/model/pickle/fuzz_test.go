package pickle

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse asserts that Parse returns a value or an error, never panics,
// hangs or allocates without bound, whatever the input and with every name
// allowed (so that the object paths are reached too).
func FuzzParse(f *testing.F) {
	for _, c := range plainPickles {
		f.Add([]byte(c.data))
	}
	for _, c := range objectPickles {
		f.Add([]byte(c.data))
	}
	f.Add([]byte(sharedList))
	f.Add([]byte(cyclicList))
	f.Add([]byte(orderedDict))
	f.Add([]byte("\x80\x02c__main__\nFoo\n)\x81}bxyz."))
	// Small scikit-learn pickles from the sklearn package's fixtures.
	paths, _ := filepath.Glob("../sklearn/testdata/sklearn-1.2/*/model.p[245].pkl")
	for _, p := range paths {
		if st, err := os.Stat(p); err == nil && st.Size() < 40_000 {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b)
			}
		}
	}
	opts := Options{
		Allow:           func(string, string) bool { return true },
		MaxObjects:      1 << 16,
		MaxContainerLen: 1 << 16,
		MaxBytes:        1 << 22,
		AfterBuild: func(o *Object, s *Stream) (any, error) {
			if o.Name == "NumpyArrayWrapper" {
				b, err := s.ReadByte()
				if err != nil {
					return nil, err
				}
				if b%2 == 0 {
					return s.Parse()
				}
				return s.Read(int64(b))
			}
			return o, nil
		},
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := Parse(bytes.NewReader(data), opts)
		if err != nil {
			return
		}
		walk(v, map[any]bool{}, 0)
	})
}

// walk visits every value once (pointers by identity), as a consumer would.
func walk(v any, seen map[any]bool, depth int) {
	if depth > 10_000 {
		return
	}
	switch v := v.(type) {
	case *List, *Dict, *Set, *Object:
		if seen[v] {
			return
		}
		seen[v] = true
	case Tuple:
		// Tuples are shared through the memo too: identify them by their
		// backing array, or a DAG of tuples costs exponential time.
		if len(v) > 0 {
			if seen[&v[0]] {
				return
			}
			seen[&v[0]] = true
		}
	}
	switch v := v.(type) {
	case Tuple:
		for _, it := range v {
			walk(it, seen, depth+1)
		}
	case *List:
		for _, it := range v.Items {
			walk(it, seen, depth+1)
		}
	case *Set:
		for _, it := range v.Items {
			walk(it, seen, depth+1)
		}
	case *Dict:
		for i := range v.Keys {
			walk(v.Keys[i], seen, depth+1)
			walk(v.Values[i], seen, depth+1)
		}
		v.Get("x")
	case *Object:
		walk(v.Args, seen, depth+1)
		walk(v.State, seen, depth+1)
		walk(v.ListItems, seen, depth+1)
		if v.DictItems != nil {
			walk(v.DictItems, seen, depth+1)
		}
		_ = v.String()
	}
	_ = TypeName(v)
}
