package model

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
)

// edgeValues are float32 inputs and thresholds where an ordering or
// missing-value mistake would show: infinities, both zeros, denormals, the
// extremes, and ordinary values with their float32 neighbours.
func edgeValues() []float32 {
	inf := float32(math.Inf(1))
	vals := []float32{
		-inf, inf, 0, float32(math.Copysign(0, -1)),
		math.SmallestNonzeroFloat32, -math.SmallestNonzeroFloat32,
		math.MaxFloat32, -math.MaxFloat32, 1.5e-38, -1.5e-38,
	}
	for _, v := range []float32{0.5, -0.5, 1, -1, 3, 0.1, -2.75} {
		vals = append(vals, v, math.Nextafter32(v, inf), math.Nextafter32(v, -inf))
	}
	return vals
}

// formatF32 writes v as XGBoost's JSON does, including the bare non-finite
// tokens.
func formatF32(v float32) string {
	switch {
	case math.IsNaN(float64(v)):
		return "NaN"
	case math.IsInf(float64(v), 1):
		return "Infinity"
	case math.IsInf(float64(v), -1):
		return "-Infinity"
	}
	return strconv.FormatFloat(float64(v), 'g', -1, 32)
}

// randomModel writes a JSON XGBoost model of nTrees randomly shaped trees
// (depth up to maxDepth, leaves at any level) over nf features, with
// thresholds drawn from edgeValues and, with probability nanThr, NaN
// thresholds (which keep a tree on the general path).
func randomModel(seed uint64, nTrees, maxDepth, nf, numClass int, nanThr float64) []byte {
	rng := rand.New(rand.NewPCG(seed, 3))
	edges := edgeValues()
	k := max(numClass, 1)
	var b bytes.Buffer
	b.WriteString(`{"learner":{"gradient_booster":{"name":"gbtree","model":{"tree_info":[`)
	for i := 0; i < nTrees; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(i % k))
	}
	b.WriteString(`],"trees":[`)
	for t := 0; t < nTrees; t++ {
		var left, right, feat, defl []int
		var cond []float32
		var grow func(depth int) int
		grow = func(depth int) int {
			id := len(left)
			left, right, feat, defl = append(left, -1), append(right, -1), append(feat, 0), append(defl, 0)
			cond = append(cond, float32(rng.NormFloat64()))
			if depth < maxDepth && (depth == 0 || rng.IntN(5) > 0) {
				feat[id] = rng.IntN(nf)
				defl[id] = rng.IntN(2)
				switch {
				case rng.Float64() < nanThr:
					cond[id] = float32(math.NaN())
				case rng.IntN(3) == 0:
					cond[id] = edges[rng.IntN(len(edges))]
				}
				l := grow(depth + 1)
				r := grow(depth + 1)
				left[id], right[id] = l, r
			}
			return id
		}
		grow(0)
		if t > 0 {
			b.WriteByte(',')
		}
		list := func(name string, n int, f func(i int) string) {
			fmt.Fprintf(&b, `"%s":[`, name)
			for i := 0; i < n; i++ {
				if i > 0 {
					b.WriteByte(',')
				}
				b.WriteString(f(i))
			}
			b.WriteString(`],`)
		}
		n := len(left)
		b.WriteByte('{')
		list("left_children", n, func(i int) string { return strconv.Itoa(left[i]) })
		list("right_children", n, func(i int) string { return strconv.Itoa(right[i]) })
		list("split_indices", n, func(i int) string { return strconv.Itoa(feat[i]) })
		list("split_conditions", n, func(i int) string { return formatF32(cond[i]) })
		list("default_left", n, func(i int) string { return strconv.Itoa(defl[i]) })
		b.WriteString(`"split_type":[],"categories":[],"categories_nodes":[],"categories_segments":[],"categories_sizes":[]}`)
	}
	fmt.Fprintf(&b, `]}},"learner_model_param":{"base_score":"5E-1","num_class":"%d","num_feature":"%d"},`, numClass, nf)
	obj := "binary:logistic"
	if numClass > 0 {
		obj = "multi:softprob"
	}
	fmt.Fprintf(&b, `"objective":{"name":"%s"}},"version":[1,7,4]}`, obj)
	return b.Bytes()
}

// edgeRows returns rows x nf inputs drawn from edgeValues, normal values and
// NaN.
func edgeRows(seed uint64, rows, nf int) []float32 {
	rng := rand.New(rand.NewPCG(seed, 4))
	edges := edgeValues()
	x := make([]float32, rows*nf)
	for i := range x {
		switch rng.IntN(4) {
		case 0:
			x[i] = edges[rng.IntN(len(edges))]
		case 1:
			x[i] = float32NaN()
		default:
			x[i] = float32(rng.NormFloat64())
		}
	}
	return x
}

// checkPathsAgree compares PredictMargin (fast path where it applies) with
// the general path alone, bit for bit, on the whole batch and on splits of
// it that put rows in different lanes and blocks.
func checkPathsAgree(t *testing.T, m *Model, x []float32, rows int) {
	t.Helper()
	k := m.numOutputs
	want := make([]float32, rows*k)
	m.predictGeneral(x, rows, want)
	got := make([]float32, rows*k)
	nf := m.numFeatures
	for _, chunk := range []int{rows, 1, 5, 8, 13, 100} {
		for r := 0; r < rows; r += chunk {
			n := min(chunk, rows-r)
			m.PredictMargin(x[r*nf:(r+n)*nf], n, got[r*k:(r+n)*k])
		}
		for i := range got {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				r := i / k
				t.Fatalf("chunk %d: row %d output %d: fast path %v, general path %v (row %v)",
					chunk, r, i%k, got[i], want[i], x[r*nf:(r+1)*nf])
			}
		}
	}
}

func TestFastPathMatchesGeneral(t *testing.T) {
	cases := []struct {
		name                             string
		seed                             uint64
		trees, depth, features, numClass int
		nanThr                           float64
	}{
		{"shallow", 1, 40, 3, 4, 0, 0},
		{"depth6", 2, 30, 6, 6, 0, 0},
		{"depth8", 3, 10, 8, 5, 0, 0},
		{"sparse deep", 7, 10, 16, 5, 0, 0.001}, // general path (too sparse for heap order)
		{"mixed NaN thresholds", 4, 40, 5, 4, 0, 0.05},
		{"multiclass", 5, 45, 4, 3, 3, 0.02},
		{"one feature", 6, 20, 4, 1, 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := Load(randomModel(c.seed, c.trees, c.depth, c.features, c.numClass, c.nanThr))
			if err != nil {
				t.Fatal(err)
			}
			if c.nanThr == 0 && len(m.heaps) == 0 {
				t.Fatalf("no tree on the fast path")
			}
			const rows = 1000
			checkPathsAgree(t, m, edgeRows(c.seed, rows, c.features), rows)
		})
	}
}

// TestFastPathSplitsExactly probes single splits at every edge threshold with
// every edge input, for both default directions.
func TestFastPathSplitsExactly(t *testing.T) {
	edges := edgeValues()
	inputs := append(edgeValues(), float32NaN())
	for _, thr := range edges {
		for _, defLeft := range []int{0, 1} {
			src := `{"learner":{"gradient_booster":{"name":"gbtree","model":{"tree_info":[0],"trees":[` +
				`{"left_children":[1,-1,-1],"right_children":[2,-1,-1],"split_indices":[0,0,0],` +
				`"split_conditions":[` + formatF32(thr) + `,-1,2],"default_left":[` + strconv.Itoa(defLeft) + `,0,0]}]}},` +
				`"learner_model_param":{"base_score":"0","num_class":"0","num_feature":"1"},` +
				`"objective":{"name":"reg:squarederror"}},"version":[1,7,4]}`
			m, err := Load([]byte(src))
			if err != nil {
				t.Fatal(err)
			}
			out := make([]float32, len(inputs))
			m.PredictMargin(inputs, len(inputs), out)
			for i, x := range inputs {
				left := x < thr // XGBoost's rule
				if x != x {
					left = defLeft == 1
				}
				want := float32(2)
				if left {
					want = -1
				}
				if out[i] != want {
					t.Errorf("x=%v thr=%v default_left=%d: margin %v, want %v", x, thr, defLeft, out[i], want)
				}
			}
		}
	}
}
