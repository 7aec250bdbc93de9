package stats

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// partialRow is one row of the test data: four numeric values (NaN is
// null) and a category ("" is null).
type partialRow struct {
	x   [4]float64
	cat string
}

var partialEdges = []float64{-50, -20, -10, -5, -1, 0, 1, 5, 10, 20, 50}

// newTestPartial returns an empty partial with every kind of accumulator:
// own edges with exact quartiles, reference edges, own edges beyond a
// small ExactCap (sketch quartiles), ExactCap 0, and a categorical column.
func newTestPartial() *Partial {
	return &Partial{
		Names: []string{"ref", "batch", "approx", "noexact", "cat"},
		Columns: []PartialColumn{
			{Numeric: NewNumeric(nil, 0)},
			{Numeric: NewNumeric(partialEdges, 0)},
			{Numeric: NewNumericWith(nil, NumericOptions{ExactCap: 100, Bins: 7})},
			{Numeric: NewNumericWith(partialEdges, NumericOptions{ExactCap: -1})},
			{Categorical: NewCategorical()},
		},
	}
}

func randomRows(rng *rand.Rand, n int) []partialRow {
	rows := make([]partialRow, n)
	cats := []string{"a", "b", "c", "", "δ", "long value, with comma", "0", "x\ny"}
	for i := range rows {
		for j := range rows[i].x {
			var v float64
			switch k := rng.IntN(40); {
			case k == 0:
				v = math.NaN()
			case k == 1:
				v = math.Inf(1 - 2*rng.IntN(2))
			case k == 2:
				v = 0
			case k < 10:
				v = float64(rng.IntN(7) - 3) // repeated values
			default:
				v = rng.NormFloat64() * math.Pow(10, float64(rng.IntN(5)-1))
			}
			if j == 0 && math.IsInf(v, 0) {
				v = 1.5 // keep one column finite so its mean and std are numbers
			}
			rows[i].x[j] = v
		}
		rows[i].cat = cats[rng.IntN(len(cats))]
		if rng.IntN(50) == 0 {
			rows[i].cat = fmt.Sprintf("rare%d", rng.IntN(1000))
		}
	}
	return rows
}

// accumulate adds rows to p in calls of random sizes.
func accumulate(rng *rand.Rand, p *Partial, rows []partialRow) {
	p.Rows += int64(len(rows))
	for lo := 0; lo < len(rows); {
		hi := min(len(rows), lo+1+rng.IntN(40))
		for j := range 4 {
			xs := make([]float64, 0, hi-lo)
			nulls := 0
			for _, r := range rows[lo:hi] {
				if math.IsNaN(r.x[j]) && rng.IntN(2) == 0 {
					nulls++ // as AddNull, the other half as NaN
					continue
				}
				xs = append(xs, r.x[j])
			}
			p.Columns[j].Numeric.Add(xs)
			p.Columns[j].Numeric.AddNull(nulls)
		}
		for _, r := range rows[lo:hi] {
			if r.cat == "" {
				p.Columns[4].Categorical.AddNull(1)
			} else {
				p.Columns[4].Categorical.Add(r.cat)
			}
		}
		lo = hi
	}
}

// roundTrip encodes and decodes p.
func roundTrip(t *testing.T, p *Partial) *Partial {
	t.Helper()
	b, err := p.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var q Partial
	if err := q.UnmarshalBinary(b); err != nil {
		t.Fatalf("decoding %d bytes: %v", len(b), err)
	}
	b2, err := q.MarshalBinary()
	if err != nil || !bytes.Equal(b, b2) {
		t.Fatalf("re-encoding differs (%v)", err)
	}
	return &q
}

// shardedStats computes the statistics of rows split at cuts (sorted
// indexes), each shard's partial encoded and decoded, merged in a random
// order.
func shardedStats(t *testing.T, rng *rand.Rand, rows []partialRow, cuts []int) *Dataset {
	t.Helper()
	bounds := append(append([]int{0}, cuts...), len(rows))
	var parts []*Partial
	for i := 0; i+1 < len(bounds); i++ {
		p := newTestPartial()
		accumulate(rng, p, rows[bounds[i]:bounds[i+1]])
		parts = append(parts, roundTrip(t, p))
	}
	rng.Shuffle(len(parts), func(i, j int) { parts[i], parts[j] = parts[j], parts[i] })
	var total Partial
	for _, p := range parts {
		if err := total.Merge(p); err != nil {
			t.Fatal(err)
		}
	}
	if total.Rows != int64(len(rows)) {
		t.Fatalf("merged %d rows, want %d", total.Rows, len(rows))
	}
	return total.Dataset()
}

// relClose reports whether a and b agree to tol relative (NaN == NaN).
func relClose(a, b, tol float64) bool {
	if a == b || math.IsNaN(a) && math.IsNaN(b) {
		return true
	}
	return math.Abs(a-b) <= tol*math.Max(math.Abs(a), math.Abs(b))
}

// TestPartialShardsIdentical: statistics of 1 shard and of 37 random
// shards (encoded, decoded, merged in random order) are identical as JSON
// bytes, except mean and std, which agree to 1e-12 relative (Chan et
// al.'s combination rounds differently for different splits; see
// Numeric.Merge). Everything else, counts, min, max, quartiles (exact and
// from the sketch), histograms, sketches and frequency tables, is
// bit-identical.
func TestPartialShardsIdentical(t *testing.T) {
	bitIdentical, columns := 0, 0
	for seed := range uint64(12) {
		rng := rand.New(rand.NewPCG(seed, 99))
		rows := randomRows(rng, 3000+rng.IntN(3000))
		one := shardedStats(t, rng, rows, nil)
		cuts := make([]int, 36)
		for i := range cuts {
			cuts[i] = rng.IntN(len(rows) + 1) // empty shards included
		}
		slices.Sort(cuts)
		many := shardedStats(t, rng, rows, cuts)
		for _, name := range one.Names {
			a, b := one.Columns[name], many.Columns[name]
			if !relClose(a.Mean, b.Mean, 1e-12) || a.HasStd != b.HasStd || !relClose(a.Std, b.Std, 1e-12) {
				t.Fatalf("seed %d column %s: mean %v / %v, std %v / %v", seed, name, a.Mean, b.Mean, a.Std, b.Std)
			}
			columns++
			if math.Float64bits(a.Mean) == math.Float64bits(b.Mean) && math.Float64bits(a.Std) == math.Float64bits(b.Std) {
				bitIdentical++
			}
			b.Mean, b.Std = a.Mean, a.Std
		}
		ja, err := json.Marshal(one)
		if err != nil {
			t.Fatal(err)
		}
		jb, err := json.Marshal(many)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(ja, jb) {
			t.Fatalf("seed %d: statistics differ beyond mean/std:\n1 shard:   %s\n37 shards: %s", seed, ja, jb)
		}
		if !strings.Contains(string(ja), `"approx":true`) {
			t.Fatalf("seed %d: no column beyond ExactCap; the test does not cover the sketch", seed)
		}
	}
	t.Logf("mean and std bit-identical in %d of %d columns, within 1e-12 in all", bitIdentical, columns)
}

// TestPartialRoundTripExact: a decoded accumulator reports and merges
// exactly as the original, moments included.
func TestPartialRoundTripExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	a, b := newTestPartial(), newTestPartial()
	accumulate(rng, a, randomRows(rng, 500))
	accumulate(rng, b, randomRows(rng, 300))
	da, db := roundTrip(t, a), roundTrip(t, b)
	ja, _ := json.Marshal(a.Dataset())
	jda, _ := json.Marshal(da.Dataset())
	if !bytes.Equal(ja, jda) {
		t.Fatalf("decoded statistics differ:\n%s\n%s", ja, jda)
	}
	if err := a.Merge(b); err != nil {
		t.Fatal(err)
	}
	if err := da.Merge(db); err != nil {
		t.Fatal(err)
	}
	ja, _ = json.Marshal(a.Dataset())
	jda, _ = json.Marshal(da.Dataset())
	if !bytes.Equal(ja, jda) {
		t.Fatalf("merged decoded statistics differ:\n%s\n%s", ja, jda)
	}
}

// TestCategoricalSummaryRoundTrip covers the Misra-Gries state (beyond
// ExactDistinct) and the distinct-count hashes, over and under distinctK.
func TestCategoricalSummaryRoundTrip(t *testing.T) {
	for _, distinct := range []int{20, 5000} {
		c := NewCategoricalWith(CategoricalOptions{ExactDistinct: 10})
		for i := range 3 * distinct {
			c.Add(fmt.Sprintf("v%d", i%distinct))
			if i%7 == 0 {
				c.Add("hot")
			}
		}
		c.AddNull(3)
		b, err := c.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var d Categorical
		if err := d.UnmarshalBinary(b); err != nil {
			t.Fatal(err)
		}
		cc, dc := c.Column(), d.Column()
		jc, _ := json.Marshal(&Dataset{Names: []string{"c"}, Columns: map[string]*Column{"c": &cc}})
		jd, _ := json.Marshal(&Dataset{Names: []string{"c"}, Columns: map[string]*Column{"c": &dc}})
		if !bytes.Equal(jc, jd) || cc.Top != "hot" || cc.Freqs.Exact {
			t.Fatalf("distinct %d:\n%s\n%s", distinct, jc, jd)
		}
		// Merging the decoded copy gives what merging the original gives.
		c2, d2 := NewCategoricalWith(CategoricalOptions{ExactDistinct: 10}), NewCategoricalWith(CategoricalOptions{ExactDistinct: 10})
		c2.Add("z")
		d2.Add("z")
		c2.Merge(c)
		d2.Merge(&d)
		if a, b := c2.Column(), d2.Column(); a.Unique != b.Unique || a.Freq != b.Freq || !slices.Equal(a.Freqs.Values, b.Freqs.Values) {
			t.Fatalf("distinct %d: merged %+v / %+v", distinct, a, b)
		}
	}
}

func TestPartialMergeErrors(t *testing.T) {
	base := func() *Partial {
		p := newTestPartial()
		accumulate(rand.New(rand.NewPCG(2, 2)), p, randomRows(rand.New(rand.NewPCG(3, 3)), 20))
		return p
	}
	for _, tc := range []struct {
		name   string
		change func(p *Partial)
		want   string
	}{
		{"names", func(p *Partial) { p.Names[1] = "other" }, "differ"},
		{"fewer columns", func(p *Partial) { p.Names, p.Columns = p.Names[:2], p.Columns[:2] }, "differ"},
		{"kind", func(p *Partial) { p.Columns[0] = PartialColumn{Categorical: NewCategorical()} }, "numeric in one"},
		{"edges", func(p *Partial) { p.Columns[1].Numeric = NewNumeric([]float64{0, 1}, 0) }, "edges"},
		{"exact cap", func(p *Partial) { p.Columns[0].Numeric = NewNumericWith(nil, NumericOptions{ExactCap: 5}) }, "ExactCap"},
		{"distinct", func(p *Partial) {
			p.Columns[4].Categorical = NewCategoricalWith(CategoricalOptions{ExactDistinct: 3})
		}, "ExactDistinct"},
		{"both set", func(p *Partial) { p.Columns[4].Numeric = NewNumeric(nil, 0) }, "exactly one"},
		{"neither set", func(p *Partial) { p.Columns[4] = PartialColumn{} }, "exactly one"},
		{"names and columns", func(p *Partial) { p.Names = append(p.Names, "extra") }, "names for"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, o := base(), base()
			tc.change(o)
			before, _ := p.MarshalBinary()
			err := p.Merge(o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Merge error %v, want one containing %q", err, tc.want)
			}
			after, _ := p.MarshalBinary()
			if !bytes.Equal(before, after) {
				t.Fatal("a failed Merge changed the partial")
			}
		})
	}
}

func TestPartialDecodeErrors(t *testing.T) {
	p := newTestPartial()
	accumulate(rand.New(rand.NewPCG(4, 4)), p, randomRows(rand.New(rand.NewPCG(5, 5)), 50))
	good, err := p.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	// Every truncation fails (every one in the first 512 bytes, then a
	// sample), and so does a trailing byte.
	for n := 0; n < len(good); n += 1 + n/512*13 {
		var q Partial
		if err := q.UnmarshalBinary(good[:n]); !errors.Is(err, ErrBadPartial) {
			t.Fatalf("%d of %d bytes: error %v, want ErrBadPartial", n, len(good), err)
		}
	}
	var q Partial
	if err := q.UnmarshalBinary(append(slices.Clone(good), 0)); !errors.Is(err, ErrBadPartial) {
		t.Fatalf("trailing byte: %v", err)
	}
	bad := slices.Clone(good)
	bad[4] = PartialVersion + 1
	if err := q.UnmarshalBinary(bad); !errors.Is(err, ErrBadPartial) || !strings.Contains(err.Error(), "version") {
		t.Fatalf("version: %v", err)
	}
	// A numeric column's encoding is not a categorical one.
	nb, _ := p.Columns[0].Numeric.MarshalBinary()
	var c Categorical
	if err := c.UnmarshalBinary(nb); !errors.Is(err, ErrBadPartial) {
		t.Fatalf("numeric bytes as categorical: %v", err)
	}
	// A huge length prefix does not allocate: it fails against the size.
	huge := append(slices.Clone(magicPartial), PartialVersion, 0)
	huge = append(huge, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f)
	if err := q.UnmarshalBinary(huge); !errors.Is(err, ErrBadPartial) {
		t.Fatalf("huge length: %v", err)
	}
}

func TestNumericDecodeInvariants(t *testing.T) {
	n := NewNumeric(nil, 0)
	n.Add([]float64{1, 2, 3})
	good, _ := n.MarshalBinary()
	// Layout after the header and flags: bins, ExactCap (9 bytes for
	// MaxInt), finite, min, max, ...
	at := len(magicNumeric) + 2 + 1 + 9
	if good[at] != 3 {
		t.Fatalf("layout changed: finite count byte %d", good[at])
	}
	for _, tc := range []struct {
		name  string
		patch func(b []byte)
	}{
		{"finite count", func(b []byte) { b[at] = 4 }},
		{"min above max", func(b []byte) { copy(b[at+1:], appendFloat(nil, 9)) }},
		{"max NaN", func(b []byte) { copy(b[at+9:], appendFloat(nil, math.NaN())) }},
		{"moment count", func(b []byte) { copy(b[at+17:], appendFloat(nil, 2)) }},
		{"exact value outside", func(b []byte) { copy(b[len(b)-8:], appendFloat(nil, 7)) }},
	} {
		b := slices.Clone(good)
		tc.patch(b)
		var m Numeric
		if err := m.UnmarshalBinary(b); !errors.Is(err, ErrBadPartial) {
			t.Errorf("%s: error %v, want ErrBadPartial", tc.name, err)
		}
	}
}

func ExamplePartial() {
	shard := func(xs []float64, cats []string) []byte {
		p := &Partial{
			Names:   []string{"x", "c"},
			Columns: []PartialColumn{{Numeric: NewNumeric(nil, 4)}, {Categorical: NewCategorical()}},
		}
		p.Columns[0].Numeric.Add(xs)
		for _, c := range cats {
			p.Columns[1].Categorical.Add(c)
		}
		p.Rows = int64(len(xs))
		b, _ := p.MarshalBinary() // what a worker stores
		return b
	}
	var total Partial
	for _, b := range [][]byte{shard([]float64{1, 2}, []string{"a", "b"}), shard([]float64{3, 4}, []string{"a", "a"})} {
		var p Partial
		if err := p.UnmarshalBinary(b); err != nil {
			panic(err)
		}
		if err := total.Merge(&p); err != nil {
			panic(err)
		}
	}
	d := total.Dataset()
	x, c := d.Columns["x"], d.Columns["c"]
	fmt.Println(total.Rows, x.Count, x.Mean, x.Q50, x.Hist.Counts, c.Top, c.Freq)
	// Output: 4 4 2.5 2.5 [1 1 1 1] a 3
}

// FuzzPartialDecode: decoding arbitrary bytes errors or yields a state
// that encodes, reports and merges without panicking.
func FuzzPartialDecode(f *testing.F) {
	rng := rand.New(rand.NewPCG(6, 6))
	p := newTestPartial()
	accumulate(rng, p, randomRows(rng, 40))
	b, _ := p.MarshalBinary()
	f.Add(b)
	for _, col := range p.Columns {
		if col.Numeric != nil {
			b, _ = col.Numeric.MarshalBinary()
		} else {
			b, _ = col.Categorical.MarshalBinary()
		}
		f.Add(b)
	}
	c := NewCategoricalWith(CategoricalOptions{ExactDistinct: 2})
	for i := range 3000 {
		c.Add(fmt.Sprint(i))
	}
	b, _ = c.MarshalBinary()
	f.Add(b)
	f.Fuzz(func(t *testing.T, data []byte) {
		var n Numeric
		if n.UnmarshalBinary(data) == nil {
			exerciseNumeric(t, &n)
		}
		var c Categorical
		if c.UnmarshalBinary(data) == nil {
			enc, err := c.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			var c2 Categorical
			if err := c2.UnmarshalBinary(enc); err != nil {
				t.Fatalf("re-encoding does not decode: %v", err)
			}
			c.Merge(&c2)
			c.Column()
		}
		var p Partial
		if p.UnmarshalBinary(data) == nil {
			enc, err := p.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			var p2 Partial
			if err := p2.UnmarshalBinary(enc); err != nil {
				t.Fatalf("re-encoding does not decode: %v", err)
			}
			for _, col := range p2.Columns {
				if col.Numeric != nil && rangeOverflows(col.Numeric) {
					return
				}
			}
			if err := p.Merge(&p2); err != nil {
				t.Fatalf("merging a partial with its own copy: %v", err)
			}
			p.Dataset()
		}
	})
}

// rangeOverflows: max-min is not finite, where Numeric.Column's own-edge
// histogram fails (a limitation of ReferenceEdges, not of decoding).
func rangeOverflows(n *Numeric) bool {
	return n.edges == nil && n.finite > 0 && math.IsInf(n.max-n.min, 0)
}

func exerciseNumeric(t *testing.T, n *Numeric) {
	enc, err := n.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var n2 Numeric
	if err := n2.UnmarshalBinary(enc); err != nil {
		t.Fatalf("re-encoding does not decode: %v", err)
	}
	enc2, _ := n2.MarshalBinary()
	if !bytes.Equal(enc, enc2) {
		t.Fatal("encoding is not canonical")
	}
	if rangeOverflows(n) {
		return
	}
	n.Merge(&n2)
	n.Column()
	n.Add([]float64{0, 1, math.Inf(1)})
	n.Column()
}
