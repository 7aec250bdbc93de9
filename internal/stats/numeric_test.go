package stats

import (
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
)

func seq(lo, hi float64) []float64 {
	var xs []float64
	for x := lo; x <= hi; x++ {
		xs = append(xs, x)
	}
	return xs
}

func TestReferenceEdges(t *testing.T) {
	e := ReferenceEdges(1, 10, 20)
	if len(e) != 21 {
		t.Fatalf("len = %d, want 21", len(e))
	}
	// numpy.linspace(1, 10, 21): exact values from numpy 1.24 (drift-spec 5).
	want := map[int]float64{0: 1, 1: 1.45, 13: 6.8500000000000005, 20: 10}
	for i, w := range want {
		if e[i] != w {
			t.Errorf("e[%d] = %v, want %v exactly", i, e[i], w)
		}
	}
	for i := 1; i < len(e); i++ {
		if !(e[i] > e[i-1]) {
			t.Errorf("edges not increasing at %d: %v", i, e)
		}
	}
	// min == max widens to (min-0.5, max+0.5).
	e = ReferenceEdges(3, 3, 4)
	if !slices.Equal(e, []float64{2.5, 2.75, 3, 3.25, 3.5}) {
		t.Errorf("min==max edges = %v", e)
	}
	if got := len(ReferenceEdges(0, 1, 0)); got != DefaultBins+1 {
		t.Errorf("bins 0: %d edges, want %d", got, DefaultBins+1)
	}
}

// approx reports whether got is within tol relative (or absolute near 0) of want;
// NaN equals NaN.
func approx(got, want, tol float64) bool {
	if math.IsNaN(want) {
		return math.IsNaN(got)
	}
	if math.IsInf(want, 0) || want == 0 {
		return got == want || math.Abs(got-want) <= tol
	}
	return math.Abs(got-want) <= tol*math.Abs(want)
}

func TestNumericDescribe(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	// Expectations hand-computed with pandas' describe rules: linear
	// interpolation at q*(n-1), std with ddof=1. Tolerance 1e-15 relative:
	// the inputs are small integers, so mean/std are within an ulp or two.
	tests := []struct {
		name                    string
		xs                      []float64
		count, mean, std        float64
		hasStd                  bool
		min, q25, q50, q75, max float64
		nanCount, infCount      int64
	}{
		{"1..10", seq(1, 10), 10, 5.5, math.Sqrt(55.0 / 6), true, 1, 3.25, 5.5, 7.75, 10, 0, 0},
		{"single", []float64{4}, 1, 4, 0, false, 4, 4, 4, 4, 4, 0, 0},
		{"two", []float64{1, 2}, 2, 1.5, math.Sqrt(0.5), true, 1, 1.25, 1.5, 1.75, 2, 0, 0},
		{"unsorted with NaN", []float64{5, nan, 1, 3, nan}, 3, 3, 2, true, 1, 2, 3, 4, 5, 2, 0},
		{"four", []float64{0, 10, 20, 30}, 4, 15, math.Sqrt(500.0 / 3), true, 0, 7.5, 15, 22.5, 30, 0, 0},
		{"all NaN", []float64{nan, nan}, 0, nan, 0, false, nan, nan, nan, nan, nan, 2, 0},
		{"empty", nil, 0, nan, 0, false, nan, nan, nan, nan, nan, 0, 0},
		{"+Inf", []float64{1, 2, inf}, 3, inf, nan, true, 1, 1.5, 2, inf, inf, 0, 1},
		{"+-Inf", []float64{-inf, 0, inf}, 3, nan, nan, true, -inf, -inf, 0, inf, inf, 0, 2},
		{"constant", []float64{7, 7, 7}, 3, 7, 0, true, 7, 7, 7, 7, 7, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := NewNumeric(nil, 0)
			n.Add(tc.xs)
			c := n.Column()
			if c.Kind != KindNumeric || c.Count != tc.count || c.HasStd != tc.hasStd ||
				c.NaNCount != tc.nanCount || c.InfCount != tc.infCount {
				t.Fatalf("got kind %v count %v hasStd %v nan %d inf %d", c.Kind, c.Count, c.HasStd, c.NaNCount, c.InfCount)
			}
			for _, f := range []struct {
				k         string
				got, want float64
			}{
				{"mean", c.Mean, tc.mean}, {"min", c.Min, tc.min}, {"25%", c.Q25, tc.q25},
				{"50%", c.Q50, tc.q50}, {"75%", c.Q75, tc.q75}, {"max", c.Max, tc.max},
			} {
				if !approx(f.got, f.want, 1e-15) {
					t.Errorf("%s = %v, want %v", f.k, f.got, f.want)
				}
			}
			if tc.hasStd && !approx(c.Std, tc.std, 1e-15) {
				t.Errorf("std = %v, want %v", c.Std, tc.std)
			}
		})
	}
}

func TestNumericAddNull(t *testing.T) {
	n := NewNumeric(nil, 0)
	n.Add([]float64{1, 2})
	n.AddNull(3)
	n.AddNull(-1)
	if c := n.Column(); c.Count != 2 || c.NaNCount != 3 {
		t.Errorf("count %v nan %d, want 2 and 3", c.Count, c.NaNCount)
	}
}

func TestNumericHistogram(t *testing.T) {
	edges := []float64{0, 1, 2, 3}
	inf := math.Inf(1)
	tests := []struct {
		name string
		xs   []float64
		want []int64
	}{
		{"left edges closed", []float64{0, 1, 2}, []int64{1, 1, 1}},
		{"last bin closed", []float64{3, 2.5, 3}, []int64{0, 0, 3}},
		{"outside not counted", []float64{-0.001, 3.0000001, 1e9, -1e9}, []int64{0, 0, 0}},
		{"NaN and Inf not counted", []float64{math.NaN(), inf, -inf, 0.5}, []int64{1, 0, 0}},
		{"just below an edge", []float64{math.Nextafter(1, 0), math.Nextafter(3, 0)}, []int64{1, 0, 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := NewNumeric(edges, 99) // bins ignored with edges
			n.Add(tc.xs)
			c := n.Column()
			if c.Hist == nil || !slices.Equal(c.Hist.Counts, tc.want) || !slices.Equal(c.Hist.Edges, edges) {
				t.Errorf("hist = %+v, want counts %v over %v", c.Hist, tc.want, edges)
			}
		})
	}
	// The accumulator keeps its own copy of the edges.
	e := []float64{0, 1}
	n := NewNumeric(e, 0)
	e[1] = 5
	n.Add([]float64{1})
	if c := n.Column(); c.Hist.Counts[0] != 1 || c.Hist.Edges[1] != 1 {
		t.Errorf("edges aliased: %+v", c.Hist)
	}
}

func TestNumericOwnHistogram(t *testing.T) {
	tests := []struct {
		name  string
		xs    []float64
		bins  int
		want  []int64
		edges []float64
	}{
		{"1..10", seq(1, 10), 20, []int64{1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1}, ReferenceEdges(1, 10, 20)},
		{"min==max", []float64{2, 2}, 2, []int64{0, 2}, []float64{1.5, 2, 2.5}},
		// Non-finite values are left out of the reference histogram and its
		// edges (MLRun drops the whole hist); InfCount records them.
		{"with Inf and NaN", []float64{0, math.Inf(1), 4, math.NaN(), math.Inf(-1)}, 2, []int64{1, 1}, []float64{0, 2, 4}},
		{"only Inf", []float64{math.Inf(1)}, 2, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := NewNumeric(nil, tc.bins)
			n.Add(tc.xs)
			c := n.Column()
			if tc.want == nil {
				if c.Hist != nil {
					t.Fatalf("hist = %+v, want nil", c.Hist)
				}
				return
			}
			if c.Hist == nil || !slices.Equal(c.Hist.Counts, tc.want) || !slices.Equal(c.Hist.Edges, tc.edges) {
				t.Errorf("hist = %+v, want %v over %v", c.Hist, tc.want, tc.edges)
			}
		})
	}
}

func TestNumericColumnTwice(t *testing.T) {
	n := NewNumeric(nil, 0)
	n.Add([]float64{3, 1, 2})
	a := n.Column()
	n.Add([]float64{0})
	b := n.Column()
	if a.Count != 3 || b.Count != 4 || b.Min != 0 || b.Q50 != 1.5 || !approx(b.Mean, 1.5, 1e-15) {
		t.Errorf("a %+v b %+v", a, b)
	}
}

// TestNumericMerge splits random data into random shards, accumulates each,
// and merges them in a random order: counts, histogram, min, max and
// quartiles must be identical to one pass; mean and std within 1e-12
// relative (different summation order; Chan et al. combination is stable).
func TestNumericMerge(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 50 {
		n := 1 + rng.IntN(2000)
		xs := make([]float64, n)
		for i := range xs {
			switch r := rng.Float64(); {
			case r < 0.02:
				xs[i] = math.NaN()
			case r < 0.5:
				xs[i] = math.Round(rng.NormFloat64()*10) + 1000 // ties and a large offset
			default:
				xs[i] = rng.NormFloat64()*3 + 1000
			}
		}
		var edges []float64
		if trial%2 == 1 {
			edges = ReferenceEdges(990, 1010, 20)
		}
		whole := NewNumeric(edges, 0)
		whole.Add(xs)
		want := whole.Column()

		// Random cut points, then shards accumulated with random Add sizes.
		cuts := []int{0, n}
		for range rng.IntN(8) {
			cuts = append(cuts, rng.IntN(n+1))
		}
		slices.Sort(cuts)
		var parts []*Numeric
		for i := 1; i < len(cuts); i++ {
			p := NewNumeric(edges, 0)
			shard := xs[cuts[i-1]:cuts[i]]
			for len(shard) > 0 {
				k := 1 + rng.IntN(len(shard))
				p.Add(shard[:k])
				shard = shard[k:]
			}
			parts = append(parts, p)
		}
		rng.Shuffle(len(parts), func(i, j int) { parts[i], parts[j] = parts[j], parts[i] })
		acc := NewNumeric(edges, 0)
		for _, p := range parts {
			acc.Merge(p)
		}
		got := acc.Column()

		if got.Count != want.Count || got.NaNCount != want.NaNCount || got.HasStd != want.HasStd ||
			got.Min != want.Min || got.Max != want.Max ||
			got.Q25 != want.Q25 || got.Q50 != want.Q50 || got.Q75 != want.Q75 {
			t.Fatalf("trial %d: merged %+v, want %+v", trial, got, want)
		}
		if (got.Hist == nil) != (want.Hist == nil) ||
			(got.Hist != nil && (!slices.Equal(got.Hist.Counts, want.Hist.Counts) || !slices.Equal(got.Hist.Edges, want.Hist.Edges))) {
			t.Fatalf("trial %d: hist %+v, want %+v", trial, got.Hist, want.Hist)
		}
		if !approx(got.Mean, want.Mean, 1e-12) || (want.HasStd && !approx(got.Std, want.Std, 1e-12)) {
			t.Fatalf("trial %d: mean/std %v/%v, want %v/%v", trial, got.Mean, got.Std, want.Mean, want.Std)
		}
	}
}

func TestNumericMergePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Merge with different edges did not panic")
		}
	}()
	NewNumeric(nil, 0).Merge(NewNumeric([]float64{0, 1}, 0))
}

func TestCategorical(t *testing.T) {
	c := NewCategorical()
	for _, v := range []string{"b", "a", "c", "b", "a"} {
		c.Add(v)
	}
	c.AddNull(2)
	col := c.Column()
	// "a" and "b" tie at 2: the lexicographically smallest wins.
	if col.Kind != KindCategorical || col.Count != 5 || col.Unique != 3 || col.Top != "a" || col.Freq != 2 || col.NaNCount != 2 || col.Hist != nil {
		t.Errorf("column = %+v", col)
	}
	// Same result merged from shards in either order.
	x, y := NewCategorical(), NewCategorical()
	x.Add("b")
	x.Add("b")
	y.Add("a")
	y.Add("a")
	y.Add("c")
	xy, yx := NewCategorical(), NewCategorical()
	xy.Merge(x)
	xy.Merge(y)
	yx.Merge(y)
	yx.Merge(x)
	if a, b := xy.Column(), yx.Column(); !reflect.DeepEqual(a, b) || a.Top != "a" {
		t.Errorf("merge order matters: %+v vs %+v", a, b)
	}
	if e := NewCategorical().Column(); e.Count != 0 || e.Unique != 0 || e.Top != "" || e.Freq != 0 {
		t.Errorf("empty = %+v", e)
	}
}
