package stats

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestAppendJSONFloat(t *testing.T) {
	// Expectations are Python 3 repr(float(x)).
	tests := []struct {
		f    float64
		want string
	}{
		{10, "10.0"}, {0, "0.0"}, {math.Copysign(0, -1), "-0.0"}, {0.1, "0.1"}, {1.45, "1.45"},
		{6.8500000000000005, "6.8500000000000005"}, {0.30000000000000004, "0.30000000000000004"},
		{1e-4, "0.0001"}, {1e-5, "1e-05"}, {1.5e-7, "1.5e-07"}, {1e15, "1000000000000000.0"},
		{1e16, "1e+16"}, {1.2345e16, "1.2345e+16"}, {-2.5, "-2.5"}, {123456.789, "123456.789"},
		{math.MaxFloat64, "1.7976931348623157e+308"}, {5e-324, "5e-324"},
		{math.NaN(), "null"}, {math.Inf(1), "null"}, {math.Inf(-1), "null"},
	}
	for _, tc := range tests {
		if got := string(AppendJSONFloat(nil, tc.f)); got != tc.want {
			t.Errorf("AppendJSONFloat(%v) = %s, want %s", tc.f, got, tc.want)
		}
	}
}

func goldenRef(t *testing.T) *Dataset {
	t.Helper()
	var d Dataset
	a := NewNumeric(nil, 0)
	a.Add(seq(1, 10))
	ca := a.Column()
	d.Set("a", &ca)
	c := NewCategorical()
	c.Add("x")
	c.Add("y")
	c.Add("x")
	cc := c.Column()
	d.Set("cat", &cc)
	one := NewNumeric(nil, 0)
	one.Add([]float64{2.5})
	co := one.Column()
	d.Set("single", &co)
	return &d
}

func TestMarshalKeyOrder(t *testing.T) {
	d := goldenRef(t)
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	wantA := `"a":{"count":10.0,"mean":5.5,"std":3.0276503540974917,"min":1.0,"25%":3.25,"50%":5.5,"75%":7.75,"max":10.0,` +
		`"hist":[[1,0,1,0,1,0,1,0,1,0,0,1,0,1,0,1,0,1,0,1],[1.0,1.45,1.9,2.35,2.8,3.25,3.7,4.15,4.6,5.05,5.5,5.95,6.4,6.8500000000000005,7.3,7.75,8.2,8.65,9.1,9.55,10.0]],"nan_count":0,"inf_count":0`
	if !strings.HasPrefix(s, "{"+wantA+",") {
		t.Errorf("numeric column:\n got %s\nwant prefix {%s,", s, wantA)
	}
	// MLRun's keys first, in MLRun's order; then the extras (sketch,
	// frequency table) that MLRun's readers ignore.
	if !strings.Contains(s, `"cat":{"count":3.0,"unique":2,"top":"x","freq":2,"nan_count":0,"frequencies":{"exact":true,"other":0,"values":[["x",2],["y",1]]}}`) {
		t.Errorf("categorical column: %s", s)
	}
	// Single value: no std key.
	if !strings.Contains(s, `"single":{"count":1.0,"mean":2.5,"min":2.5,`) {
		t.Errorf("single-value column: %s", s)
	}
	if !json.Valid(b) {
		t.Errorf("invalid JSON: %s", s)
	}
}

func TestJSONRoundTrip(t *testing.T) {
	d := goldenRef(t)
	b, err := d.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	var got Dataset
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Names, d.Names) {
		t.Fatalf("names %v, want %v", got.Names, d.Names)
	}
	for _, n := range d.Names {
		if !reflect.DeepEqual(got.Columns[n], d.Columns[n]) {
			t.Errorf("column %s:\n got %+v\nwant %+v", n, got.Columns[n], d.Columns[n])
		}
	}
	b2, _ := got.MarshalJSON()
	if string(b2) != string(b) {
		t.Errorf("second encoding differs:\n%s\n%s", b2, b)
	}
	// Non-finite values are written as null and read back as NaN.
	n := NewNumeric(nil, 0)
	n.Add([]float64{1, math.Inf(1)})
	c := n.Column()
	nf := Dataset{}
	nf.Set("x", &c)
	b, _ = nf.MarshalJSON()
	if !strings.Contains(string(b), `"mean":null,"std":null,"min":1.0`) || !json.Valid(b) {
		t.Errorf("non-finite encoding: %s", b)
	}
	if err := nf.UnmarshalJSON(b); err != nil {
		t.Fatal(err)
	}
	if x, _ := nf.Get("x"); !math.IsNaN(x.Mean) || !x.HasStd || !math.IsNaN(x.Max) || x.InfCount != 1 {
		t.Errorf("decoded %+v", x)
	}
}

// mlrunStats is shaped like a model's spec.feature_stats written by MLRun
// 1.4: int and float counts, a NaN token, a column without hist and one
// without std, a categorical column and a boolean top.
const mlrunStats = `{
  "z_last": {"count": 10, "mean": 5.5, "std": 3.0276503540974917, "min": 1, "25%": 3.25,
     "50%": 5.5, "75%": 7.75, "max": 10,
     "hist": [[1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1],
              [1.0, 1.45, 1.9, 2.35, 2.8, 3.25, 3.7, 4.15, 4.6, 5.05, 5.5, 5.95, 6.4,
               6.8500000000000005, 7.3, 7.75, 8.2, 8.65, 9.1, 9.55, 10.0]]},
  "with_nan": {"count": 3.0, "mean": NaN, "std": NaN, "min": -Infinity, "25%": 0.5, "50%": 1.0,
     "75%": Infinity, "max": Infinity},
  "one": {"count": 1.0, "mean": 4.0, "min": 4.0, "25%": 4.0, "50%": 4.0, "75%": 4.0, "max": 4.0,
     "hist": [[0, 1], [3.5, 4.0, 4.5]]},
  "color": {"count": 5, "unique": 2, "top": "red", "freq": 3},
  "flag": {"count": 4, "unique": 2, "top": true, "freq": 3},
  "code": {"count": 4, "unique": 2, "top": 12, "freq": 3}
}`

func TestUnmarshalMLRun(t *testing.T) {
	if err := json.Unmarshal([]byte(mlrunStats), new(Dataset)); err == nil {
		t.Fatal("encoding/json accepted NaN tokens: ParseDataset's doc is stale")
	}
	d, err := ParseDataset([]byte(mlrunStats))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"z_last", "with_nan", "one", "color", "flag", "code"}; !slices.Equal(d.Names, want) {
		t.Fatalf("names %v, want %v (input order)", d.Names, want)
	}
	z, _ := d.Get("z_last")
	if z.Kind != KindNumeric || z.Count != 10 || !z.HasStd || z.Min != 1 || z.Hist == nil ||
		z.Hist.Edges[13] != 6.8500000000000005 || z.Hist.Counts[19] != 1 || !slices.Equal(z.Hist.Edges, ReferenceEdges(1, 10, 20)) {
		t.Errorf("z_last = %+v", z)
	}
	w, _ := d.Get("with_nan")
	if !math.IsNaN(w.Mean) || !math.IsNaN(w.Std) || !math.IsInf(w.Min, -1) || !math.IsInf(w.Max, 1) || w.Hist != nil {
		t.Errorf("with_nan = %+v", w)
	}
	o, _ := d.Get("one")
	if o.HasStd || o.Count != 1 || len(o.Hist.Counts) != 2 {
		t.Errorf("one = %+v", o)
	}
	for name, want := range map[string]Column{
		"color": {Kind: KindCategorical, Count: 5, Unique: 2, Top: "red", Freq: 3},
		"flag":  {Kind: KindCategorical, Count: 4, Unique: 2, Top: "True", Freq: 3},
		"code":  {Kind: KindCategorical, Count: 4, Unique: 2, Top: "12", Freq: 3},
	} {
		if got, _ := d.Get(name); *got != want {
			t.Errorf("%s = %+v, want %+v", name, *got, want)
		}
	}
	if _, ok := d.Get("missing"); ok {
		t.Error("Get(missing) found a column")
	}
}

func TestUnmarshalErrors(t *testing.T) {
	for _, in := range []string{
		``, `[]`, `{"a": 1}`, `{"a": {"count": "x"}}`, `{"a": {}, "a": {}}`,
		`{"a": {"hist": [[1, 2], [0, 1]]}}`, `{"a": {"hist": [[1.5], [0, 1]]}}`, `{"a": {"hist": [[-1], [0, 1]]}}`,
		`{"a": {"count": 1}} x`, `{"a": {"count": 01}}`, `{"a": {"count": -}}`, `{"a": {"count": 1.}}`,
		`{"a": {"count": NaN`, `{"a": "\x"}`, `{"a" {}}`, `{"a": {"nan_count": 0.5}}`,
		strings.Repeat("[", 100) + strings.Repeat("]", 100),
	} {
		var d Dataset
		err := d.UnmarshalJSON([]byte(in))
		if err == nil {
			t.Errorf("UnmarshalJSON(%q) = nil error", in)
		} else if !errors.Is(err, ErrSyntax) {
			t.Errorf("UnmarshalJSON(%q) error %v does not wrap ErrSyntax", in, err)
		}
	}
	var d Dataset
	if err := d.UnmarshalJSON([]byte(`{}`)); err != nil || d.Len() != 0 {
		t.Errorf("empty object: %v %+v", err, d)
	}
}

func TestMarshalMissingColumn(t *testing.T) {
	d := Dataset{Names: []string{"a"}}
	if _, err := d.MarshalJSON(); err == nil {
		t.Error("no error for a name without statistics")
	}
}

func FuzzUnmarshal(f *testing.F) {
	f.Add([]byte(mlrunStats))
	f.Add([]byte(`{"a": {"count": 1e400, "hist": [[1], [0, 1]]}}`))
	f.Add([]byte(`{"\u00e9\ud83d\ude00": {"top": null}}`))
	f.Add([]byte(`{"a": {"count": -Infinity, "mean": NaN}}`))
	f.Add([]byte(`{"a": {"count": 3, "approx": true, "sketch": {"mantissa_bits": 7, "zeros": 1, "neg_inf": 0, "pos_inf": 1, "pos": [130944, [1, -3, 2]], "neg": [5, [1]]}}}`))
	f.Add([]byte(`{"c": {"count": 3, "unique": 2, "top": "x", "freq": 2, "frequencies": {"exact": false, "other": 1, "values": [["x", 2], [true, 1]]}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var d Dataset
		if err := d.UnmarshalJSON(b); err != nil {
			return
		}
		// Whatever parses must encode, and the encoding must parse again.
		out, err := d.MarshalJSON()
		if err != nil {
			t.Fatalf("re-encoding: %v", err)
		}
		var d2 Dataset
		if err := d2.UnmarshalJSON(out); err != nil {
			t.Fatalf("re-parsing %s: %v", out, err)
		}
		if !slices.Equal(d.Names, d2.Names) {
			t.Fatalf("names changed: %q -> %q", d.Names, d2.Names)
		}
	})
}
