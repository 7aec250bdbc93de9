package lightgbm

import (
	"errors"
	"math"
	"strings"
	"sync"
	"testing"

	"github.com/batchinfer/batchinfer/internal/model"
)

// stump is a one-split tree on feature 0: left leaf -1, right leaf +1.
func stump(thr float64, dt int) treeSpec {
	return treeSpec{feat: []int{0}, thr: []float64{thr}, dt: []int{dt}, left: []int{-1}, right: []int{-2}, vals: []float64{-1, 1}}
}

func mustLoad(t *testing.T, text string) *Model {
	t.Helper()
	m, err := Load([]byte(text))
	if err != nil {
		t.Fatalf("Load: %v\n%s", err, text)
	}
	return m
}

func raw1(m *Model, x ...float64) float64 {
	out := make([]float64, m.numOutputs)
	m.PredictRaw(x, 1, out)
	return out[0]
}

// TestDecisionTypeBits pins the numerical rule for every missing type and
// default direction (decision_type = missing<<2 | default_left<<1); -1 means
// left, +1 right. Expectations are worked out by hand from LightGBM's
// NumericalDecision.
func TestDecisionTypeBits(t *testing.T) {
	nan, negZero := math.NaN(), math.Copysign(0, -1)
	cases := []struct {
		name string
		thr  float64
		dt   int
		x    float64
		want float64
	}{
		// Missing None (0): NaN is 0, compared with the threshold.
		{"none nan->0<=thr", 0.5, 0, nan, -1},
		{"none nan->0>thr", -0.5, 0, nan, 1},
		{"none default_left ignored", -0.5, 2, nan, 1},
		{"none x==thr", 0.5, 0, 0.5, -1},
		{"none x>thr", 0.5, 0, math.Nextafter(0.5, 1), 1},
		{"none tiny->0 vs thr 0", 0, 0, 1e-40, -1},
		{"none tiny neg vs -1e-35f", -zeroThreshold, 0, -1e-40, 1},
		{"none -0 vs -1e-35f", -zeroThreshold, 0, negZero, 1},
		{"none -1e-35f itself", -zeroThreshold, 0, -zeroThreshold, 1}, // read as 0
		{"none +inf", math.MaxFloat64, 0, math.Inf(1), 1},
		// Missing NaN (2): NaN follows default_left; 0 is an ordinary value.
		{"nan right", 0.5, 8, nan, 1},
		{"nan left", 0.5, 10, nan, -1},
		{"nan left, thr -inf", math.Inf(-1), 10, nan, -1},
		{"nan left, thr +inf", math.Inf(1), 10, nan, -1},
		{"nan left, thr +inf, x +inf", math.Inf(1), 10, math.Inf(1), -1},
		{"nan left, x 0 > thr", -0.5, 10, 0, 1},
		{"nan left, x == thr", -0.5, 10, -0.5, -1},
		{"nan left, x just above thr", -0.5, 10, math.Nextafter(-0.5, 1), 1},
		{"nan right, x 0 <= thr", 0.5, 8, 0, -1},
		// Missing Zero (1): NaN and |x| <= 1e-35f take the default way.
		{"zero nan default right", 0.5, 4, nan, 1},
		{"zero nan default left", -0.5, 6, nan, -1},
		{"zero 0 default right thr>0", 0.5, 4, 0, 1},
		{"zero tiny default right", 0.5, 4, 1e-40, 1},
		{"zero x<=thr default right", 0.5, 4, 0.25, -1},
		{"zero neg x default right", 0.5, 4, -3, -1},
		{"zero 0 default left thr<0", -0.5, 6, 0, -1},
		{"zero between default left", -0.5, 6, -0.25, 1},
		{"zero below default left", -0.5, 6, -1, -1},
		{"zero above default left", -0.5, 6, 2, 1},
		{"zero default left thr>0 x 0", 0.5, 6, 0, -1},
		{"zero default right thr<0 x 0", -0.5, 4, 0, 1},
		{"zero default right thr<0 x<thr", -0.5, 4, -1, -1},
		// NaN threshold: no real value is <= NaN.
		{"nan thr none", nan, 0, 1, 1},
		{"nan thr nan-missing left", nan, 10, nan, -1},
	}
	for _, c := range cases {
		m := mustLoad(t, modelText("regression", 1, 1, []treeSpec{stump(c.thr, c.dt)}, ""))
		if got := raw1(m, c.x); got != c.want {
			t.Errorf("%s: thr %v dt %d x %v: got %v, want %v", c.name, c.thr, c.dt, c.x, got, c.want)
		}
	}
}

// TestCategorical pins the categorical rule: bitset {0, 3, 33} (words
// 0b1001, 0b10); NaN and negatives go right, the integer part selects the
// bit, unseen categories beyond the bitset go right.
func TestCategorical(t *testing.T) {
	tr := treeSpec{
		feat: []int{0}, thr: []float64{0}, dt: []int{1}, left: []int{-1}, right: []int{-2}, vals: []float64{-1, 1},
		catBounds: []int{0, 2}, catWords: []uint32{9, 2},
	}
	for _, dt := range []int{1, 3, 9, 11} { // missing type and default_left do not matter
		tr.dt = []int{dt}
		m := mustLoad(t, modelText("regression", 1, 1, []treeSpec{tr}, ""))
		for _, c := range []struct {
			x    float64
			want float64
		}{
			{0, -1}, {3, -1}, {33, -1}, {3.7, -1}, {-0.5, -1}, {1e-40, -1},
			{1, 1}, {2, 1}, {32, 1}, {34, 1}, {64, 1}, {1000, 1}, {-1, 1}, {-3, 1},
			{math.NaN(), 1}, {math.Inf(1), 1}, {math.Inf(-1), 1}, {1e30, 1}, {-1e30, 1}, {3e9, 1},
		} {
			if got := raw1(m, c.x); got != c.want {
				t.Errorf("dt %d x %v: got %v, want %v", dt, c.x, got, c.want)
			}
		}
	}
}

// TestLinearLeaves checks leaf_const + Σ coeff*x and the fallback to
// leaf_value when a leaf feature is NaN (NaN in a feature the leaf does not
// use does not matter).
func TestLinearLeaves(t *testing.T) {
	tr := stump(0, 8)
	tr.feat = []int{2}
	tr.linConst = []float64{10, 20}
	tr.linFeats = [][]int{{0, 1}, {}}
	tr.linCoeffs = [][]float64{{2, 3}, {}}
	m := mustLoad(t, modelText("regression", 3, 1, []treeSpec{tr}, ""))
	for _, c := range []struct {
		x    []float64
		want float64
	}{
		{[]float64{1, 1, -1}, 10 + 2 + 3},
		{[]float64{0.5, -2, -1}, 10 + 1 - 6},
		{[]float64{math.NaN(), 1, -1}, -1},
		{[]float64{1, math.NaN(), -1}, -1},
		{[]float64{1e-40, 1, -1}, 10 + 0 + 3},
		{[]float64{math.NaN(), math.NaN(), 1}, 20},
	} {
		if got := raw1(m, c.x...); got != c.want {
			t.Errorf("x %v: got %v, want %v", c.x, got, c.want)
		}
	}
}

// TestSingleLeafTree: num_leaves=1 trees (written with empty split arrays)
// add their one leaf value; they may follow or precede ordinary trees.
func TestSingleLeafTree(t *testing.T) {
	single := treeSpec{vals: []float64{0.25}}
	m := mustLoad(t, modelText("regression", 2, 1, []treeSpec{single, stump(0, 0), single}, ""))
	if got := raw1(m, 1, 0); got != 0.25+1+0.25 {
		t.Errorf("got %v, want 1.5", got)
	}
	if m.trees[0].depth != 0 {
		t.Errorf("depth %d", m.trees[0].depth)
	}
	// The short form without the empty keys loads too.
	text := "tree\nversion=v3\nnum_class=1\nmax_feature_idx=0\nobjective=regression\n\nTree=0\nnum_leaves=1\nleaf_value=-2.5\n\nend of trees\n"
	m = mustLoad(t, text)
	if got := raw1(m, 7); got != -2.5 {
		t.Errorf("got %v, want -2.5", got)
	}
	if m.Info().Booster != "gbdt" || m.Info().FeatureNames != nil {
		t.Errorf("Info = %+v", m.Info())
	}
}

// TestTransforms checks TransformRaw's formulas and ClassesOf.
func TestTransforms(t *testing.T) {
	tr := stump(0, 0)
	one := []treeSpec{tr}
	sig := func(x float64) float64 { return 1 / (1 + math.Exp(-x)) }
	for _, c := range []struct {
		obj   string
		extra string
		trees []treeSpec
		x     float64
		want  float64
	}{
		{"binary sigmoid:1", "", one, 1, sig(1)},
		{"binary sigmoid:2.5", "", one, 1, 1 / (1 + math.Exp(-2.5*1))},
		{"cross_entropy", "", one, -1, sig(-1)},
		{"cross_entropy_lambda", "", one, 1, math.Log(1 + math.Exp(1))},
		{"poisson", "", one, 1, math.E},
		{"tweedie", "", one, -1, math.Exp(-1)},
		{"regression sqrt", "", one, -1, -1},
		{"regression", "", one, -1, -1},
		{"quantile", "", one, 1, 1},
		{"lambdarank", "", one, 1, 1},
		{"rank_xendcg", "", one, 1, 1},
		// rf: raw is the sum (2 trees of +1 = 2), prediction sigmoid(2/2).
		{"binary sigmoid:1", "average_output\n", []treeSpec{tr, tr}, 1, sig(1)},
	} {
		m := mustLoad(t, modelText(c.obj, 1, 1, c.trees, c.extra))
		raw := []float64{raw1(m, c.x)}
		pred := make([]float64, 1)
		m.TransformRaw(raw, 1, pred)
		if pred[0] != c.want {
			t.Errorf("%s %q: pred %v, want %v", c.obj, c.extra, pred[0], c.want)
		}
	}

	// Multiclass: softmax over K outputs, tree i -> output i%K.
	trees := []treeSpec{stump(0, 0), stump(0, 0), {vals: []float64{3}}}
	m := mustLoad(t, modelText("multiclass num_class:3", 1, 3, trees, ""))
	raw := make([]float64, 3)
	m.PredictRaw([]float64{-1}, 1, raw)
	if raw[0] != -1 || raw[1] != -1 || raw[2] != 3 {
		t.Fatalf("raw = %v", raw)
	}
	m.TransformRaw(raw, 1, raw) // in place
	e := math.Exp(-4)
	if want := 1 / (2*e + 1); raw[2] != want || raw[0] != e/(2*e+1) {
		t.Errorf("softmax = %v", raw)
	}
	cls := make([]int32, 2)
	m.ClassesOf([]float64{0.2, 0.4, 0.4, 0.5, 0.3, 0.2}, 2, cls)
	if cls[0] != 1 || cls[1] != 0 {
		t.Errorf("classes = %v", cls)
	}
	b := mustLoad(t, modelText("binary sigmoid:1", 1, 1, one, ""))
	bc := make([]int32, 3)
	b.ClassesOf([]float64{0.5, 0.50001, 0.1}, 3, bc)
	if bc[0] != 0 || bc[1] != 1 || bc[2] != 0 {
		t.Errorf("binary classes = %v", bc)
	}
}

// TestLoadErrors: hostile or broken files fail with ErrMalformed, valid
// files using unknown features with ErrUnsupported; nothing panics.
func TestLoadErrors(t *testing.T) {
	good := modelText("binary sigmoid:1", 2, 1, []treeSpec{{
		feat: []int{0, 1}, thr: []float64{0.5, 1}, dt: []int{2, 8}, left: []int{1, -1}, right: []int{-3, -2}, vals: []float64{1, 2, 3},
	}}, "")
	mustLoad(t, good)
	malformed := map[string]string{
		"empty":              "",
		"not lightgbm":       "hello\n",
		"truncated":          good[:len(good)/2],
		"no end of trees":    strings.Replace(good, "end of trees", "", 1),
		"huge num_leaves":    strings.Replace(good, "num_leaves=3", "num_leaves=999999999999", 1),
		"zero num_leaves":    strings.Replace(good, "num_leaves=3", "num_leaves=0", 1),
		"child out of range": strings.Replace(good, "left_child=1 -1", "left_child=7 -1", 1),
		"leaf out of range":  strings.Replace(good, "right_child=-3 -2", "right_child=-9 -2", 1),
		"cycle":              strings.Replace(good, "left_child=1 -1", "left_child=1 1", 1),
		"self loop":          strings.Replace(good, "left_child=1 -1", "left_child=0 -1", 1),
		"shared leaf":        strings.Replace(good, "right_child=-3 -2", "right_child=-2 -2", 1),
		"feature too big":    strings.Replace(good, "split_feature=0 1", "split_feature=0 2", 1),
		"negative feature":   strings.Replace(good, "split_feature=0 1", "split_feature=0 -1", 1),
		"short threshold":    strings.Replace(good, "threshold=0.5 1", "threshold=0.5", 1),
		"bad float":          strings.Replace(good, "threshold=0.5 1", "threshold=0.5 x", 1),
		"bad max_feature":    strings.Replace(good, "max_feature_idx=1", "max_feature_idx=-1", 1),
		"huge max_feature":   strings.Replace(good, "max_feature_idx=1", "max_feature_idx=100000000", 1),
		"names mismatch":     strings.Replace(good, "feature_names=f0 f1", "feature_names=f0", 1),
		"num_class 0":        strings.Replace(good, "num_class=1", "num_class=0", 1),
		"categorical no set": strings.Replace(good, "decision_type=2 8", "decision_type=1 8", 1),
		"cat set index":      strings.Replace(strings.Replace(strings.Replace(good, "decision_type=2 8", "decision_type=1 8", 1), "num_cat=0", "num_cat=1\ncat_boundaries=0 1\ncat_threshold=5", 1), "threshold=0.5 1", "threshold=1 1", 1),
		"cat boundaries":     strings.Replace(good, "num_cat=0", "num_cat=1\ncat_boundaries=0 9\ncat_threshold=5", 1),
		"cat boundaries neg": strings.Replace(good, "num_cat=0", "num_cat=1\ncat_boundaries=-1 1\ncat_threshold=5", 1),
		"huge num_cat":       strings.Replace(good, "num_cat=0", "num_cat=99999999", 1),
		"trees vs K":         strings.Replace(strings.Replace(good, "num_class=1", "num_class=2", 1), "num_tree_per_iteration=1", "num_tree_per_iteration=2", 1),
		"linear short":       strings.Replace(good, "is_linear=0", "is_linear=1\nleaf_const=1 2 3\nnum_features=1 0 0\nleaf_features=\nleaf_coeff=", 1),
		"linear feature":     strings.Replace(good, "is_linear=0", "is_linear=1\nleaf_const=1 2 3\nnum_features=1 0 0\nleaf_features=5\nleaf_coeff=1", 1),
		"linear huge count":  strings.Replace(good, "is_linear=0", "is_linear=1\nleaf_const=1 2 3\nnum_features=2000000000 0 0\nleaf_features=5\nleaf_coeff=1", 1),
		"multiclass K":       strings.Replace(good, "objective=binary sigmoid:1", "objective=multiclass num_class:3", 1),
		"binary with K=2":    strings.Replace(strings.Replace(good, "num_class=1", "num_class=2", 1), "num_tree_per_iteration=1", "num_tree_per_iteration=2", 1),
	}
	for name, text := range malformed {
		m, err := Load([]byte(text))
		if !errors.Is(err, model.ErrMalformed) {
			t.Errorf("%s: Load = %v, %v; want ErrMalformed", name, m != nil, err)
		}
	}
	unsupported := map[string]string{
		"objective":   strings.Replace(good, "objective=binary sigmoid:1", "objective=my_loss", 1),
		"version v1":  strings.Replace(good, "version=v4", "version=v1", 1),
		"version v9":  strings.Replace(good, "version=v4", "version=v9", 1),
		"no version":  strings.Replace(good, "version=v4\n", "", 1),
		"alias names": strings.Replace(good, "objective=binary sigmoid:1", "objective=mse", 1),
	}
	for name, text := range unsupported {
		if _, err := Load([]byte(text)); !errors.Is(err, model.ErrUnsupported) {
			t.Errorf("%s: Load error %v, want ErrUnsupported", name, err)
		}
	}
}

func TestIsLightGBM(t *testing.T) {
	for _, c := range []struct {
		data string
		want bool
	}{
		{"tree\nversion=v4\n", true},
		{"tree\r\nversion=v3\r\n", true},
		{"\n\ntree\n", true},
		{"something\nversion=v2\n", true},
		{"{\"learner\":{}}", false},
		{"treehouse\n", false},
		{"", false},
	} {
		if got := IsLightGBM([]byte(c.data)); got != c.want {
			t.Errorf("IsLightGBM(%q) = %v", c.data, got)
		}
	}
}

// TestCRLFAndBooster: Windows line endings load; the booster comes from the
// parameters block (goss is v4's data_sample_strategy).
func TestCRLFAndBooster(t *testing.T) {
	text := modelText("regression", 1, 1, []treeSpec{stump(0, 0)}, "")
	m := mustLoad(t, strings.ReplaceAll(text, "\n", "\r\n"))
	if got := raw1(m, 1); got != 1 {
		t.Errorf("CRLF: got %v", got)
	}
	goss := strings.Replace(text, "[boosting: gbdt]", "[boosting: gbdt]\n[data_sample_strategy: goss]", 1)
	if b := mustLoad(t, goss).Info().Booster; b != "goss" {
		t.Errorf("booster %q, want goss", b)
	}
	dart := strings.Replace(text, "[boosting: gbdt]", "[boosting: dart]", 1)
	if b := mustLoad(t, dart).Info().Booster; b != "dart" {
		t.Errorf("booster %q, want dart", b)
	}
}

// TestConcurrentPredict runs PredictRaw from several goroutines on disjoint
// buffers (meaningful under -race) and checks they agree.
func TestConcurrentPredict(t *testing.T) {
	m := loadSpeedLarge(t)
	const rows = 300
	x := speedRows(rows)
	want := make([]float64, rows)
	m.PredictRaw(x, rows, want)
	var wg sync.WaitGroup
	errs := make(chan int, 4)
	for range 4 {
		wg.Go(func() {
			got := make([]float64, rows)
			m.PredictRaw(x, rows, got)
			for i := range got {
				if math.Float64bits(got[i]) != math.Float64bits(want[i]) {
					errs <- i
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for i := range errs {
		t.Errorf("row %d differs", i)
	}
}

func TestPredictRawAllocs(t *testing.T) {
	m := loadSpeedLarge(t)
	const rows = 1000
	x := speedRows(rows)
	out := make([]float64, rows)
	m.PredictRaw(x, rows, out)
	if a := testing.AllocsPerRun(20, func() { m.PredictRaw(x, rows, out) }); a > 0 {
		t.Errorf("PredictRaw allocates %v times per call", a)
	}
}
