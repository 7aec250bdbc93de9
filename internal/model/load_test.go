package model

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tinyTree is a one-split model over two features: x1 < 0.5 -> -1 else +2
// (missing goes left), base_score 0.5.
func tinyModel(objective, extra string) string {
	return `{"learner":{"feature_names":["a","b"],"feature_types":["float","float"],` +
		`"gradient_booster":{"name":"gbtree","model":{"tree_info":[0],"trees":[` +
		`{"left_children":[1,-1,-1],"right_children":[2,-1,-1],"split_indices":[1,0,0],` +
		`"split_conditions":[0.5,-1,2],"default_left":[true,false,false]` + extra + `}]}},` +
		`"learner_model_param":{"base_score":"5E-1","num_class":"0","num_feature":"2"},` +
		`"objective":{"name":"` + objective + `"}},"version":[1,5,0]}`
}

func TestLoadTiny(t *testing.T) {
	m, err := Load([]byte(tinyModel("reg:squarederror", "")))
	if err != nil {
		t.Fatal(err)
	}
	nan := float32(math.NaN())
	x := []float32{0, 0.4999, 0, 0.5, 0, nan, 0, float32(math.Inf(1))}
	out := make([]float32, 4)
	m.PredictMargin(x, 4, out)
	want := []float32{-0.5, 2.5, -0.5, 2.5} // base 0.5 + leaf
	for i := range want {
		if out[i] != want[i] {
			t.Errorf("row %d: margin %v, want %v", i, out[i], want[i])
		}
	}
	if info := m.Info(); info.Format != "json" || info.Booster != "gbtree" || len(info.FeatureNames) != 2 {
		t.Errorf("Info() = %+v", info)
	}
}

func TestLoadErrors(t *testing.T) {
	good := tinyModel("reg:squarederror", "")
	cases := []struct {
		name string
		data string
		want error
	}{
		{"empty", "", ErrMalformed},
		{"not json", "hello", ErrMalformed},
		{"legacy binary", "binf\x00\x00\x00\x00", ErrUnsupported},
		{"truncated", good[:len(good)/2], ErrMalformed},
		{"trailing garbage", good + "x", ErrMalformed},
		{"unsupported objective", tinyModel("survival:cox", ""), ErrUnsupported},
		{"unknown objective", tinyModel("my:objective", ""), ErrUnsupported},
		{"unsupported booster", strings.Replace(good, `"name":"gbtree"`, `"name":"gbforest"`, 1), ErrUnsupported},
		{"feature out of range", strings.Replace(good, `"split_indices":[1,0,0]`, `"split_indices":[2,0,0]`, 1), ErrMalformed},
		{"negative feature", strings.Replace(good, `"split_indices":[1,0,0]`, `"split_indices":[-1,0,0]`, 1), ErrMalformed},
		{"cyclic children", strings.Replace(good, `"left_children":[1,-1,-1]`, `"left_children":[1,0,-1]`, 1), ErrMalformed},
		{"self loop", strings.Replace(good, `"right_children":[2,-1,-1]`, `"right_children":[0,-1,-1]`, 1), ErrMalformed},
		{"shared child", strings.Replace(good, `"right_children":[2,-1,-1]`, `"right_children":[1,-1,-1]`, 1), ErrMalformed},
		{"child out of range", strings.Replace(good, `"right_children":[2,-1,-1]`, `"right_children":[7,-1,-1]`, 1), ErrMalformed},
		{"length mismatch", strings.Replace(good, `"split_conditions":[0.5,-1,2]`, `"split_conditions":[0.5,-1]`, 1), ErrMalformed},
		{"tree_info mismatch", strings.Replace(good, `"tree_info":[0]`, `"tree_info":[0,0]`, 1), ErrMalformed},
		{"tree_info group", strings.Replace(good, `"tree_info":[0]`, `"tree_info":[3]`, 1), ErrMalformed},
		{"bad base_score", strings.Replace(good, `"5E-1"`, `"abc"`, 1), ErrMalformed},
		{"too many base_score", strings.Replace(good, `"5E-1"`, `"[1,2]"`, 1), ErrMalformed},
		{"names mismatch", strings.Replace(good, `["a","b"]`, `["a"]`, 1), ErrMalformed},
		{"deep nesting", strings.Repeat("[", 1000), ErrMalformed},
		{"vector leaf 2.x", strings.Replace(strings.Replace(good, `"num_feature":"2"`, `"num_feature":"2","num_target":"2"`, 1),
			`"default_left":[true,false,false]`, `"default_left":[true,false,false],"tree_param":{"size_leaf_vector":"2"}`, 1), ErrUnsupported},
		{"ubj wrong marker", "{L\x00\x00\x00\x00\x00\x00\x00\x01aQ}", ErrMalformed},
		{"ubj absurd length", "{L\x00\x00\x00\x00\x00\x00\x00\x07learner[$d#L\x7f\xff\xff\xff\xff\xff\xff\xff}", ErrMalformed},
		{"ubj negative length", "{L\xff\xff\xff\xff\xff\xff\xff\xffa}", ErrMalformed},
		{"ubj zero-size typed array", "{i\x01a[$Z#L\x7f\xff\xff\xff\xff\xff\xff\xff}", ErrMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := Load([]byte(c.data))
			if err == nil {
				t.Fatalf("Load succeeded (%+v), want %v", m.Info(), c.want)
			}
			if !errors.Is(err, c.want) {
				t.Fatalf("Load error %q, want errors.Is %v", err, c.want)
			}
		})
	}
}

// Every fixture truncated at many points must fail cleanly.
func TestLoadTruncatedFixtures(t *testing.T) {
	for _, path := range fixtureModelFiles() {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range []int{0, 1, 2, 10, 100, len(data) / 3, len(data) / 2, len(data) - 2, len(data) - 1} {
			if n < 0 || n >= len(data) {
				continue
			}
			if _, err := Load(data[:n]); !errors.Is(err, ErrMalformed) {
				t.Errorf("%s truncated to %d bytes: error %v, want ErrMalformed", path, n, err)
			}
		}
	}
}

func TestNaNTokens(t *testing.T) {
	// XGBoost writes non-finite floats as bare tokens; a leaf may hold them.
	src := strings.Replace(tinyModel("reg:squarederror", ""), `"split_conditions":[0.5,-1,2]`,
		`"split_conditions":[Infinity,NaN,-Infinity]`, 1)
	m, err := Load([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float32, 2)
	m.PredictMargin([]float32{0, 1e30, 0, float32(math.Inf(1))}, 2, out)
	// 1e30 < +Inf -> left leaf NaN; +Inf < +Inf is false -> right leaf -Inf.
	if !math.IsNaN(float64(out[0])) || !math.IsInf(float64(out[1]), -1) {
		t.Errorf("margins %v, want [NaN -Inf]", out)
	}
}

func TestVectorLeaf(t *testing.T) {
	// 3.x multi_output_tree layout: a leaf's right_children entry indexes
	// leaf_weights (K values per leaf).
	src := `{"learner":{"gradient_booster":{"name":"gbtree","model":{"tree_info":[0],"trees":[` +
		`{"tree_param":{"size_leaf_vector":"2","num_nodes":"3"},"left_children":[1,-1,-1],"right_children":[2,1,0],` +
		`"split_indices":[0,0,0],"split_conditions":[0.5,0,0],"default_left":[0,0,0],"split_type":[0,0,0],` +
		`"leaf_weights":[1,2,10,20]}]}},` +
		`"learner_model_param":{"base_score":"[1E0,2E0]","num_class":"0","num_feature":"1","num_target":"2"},` +
		`"objective":{"name":"reg:squarederror"}},"version":[3,0,0]}`
	m, err := Load([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float32, 4)
	m.PredictMargin([]float32{0, 1}, 2, out)
	want := []float32{1 + 10, 2 + 20, 1 + 1, 2 + 2}
	for i := range want {
		if out[i] != want[i] {
			t.Fatalf("margins %v, want %v", out, want)
		}
	}
}

func TestUBJSONMatchesJSON(t *testing.T) {
	// A typed-array UBJSON document decodes to the same values as JSON.
	var b bytes.Buffer
	b.WriteString("{")
	key := func(s string) { b.WriteByte('i'); b.WriteByte(byte(len(s))); b.WriteString(s) }
	key("a")
	b.WriteString("[$d#i\x02\x3f\x00\x00\x00\x7f\xc0\x00\x00") // [0.5, NaN]
	key("b")
	b.WriteString("[$l#U\x01\xff\xff\xff\xff") // [-1]
	key("c")
	b.WriteString("SU\x03abc")
	b.WriteString("}")
	v, err := parseUBJSON(b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	f, _ := v.get("a").floats("a")
	n, _ := v.get("b").ints("b")
	if len(f) != 2 || f[0] != 0.5 || f[1] == f[1] || len(n) != 1 || n[0] != -1 || v.get("c").str != "abc" {
		t.Fatalf("decoded %+v", v)
	}
}

func fixtureModelFiles() []string {
	var files []string
	for _, root := range []string{xgb3Dir, filepath.Join("testdata", "xgboost-1.7")} {
		for _, ext := range []string{"json", "ubj"} {
			m, _ := filepath.Glob(filepath.Join(root, "*", "model."+ext))
			files = append(files, m...)
		}
	}
	return files
}
