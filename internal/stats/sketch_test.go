package stats

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
)

// genValues draws n values of a mixed distribution: ties, a large offset,
// values spanning many magnitudes, negatives, zeros, and (with special)
// NaN and +-Inf.
func genValues(rng *rand.Rand, n int, special bool) []float64 {
	xs := make([]float64, n)
	for i := range xs {
		switch r := rng.Float64(); {
		case special && r < 0.01:
			xs[i] = math.NaN()
		case special && r < 0.015:
			xs[i] = math.Inf(1 - 2*rng.IntN(2))
		case r < 0.05:
			xs[i] = 0
		case r < 0.4:
			xs[i] = math.Round(rng.NormFloat64()*10) + 1000
		case r < 0.7:
			xs[i] = -math.Exp(rng.NormFloat64() * 5)
		default:
			xs[i] = rng.NormFloat64()*3 + 1000
		}
	}
	return xs
}

// shardMerge accumulates xs in random shards (random Add sizes) and merges
// them in a random order, optionally through a random merge tree.
func shardMerge(rng *rand.Rand, xs []float64, mk func() *Numeric) *Numeric {
	n := len(xs)
	cuts := []int{0, n}
	for range rng.IntN(10) {
		cuts = append(cuts, rng.IntN(n+1))
	}
	slices.Sort(cuts)
	var parts []*Numeric
	for i := 1; i < len(cuts); i++ {
		p := mk()
		shard := xs[cuts[i-1]:cuts[i]]
		for len(shard) > 0 {
			k := 1 + rng.IntN(len(shard))
			p.Add(shard[:k])
			shard = shard[k:]
		}
		parts = append(parts, p)
	}
	rng.Shuffle(len(parts), func(i, j int) { parts[i], parts[j] = parts[j], parts[i] })
	// Random merge tree: repeatedly merge a random pair.
	for len(parts) > 1 {
		i, j := rng.IntN(len(parts)), rng.IntN(len(parts)-1)
		if j >= i {
			j++
		}
		parts[i].Merge(parts[j])
		parts = slices.Delete(parts, j, j+1)
	}
	return parts[0]
}

func sameFloat(a, b float64) bool { return a == b || (math.IsNaN(a) && math.IsNaN(b)) }

// TestNumericMergeProperty: for random data below and above ExactCap, with
// and without reference edges, random splits and merge trees give identical
// counts, histograms, min, max, quartiles and sketches (bit for bit), and
// mean and std within 1e-12 relative of one pass.
func TestNumericMergeProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const exactCap = 300
	for trial := range 200 {
		n := 1 + rng.IntN(1200) // about half the trials exceed exactCap
		special := trial%3 == 0
		xs := genValues(rng, n, special)
		var edges []float64
		if trial%2 == 1 {
			edges = ReferenceEdges(990, 1010, 20)
		}
		mk := func() *Numeric { return NewNumericWith(edges, NumericOptions{ExactCap: exactCap}) }
		whole := mk()
		whole.Add(xs)
		want := whole.Column()
		for rep := range 3 {
			got := shardMerge(rng, xs, mk).Column()
			name := fmt.Sprintf("trial %d rep %d (n=%d approx=%v)", trial, rep, n, want.Approx)
			if got.Count != want.Count || got.NaNCount != want.NaNCount || got.InfCount != want.InfCount ||
				got.HasStd != want.HasStd || got.Approx != want.Approx ||
				!sameFloat(got.Min, want.Min) || !sameFloat(got.Max, want.Max) ||
				!sameFloat(got.Q25, want.Q25) || !sameFloat(got.Q50, want.Q50) || !sameFloat(got.Q75, want.Q75) {
				t.Fatalf("%s: merged %+v, want %+v", name, got, want)
			}
			if !reflect.DeepEqual(got.Hist, want.Hist) {
				t.Fatalf("%s: hist %+v, want %+v", name, got.Hist, want.Hist)
			}
			if !reflect.DeepEqual(got.Sketch, want.Sketch) {
				t.Fatalf("%s: sketch differs", name)
			}
			if !approx(got.Mean, want.Mean, 1e-12) || (want.HasStd && !approx(got.Std, want.Std, 1e-12)) {
				t.Fatalf("%s: mean/std %v/%v, want %v/%v", name, got.Mean, got.Std, want.Mean, want.Std)
			}
		}
		if want.Approx != (countFinite(xs) > exactCap) {
			t.Fatalf("trial %d: approx %v with %d finite values, cap %d", trial, want.Approx, countFinite(xs), exactCap)
		}
	}
}

func countFinite(xs []float64) int {
	n := 0
	for _, x := range xs {
		if x-x == 0 {
			n++
		}
	}
	return n
}

// TestSketchErrorBound checks the documented bound: a value read from the
// sketch is within SketchRelativeAccuracy (2^-8) relative of the true order
// statistic, for every rank; quartiles beyond ExactCap are within 2^-8 of
// pandas' (the exact accumulator's) relative to the larger neighbour.
func TestSketchErrorBound(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	dists := map[string]func() float64{
		"normal":      func() float64 { return rng.NormFloat64() },
		"lognormal":   func() float64 { return math.Exp(rng.NormFloat64() * 20) },
		"mixed signs": func() float64 { return rng.NormFloat64() * math.Exp(rng.NormFloat64()*3) },
		"tiny":        func() float64 { return rng.Float64() * 1e-310 }, // subnormal
		"huge":        func() float64 { return (rng.Float64() - 0.5) * 1e308 },
	}
	const alpha = SketchRelativeAccuracy
	for name, draw := range dists {
		xs := make([]float64, 20_000)
		for i := range xs {
			xs[i] = draw()
		}
		var s Sketch
		for _, x := range xs {
			s.Add(x)
		}
		sorted := slices.Clone(xs)
		slices.Sort(sorted)
		for k, x := range sorted {
			got := s.ValueAt(int64(k))
			bound := alpha * math.Abs(x)
			if name == "tiny" {
				bound = 0x1p-1022 // subnormals: absolute
			}
			if math.Abs(got-x) > bound {
				t.Fatalf("%s: rank %d value %v, sketch %v, error %v > %v", name, k, x, got, math.Abs(got-x), bound)
			}
		}
		exact := NewNumericWith(nil, NumericOptions{ExactCap: len(xs)})
		sk := NewNumericWith(nil, NumericOptions{ExactCap: 100})
		exact.Add(xs)
		sk.Add(xs)
		e, a := exact.Column(), sk.Column()
		if e.Approx || !a.Approx || e.Min != a.Min || e.Max != a.Max || e.Count != a.Count {
			t.Fatalf("%s: exact %+v approx %+v", name, e, a)
		}
		for _, q := range []struct {
			p         float64
			got, want float64
		}{{0.25, a.Q25, e.Q25}, {0.5, a.Q50, e.Q50}, {0.75, a.Q75, e.Q75}} {
			j := int(math.Floor(q.p * float64(len(xs)-1)))
			bound := alpha * math.Max(math.Abs(sorted[j]), math.Abs(sorted[j+1]))
			if name == "tiny" {
				bound = 0x1p-1022
			}
			if math.Abs(q.got-q.want) > bound {
				t.Errorf("%s: q%v = %v, exact %v (bound %v)", name, q.p, q.got, q.want, bound)
			}
		}
	}
}

func TestSketchKS(t *testing.T) {
	mk := func(xs ...float64) *Sketch {
		var s Sketch
		for _, x := range xs {
			s.Add(x)
		}
		return &s
	}
	// Hand-computed: a = {1, 2, 3, 4}, b = {3, 4, 5, 6} (all in distinct
	// buckets): after 2, F_a = 0.5 and F_b = 0 -> KS 0.5.
	for _, tc := range []struct {
		name string
		a, b *Sketch
		want float64
		ok   bool
	}{
		{"identical", mk(1, 2, 3), mk(3, 2, 1), 0, true},
		{"shift", mk(1, 2, 3, 4), mk(3, 4, 5, 6), 0.5, true},
		{"disjoint", mk(-5, -4), mk(4, 5), 1, true},
		{"infinities", mk(math.Inf(-1), 1), mk(1, math.Inf(1)), 0.5, true},
		{"zeros", mk(0, 0, 1, 1), mk(0, 1, 1, 1), 0.25, true},
		{"empty", mk(), mk(1), 0, false},
	} {
		got, ok := KS(tc.a, tc.b)
		if ok != tc.ok || math.Abs(got-tc.want) > 1e-15 {
			t.Errorf("%s: KS = %v %v, want %v %v", tc.name, got, ok, tc.want, tc.ok)
		}
		if back, _ := KS(tc.b, tc.a); back != got {
			t.Errorf("%s: KS not symmetric: %v vs %v", tc.name, back, got)
		}
	}
	if _, ok := KS(nil, mk(1)); ok {
		t.Error("KS(nil) ok")
	}
}

// TestBinFastPath: the guessed-and-corrected bin equals binIndex's binary
// search for uniform, non-uniform, duplicated and MLRun >= 1.6 padded edges.
func TestBinFastPath(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	edgeSets := [][]float64{
		ReferenceEdges(1, 10, 20),
		ReferenceEdges(-1e-3, 1e-3, 7),
		{0, 0.001, 0.5, 0.9, 100},
		{0, 1, 1, 2},
		append(append([]float64{-math.MaxFloat64}, ReferenceEdges(0, 1, 5)...), math.MaxFloat64),
	}
	for _, edges := range edgeSets {
		n := NewNumeric(edges, 0)
		lo, hi := edges[0], edges[len(edges)-1]
		probe := slices.Clone(edges)
		for _, e := range edges {
			probe = append(probe, math.Nextafter(e, math.Inf(-1)), math.Nextafter(e, math.Inf(1)))
		}
		for range 2000 {
			a, b := max(lo, -10), min(hi, 110)
			probe = append(probe, a+(b-a)*rng.Float64())
		}
		for _, x := range probe {
			if x-x != 0 {
				continue
			}
			if got, want := n.bin(x), binIndex(edges, x); got != want {
				t.Fatalf("edges %v: bin(%v) = %d, binIndex %d", edges, x, got, want)
			}
		}
	}
}

// TestNumericSketchHistogram: beyond ExactCap a reference (own-edge)
// histogram is read from the sketch: same edges, same total, each bin within
// the values that lie within 2^-8 relative of its edges.
func TestNumericSketchHistogram(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	xs := make([]float64, 5000)
	for i := range xs {
		xs[i] = rng.NormFloat64()*10 + 50
	}
	exact, sk := NewNumeric(nil, 0), NewNumericWith(nil, NumericOptions{ExactCap: 10})
	exact.Add(xs)
	sk.Add(xs)
	e, a := exact.Column(), sk.Column()
	if !slices.Equal(e.Hist.Edges, a.Hist.Edges) {
		t.Fatalf("edges differ")
	}
	var te, ta int64
	for i := range e.Hist.Counts {
		te += e.Hist.Counts[i]
		ta += a.Hist.Counts[i]
		// Values that the sketch may move across this bin's edges.
		var slack int64
		for _, x := range xs {
			for _, edge := range e.Hist.Edges[i : i+2] {
				if math.Abs(x-edge) <= SketchRelativeAccuracy*math.Abs(x)*2 {
					slack++
				}
			}
		}
		if d := e.Hist.Counts[i] - a.Hist.Counts[i]; d > slack || -d > slack {
			t.Errorf("bin %d: exact %d sketch %d (slack %d)", i, e.Hist.Counts[i], a.Hist.Counts[i], slack)
		}
	}
	if te != ta || te != int64(len(xs)) {
		t.Errorf("totals %d %d", te, ta)
	}
}

func TestSketchJSONRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	var d Dataset
	n := NewNumericWith(nil, NumericOptions{ExactCap: 50})
	n.Add(genValues(rng, 400, true))
	c := n.Column()
	d.Set("n", &c)
	cat := NewCategoricalWith(CategoricalOptions{ExactDistinct: 5})
	for i := range 300 {
		cat.Add(fmt.Sprint(i % 17 * (i % 3)))
	}
	cc := cat.Column()
	d.Set("c", &cc)
	b, err := d.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseDataset(b)
	if err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	for _, name := range d.Names {
		g, _ := got.Get(name)
		w, _ := d.Get(name)
		gs, ws := *g, *w
		// NaN fields do not compare equal: compare their encodings.
		gs.Mean, ws.Mean, gs.Std, ws.Std = 0, 0, 0, 0
		if math.IsInf(ws.Max, 1) && math.IsNaN(gs.Max) { // +Inf is written as null
			gs.Max, ws.Max = 0, 0
		}
		if !reflect.DeepEqual(gs, ws) {
			t.Errorf("column %s:\n got %+v\nwant %+v", name, gs, ws)
		}
	}
	if !c.Approx || cc.Freqs.Exact || cc.Freqs.Other == 0 {
		t.Errorf("test data did not exceed the caps: %+v %+v", c, cc.Freqs)
	}
	for _, bad := range []string{
		`{"a":{"sketch":{"mantissa_bits":8}}}`,
		`{"a":{"sketch":{"mantissa_bits":7,"pos":[262015,[1,1]]}}}`,
		`{"a":{"sketch":{"mantissa_bits":7,"pos":[0,[-300000]]}}}`,
		`{"a":{"sketch":{"mantissa_bits":7,"neg":[1.5,[1]]}}}`,
		`{"a":{"sketch":{"mantissa_bits":7,"zeros":-1}}}`,
		`{"a":{"approx":1}}`,
		`{"a":{"unique":1,"frequencies":{"values":[["x"]]}}}`,
		`{"a":{"unique":1,"frequencies":{"other":-2}}}`,
	} {
		if _, err := ParseDataset([]byte(bad)); err == nil {
			t.Errorf("ParseDataset(%s) = nil error", bad)
		}
	}
}

// TestCategoricalSummary: beyond ExactDistinct the table is a Misra-Gries
// summary: every true count is within Other/(k+1) above the listed one
// (absent values count as 0), heavy hitters are listed, the result is
// deterministic, and unique is estimated within 10% (KMV, ~3% std error).
func TestCategoricalSummary(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	const k = 50
	truth := map[string]int64{}
	var vals []string
	for range 20_000 {
		var v string
		if rng.Float64() < 0.5 {
			v = fmt.Sprintf("hot%d", rng.IntN(10)) // heavy hitters, ~5% each
		} else {
			v = fmt.Sprintf("id%d", rng.IntN(5000))
		}
		truth[v]++
		vals = append(vals, v)
	}
	build := func(split int) *Categorical {
		parts := make([]*Categorical, split)
		for i := range parts {
			parts[i] = NewCategoricalWith(CategoricalOptions{ExactDistinct: k})
		}
		for i, v := range vals {
			parts[i%split].Add(v)
		}
		for _, p := range parts[1:] {
			parts[0].Merge(p)
		}
		return parts[0]
	}
	for _, split := range []int{1, 3, 7} {
		c := build(split).Column()
		if c.Count != float64(len(vals)) || c.Freqs.Exact || len(c.Freqs.Values) > k {
			t.Fatalf("split %d: %+v", split, c)
		}
		bound := c.Freqs.Other / (k + 1)
		for v, f := range truth {
			got, _ := c.Freqs.Count(v)
			if got > f || f-got > bound {
				t.Fatalf("split %d: %s true %d listed %d, bound %d", split, v, f, got, bound)
			}
		}
		for i := range 10 {
			if _, ok := c.Freqs.Count(fmt.Sprintf("hot%d", i)); !ok {
				t.Errorf("split %d: heavy hitter hot%d missing", split, i)
			}
		}
		if want := float64(len(truth)); math.Abs(float64(c.Unique)-want) > 0.1*want {
			t.Errorf("split %d: unique %d, true %d", split, c.Unique, len(truth))
		}
		if again := build(split).Column(); !reflect.DeepEqual(again, c) {
			t.Errorf("split %d: not deterministic", split)
		}
	}
	// Below the cap, any split gives the identical exact table.
	small := NewCategoricalWith(CategoricalOptions{ExactDistinct: 100})
	a, b := NewCategoricalWith(CategoricalOptions{ExactDistinct: 100}), NewCategoricalWith(CategoricalOptions{ExactDistinct: 100})
	for i := range 1000 {
		v := fmt.Sprint(i % 37)
		small.Add(v)
		if i%3 == 0 {
			a.Add(v)
		} else {
			b.Add(v)
		}
	}
	b.Merge(a)
	if x, y := small.Column(), b.Column(); !reflect.DeepEqual(x, y) || !x.Freqs.Exact || x.Unique != 37 {
		t.Errorf("exact merge: %+v vs %+v", x, y)
	}
	c := NewCategorical()
	c.AddInt(-12)
	if col := c.Column(); col.Top != "-12" {
		t.Errorf("AddInt: %+v", col)
	}
}

// TestDefaultExactCap: a batch over reference edges drops its values beyond
// DefaultExactCap; a reference set (own edges) stays exact by default so
// its histogram equals numpy's.
func TestDefaultExactCap(t *testing.T) {
	xs := make([]float64, DefaultExactCap+1)
	for i := range xs {
		xs[i] = float64(i % 1000)
	}
	ref, bat := NewNumeric(nil, 0), NewNumeric(ReferenceEdges(0, 999, 20), 0)
	ref.Add(xs)
	bat.Add(xs)
	if !ref.Exact() || ref.Column().Approx || bat.Exact() || !bat.Column().Approx {
		t.Errorf("reference exact %v, batch exact %v", ref.Exact(), bat.Exact())
	}
}
