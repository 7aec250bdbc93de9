package lightgbm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// This file holds a literal, slow re-statement of LightGBM's prediction
// rules (the fixtures README "Semantics" section and tree.h's
// NumericalDecision / CategoricalDecision) over the parsed file, and
// property tests comparing the flattened evaluator with it on random models
// that use every decision_type combination.

// refZero applies LightGBM's text parser rule to an input value.
func refZero(v float64) float64 {
	if math.Abs(v) <= zeroThreshold {
		return 0
	}
	return v
}

func refDecision(t *rawTree, node int, x []float64) int32 {
	v := refZero(x[t.splitFeature[node]])
	dt := t.decisionType[node]
	if dt&1 != 0 { // categorical
		if math.IsNaN(v) {
			return t.right[node]
		}
		// C++ static_cast<int>: out-of-range values become INT_MIN on x86.
		var c int64
		if v <= -2147483649 || v >= 2147483648 {
			c = math.MinInt32
		} else {
			c = int64(v)
		}
		if c < 0 {
			return t.right[node]
		}
		ci := int(t.threshold[node])
		lo, hi := t.catBoundaries[ci], t.catBoundaries[ci+1]
		words := t.catThreshold[lo:hi]
		if int(c/32) < len(words) && words[c/32]>>(c%32)&1 == 1 {
			return t.left[node]
		}
		return t.right[node]
	}
	missing := (dt >> 2) & 3
	if math.IsNaN(v) && missing != 2 {
		v = 0
	}
	if (missing == 1 && v >= -zeroThreshold && v <= zeroThreshold) || (missing == 2 && math.IsNaN(v)) {
		if dt&2 != 0 {
			return t.left[node]
		}
		return t.right[node]
	}
	if v <= t.threshold[node] {
		return t.left[node]
	}
	return t.right[node]
}

// refLeaf returns the file leaf index row x reaches in t.
func refLeaf(t *rawTree, x []float64) int {
	if t.numLeaves == 1 {
		return 0
	}
	node := int32(0)
	for node >= 0 {
		node = refDecision(t, int(node), x)
	}
	return int(^node)
}

func refTreeOutput(t *rawTree, x []float64) float64 {
	leaf := refLeaf(t, x)
	if !t.isLinear {
		return t.leafValue[leaf]
	}
	off := 0
	for _, c := range t.numFeatures[:leaf] {
		off += int(c)
	}
	out := t.leafConst[leaf]
	for j := off; j < off+int(t.numFeatures[leaf]); j++ {
		v := refZero(x[t.leafFeatures[j]])
		if math.IsNaN(v) {
			return t.leafValue[leaf]
		}
		out += float64(t.leafCoeff[j] * v)
	}
	return out
}

func refRaw(rm *rawModel, x []float64) []float64 {
	out := make([]float64, rm.treesPerIter)
	for i := range rm.trees {
		out[i%rm.treesPerIter] += refTreeOutput(&rm.trees[i], x)
	}
	return out
}

// treeSpec is one tree of a hand-built model text.
type treeSpec struct {
	feat, dt, left, right []int
	thr                   []float64
	vals                  []float64
	catBounds             []int
	catWords              []uint32
	linConst              []float64
	linFeats              [][]int
	linCoeffs             [][]float64
}

func fmtFloats(v []float64) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.FormatFloat(x, 'g', 17, 64)
	}
	return strings.Join(s, " ")
}

func fmtInts[T int | uint32](v []T) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, " ")
}

// modelText writes a LightGBM v4 text model.
func modelText(objective string, nf, k int, trees []treeSpec, extra string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "tree\nversion=v4\nnum_class=%d\nnum_tree_per_iteration=%d\nlabel_index=0\nmax_feature_idx=%d\nobjective=%s\n%s", k, k, nf-1, objective, extra)
	names := make([]string, nf)
	for i := range names {
		names[i] = fmt.Sprintf("f%d", i)
	}
	fmt.Fprintf(&b, "feature_names=%s\n\n", strings.Join(names, " "))
	for i, t := range trees {
		fmt.Fprintf(&b, "Tree=%d\nnum_leaves=%d\nnum_cat=%d\n", i, len(t.vals), max(0, len(t.catBounds)-1))
		fmt.Fprintf(&b, "split_feature=%s\nthreshold=%s\ndecision_type=%s\n", fmtInts(t.feat), fmtFloats(t.thr), fmtInts(t.dt))
		fmt.Fprintf(&b, "left_child=%s\nright_child=%s\nleaf_value=%s\n", fmtInts(t.left), fmtInts(t.right), fmtFloats(t.vals))
		if len(t.catBounds) > 0 {
			fmt.Fprintf(&b, "cat_boundaries=%s\ncat_threshold=%s\n", fmtInts(t.catBounds), fmtInts(t.catWords))
		}
		if t.linConst != nil {
			fmt.Fprintf(&b, "is_linear=1\nleaf_const=%s\n", fmtFloats(t.linConst))
			var nfs []int
			var fs, cs []string
			for l := range t.linFeats {
				nfs = append(nfs, len(t.linFeats[l]))
				fs = append(fs, fmtInts(t.linFeats[l]))
				cs = append(cs, fmtFloats(t.linCoeffs[l]))
			}
			fmt.Fprintf(&b, "num_features=%s\nleaf_features=%s \nleaf_coeff=%s \n", fmtInts(nfs), strings.Join(fs, "  "), strings.Join(cs, "  "))
		} else {
			b.WriteString("is_linear=0\n")
		}
		b.WriteString("shrinkage=1\n\n\n")
	}
	b.WriteString("end of trees\n\nfeature_importances:\n\nparameters:\n[boosting: gbdt]\nend of parameters\n")
	return b.String()
}

// specialValues are inputs and thresholds around every rule's edges.
var specialValues = []float64{
	0, math.Copysign(0, -1), 1e-40, -1e-40, zeroThreshold, -zeroThreshold,
	math.Nextafter(zeroThreshold, 1), -math.Nextafter(zeroThreshold, 1), 1e-35, -1e-35,
	0.5, -0.5, 1, -1, 2.5, 3, 31.99, 32, 33, 63, 64, 1e10, -1e10, 3e9,
	math.Inf(1), math.Inf(-1), math.NaN(), math.MaxFloat64, -math.MaxFloat64,
}

// randomTree builds a random valid tree over nf features with n leaves.
func randomTree(rng *rand.Rand, nf, n int, linear bool) treeSpec {
	var t treeSpec
	// Grow by splitting a random leaf: node i splits leaf slot s.
	type slot struct{ parent, side int }
	slots := []slot{{-1, 0}}
	t.left = make([]int, n-1)
	t.right = make([]int, n-1)
	for i := 0; i < n-1; i++ {
		si := rng.IntN(len(slots))
		s := slots[si]
		slots = append(slots[:si], slots[si+1:]...)
		if s.parent >= 0 {
			if s.side == 0 {
				t.left[s.parent] = i
			} else {
				t.right[s.parent] = i
			}
		}
		slots = append(slots, slot{i, 0}, slot{i, 1})
	}
	for l, s := range slots {
		if s.parent < 0 {
			continue
		}
		if s.side == 0 {
			t.left[s.parent] = ^l
		} else {
			t.right[s.parent] = ^l
		}
	}
	ncat := 0
	for i := 0; i < n-1; i++ {
		t.feat = append(t.feat, rng.IntN(nf))
		dt := rng.IntN(12) // bits 0..3, missing type 0..2
		if dt&1 != 0 && rng.IntN(2) == 0 {
			dt &^= 1
		}
		t.dt = append(t.dt, dt)
		if dt&1 != 0 {
			t.thr = append(t.thr, float64(ncat))
			if ncat == 0 {
				t.catBounds = append(t.catBounds, 0)
			}
			words := 1 + rng.IntN(3)
			for range words {
				t.catWords = append(t.catWords, rng.Uint32())
			}
			t.catBounds = append(t.catBounds, t.catBounds[len(t.catBounds)-1]+words)
			ncat++
			continue
		}
		t.thr = append(t.thr, specialValues[rng.IntN(len(specialValues))])
	}
	for range n {
		t.vals = append(t.vals, rng.NormFloat64())
	}
	if linear {
		for range n {
			t.linConst = append(t.linConst, rng.NormFloat64())
			var fs []int
			var cs []float64
			for range rng.IntN(3) {
				fs = append(fs, rng.IntN(nf))
				cs = append(cs, rng.NormFloat64())
			}
			t.linFeats = append(t.linFeats, fs)
			t.linCoeffs = append(t.linCoeffs, cs)
		}
	}
	return t
}

// TestRandomModelsMatchReference compares PredictRaw and the leaf indices
// with the literal rules on random models (every decision_type, categorical
// bitsets, linear leaves, single-leaf trees) and inputs drawn from values on
// the rules' edges, for batch sizes that exercise full and partial lane
// groups and blocks.
func TestRandomModelsMatchReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for iter := range 300 {
		nf := 1 + rng.IntN(5)
		k := 1 + rng.IntN(3)
		ntrees := k * (1 + rng.IntN(4))
		linear := iter%3 == 2
		var trees []treeSpec
		for range ntrees {
			trees = append(trees, randomTree(rng, nf, 1+rng.IntN(12), linear && rng.IntN(2) == 0))
		}
		obj := "regression"
		if k > 1 {
			obj = fmt.Sprintf("multiclass num_class:%d", k)
		}
		text := modelText(obj, nf, k, trees, "")
		m, err := Load([]byte(text))
		if err != nil {
			t.Fatalf("iter %d: %v\n%s", iter, err, text)
		}
		rm, err := parseText(text)
		if err != nil {
			t.Fatal(err)
		}
		rows := 1 + rng.IntN(150)
		x := make([]float64, rows*nf)
		for i := range x {
			if rng.IntN(4) == 0 {
				x[i] = rng.NormFloat64() * 3
			} else {
				x[i] = specialValues[rng.IntN(len(specialValues))]
			}
		}
		got := make([]float64, rows*k)
		m.PredictRaw(x, rows, got)
		leaves := make([]int32, rows*ntrees)
		m.predictLeaf(x, rows, leaves)
		for r := 0; r < rows; r++ {
			row := x[r*nf : (r+1)*nf]
			want := refRaw(rm, row)
			for j := range want {
				if math.Float64bits(got[r*k+j]) != math.Float64bits(want[j]) {
					t.Fatalf("iter %d row %d (%v) output %d: got %v, want %v\n%s", iter, r, row, j, got[r*k+j], want[j], text)
				}
			}
			for ti := range rm.trees {
				if wl := refLeaf(&rm.trees[ti], row); int(leaves[r*ntrees+ti]) != wl {
					t.Fatalf("iter %d row %d tree %d: leaf %d, want %d", iter, r, ti, leaves[r*ntrees+ti], wl)
				}
			}
		}
	}
}
