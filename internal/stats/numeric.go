package stats

import (
	"fmt"
	"math"
	"slices"
)

// DefaultExactCap is the default number of finite values a Numeric keeps to
// give pandas' quartiles exactly (NumericOptions.ExactCap): 65,536 values,
// 512 KiB per column. Why this number: it covers test sets, samples and
// small batches exactly, sorting it at Column time costs about 3 ms, and a
// 1,000-feature table stays under 0.5 GiB of exact buffers at the worst;
// beyond it the quartiles come from the Sketch (0.39% relative error), which
// no one reading a drift table can tell apart, while the drift numbers
// (histograms over the reference edges) stay exact at any size. It applies
// to accumulators with reference edges; see NumericOptions.ExactCap.
const DefaultExactCap = 1 << 16

// NumericOptions configures NewNumericWith. The zero value gives the
// defaults. Fields may be added but never renamed or removed.
type NumericOptions struct {
	// Bins is the number of histogram bins over the column's own edges
	// (ignored with reference edges). Default (<= 0) DefaultBins.
	Bins int
	// ExactCap is the number of finite values kept for exact quartiles.
	// Default (0): DefaultExactCap with reference edges (a scored batch);
	// no limit with own edges (a reference set), because a reference
	// histogram must equal numpy's exactly for the drift numbers to equal
	// MLRun's, and the reference is a training or sample set that MLRun
	// (pandas) holds in memory whole anyway; set ExactCap to bound it (the
	// histogram then comes from the sketch, see Column). Negative: never
	// keep values.
	ExactCap int
}

// Numeric accumulates the statistics of one numeric column.
//
// Memory: count, moments, min, max, NaN and +-Inf counts and the histogram
// over reference edges are fixed-size; the Sketch (kept always) grows with
// the range of the values, not their number (a few thousand buckets in
// practice, 4 MiB at the very worst); the exact values are kept only while
// the column has at most ExactCap finite values (8 bytes each), then dropped
// for good. Memory is therefore independent of the row count, except for a
// reference set (own edges) left at the default ExactCap, which keeps every
// value (see NumericOptions.ExactCap).
//
// The zero value is not usable; call NewNumeric or NewNumericWith.
type Numeric struct {
	edges  []float64 // fixed (reference) edges; nil: own edges at Column time
	bins   int       // bins for own edges
	counts []int64   // histogram over fixed edges; nil with own edges
	// Bin lookup guess for fixed edges: bin ~ (x-lo)*scale, then corrected
	// against the edges themselves, so the result is exactly binIndex's.
	lo, hi, scale float64

	exactCap int
	exact    bool      // values holds every finite value (finite <= exactCap)
	values   []float64 // finite values, in arrival order until Column sorts them
	finite   int64
	min, max float64 // of the finite values

	sk Sketch // finite values (infinities are counted below)

	// Running moments of the finite values (Chan et al. combination).
	n, mean, m2 float64

	posInf, negInf, nan int64
}

// NewNumeric returns an empty accumulator with the default options and bins
// own-edge bins: NewNumericWith(edges, NumericOptions{Bins: bins}).
//
// With edges != nil (a scored batch), the histogram counts values over these
// reference edges (len(edges)-1 bins; bins is ignored); values outside
// [edges[0], edges[len-1]], NaN and +-Inf are not counted. NewNumeric keeps
// its own copy of edges. With edges == nil (a reference set), the histogram
// uses ReferenceEdges(min, max, bins) over the finite values when Column is
// called; bins <= 0 means DefaultBins.
//
// NewNumeric panics if edges is non-nil with fewer than 2 entries.
func NewNumeric(edges []float64, bins int) *Numeric {
	return NewNumericWith(edges, NumericOptions{Bins: bins})
}

// NewNumericWith returns an empty accumulator; see NewNumeric for edges.
func NewNumericWith(edges []float64, opt NumericOptions) *Numeric {
	if opt.Bins <= 0 {
		opt.Bins = DefaultBins
	}
	if opt.ExactCap == 0 {
		opt.ExactCap = DefaultExactCap
		if edges == nil {
			opt.ExactCap = math.MaxInt
		}
	}
	n := &Numeric{bins: opt.Bins, exactCap: max(opt.ExactCap, 0), exact: true, min: math.Inf(1), max: math.Inf(-1)}
	if edges != nil {
		if len(edges) < 2 {
			panic(fmt.Sprintf("stats: NewNumeric with %d edges, need at least 2", len(edges)))
		}
		n.edges = slices.Clone(edges)
		n.bins = len(edges) - 1
		n.counts = make([]int64, n.bins)
		n.lo, n.hi = edges[0], edges[len(edges)-1]
		if s := float64(n.bins) / (n.hi - n.lo); s > 0 && !math.IsInf(s, 0) {
			n.scale = s
		}
	}
	return n
}

// bin returns binIndex(n.edges, x) for finite x, guessing the bin from the
// (near-uniform) spacing and correcting it against the edges.
func (n *Numeric) bin(x float64) int {
	if !(x >= n.lo && x <= n.hi) {
		return -1
	}
	last := n.bins - 1
	if x == n.hi {
		return last
	}
	// Clamp in float64 first: (x-lo) can overflow to +Inf (then *0 is NaN)
	// and converting an out-of-range float to int is undefined.
	f := (x - n.lo) * n.scale
	i := 0
	switch {
	case f >= float64(last):
		i = last
	case f > 0:
		i = int(f)
	}
	for i > 0 && x < n.edges[i] {
		i--
	}
	for i < last && x >= n.edges[i+1] {
		i++
	}
	return i
}

// Add adds values. NaN is a missing value: it is counted in NaNCount and not
// in Count. +-Inf are counted in Count and InfCount, enter min, max and the
// quartiles, and make the mean infinite (or NaN) and the std NaN, as pandas.
func (n *Numeric) Add(xs []float64) {
	if n.exact && n.exactCap < math.MaxInt {
		// Bounded: grow the exact values by doubling up to the cap, not by
		// append's 1.25x steps, whose copies come to about 4x the cap in
		// garbage per column (measured: a tenth of a worker's allocations).
		if need := min(len(n.values)+len(xs), n.exactCap); need > cap(n.values) {
			c := max(need, min(2*cap(n.values), n.exactCap))
			n.values = slices.Grow(n.values, c-len(n.values))
		}
	}
	var sum float64
	var cnt int64
	mn, mx := n.min, n.max
	counts := n.counts
	for _, x := range xs {
		if x-x != 0 { // NaN or +-Inf
			switch {
			case x != x:
				n.nan++
			case x > 0:
				n.posInf++
			default:
				n.negInf++
			}
			continue
		}
		cnt++
		sum += x
		mn = min(mn, x)
		mx = max(mx, x)
		bits := math.Float64bits(x)
		abs := bits &^ signMask
		switch {
		case abs == 0:
			n.sk.Zeros++
		case bits&signMask != 0:
			n.sk.Neg.inc(sketchKey(abs))
		default:
			n.sk.Pos.inc(sketchKey(abs))
		}
		if counts != nil {
			if b := n.bin(x); b >= 0 {
				counts[b]++
			}
		}
		if n.exact {
			if len(n.values) < n.exactCap {
				n.values = append(n.values, x)
			} else {
				n.exact, n.values = false, nil
			}
		}
	}
	if cnt == 0 {
		return
	}
	n.min, n.max = mn, mx
	n.finite += cnt
	// Two-pass moments of this call's values (pandas' nanvar), then Chan.
	mean := sum / float64(cnt)
	var m2 float64
	for _, x := range xs {
		if x-x == 0 {
			d := x - mean
			m2 += d * d
		}
	}
	n.combine(float64(cnt), mean, m2)
}

// AddNull adds k missing values (treated as NaN). k <= 0 is a no-op.
func (n *Numeric) AddNull(k int) {
	if k > 0 {
		n.nan += int64(k)
	}
}

// Merge adds the values accumulated by o into n; o is unchanged. The result
// depends only on the multiset of values added to all the merged partials,
// not on how the data was split or on the merge order: counts, histogram,
// min, max, the sketch and the quartiles are identical; the merged partial
// keeps exact values iff the total finite count is <= ExactCap (else it
// drops them and reads the quartiles from the sketch, which every partial
// keeps). Mean and std agree to about 1e-12 relative: the moments are
// combined with Chan et al.'s parallel formula,
// mean = ma + d*nb/n, M2 = M2a + M2b + d^2*na*nb/n with d = mb - ma.
//
// Merge panics if n and o were created with different edges (or one with
// edges and one without), bins or ExactCap.
func (n *Numeric) Merge(o *Numeric) {
	if (n.edges == nil) != (o.edges == nil) || !slices.Equal(n.edges, o.edges) || n.bins != o.bins || n.exactCap != o.exactCap {
		panic("stats: Numeric.Merge of accumulators with different edges, bins or ExactCap")
	}
	if n.exact && o.exact && n.finite+o.finite <= int64(n.exactCap) {
		n.values = append(n.values, o.values...)
	} else {
		n.exact, n.values = false, nil
	}
	for i, c := range o.counts {
		n.counts[i] += c
	}
	n.sk.Merge(&o.sk)
	n.finite += o.finite
	n.min, n.max = min(n.min, o.min), max(n.max, o.max)
	n.posInf += o.posInf
	n.negInf += o.negInf
	n.nan += o.nan
	n.combine(o.n, o.mean, o.m2)
}

// combine merges the moments (nb, mb, m2b) into n's (Chan et al.).
func (n *Numeric) combine(nb, mb, m2b float64) {
	switch {
	case nb == 0:
		return
	case n.n == 0:
		n.n, n.mean, n.m2 = nb, mb, m2b
		return
	}
	na := n.n
	tot := na + nb
	d := mb - n.mean
	n.mean += d * (nb / tot)
	n.m2 += m2b + d*d*(na*nb/tot)
	n.n = tot
}

// Exact reports whether the accumulator still holds every finite value, so
// that Column's quartiles (and own-edge histogram) are exact.
func (n *Numeric) Exact() bool { return n.exact }

// Column returns the statistics accumulated so far. Column sorts the stored
// values in place; it does not change what later calls return.
//
// Quartiles follow pandas describe (numpy's "linear" method): at position
// p = q*(N-1) over the N sorted non-NaN values with j = floor(p) and
// g = p - j, the quartile is x[j] when g == 0, else numpy's
// lerp: x[j] + (x[j+1]-x[j])*g when g < 0.5, x[j+1] - (x[j+1]-x[j])*(1-g)
// otherwise. Equal neighbours give that value; next to an infinity the
// result is the infinity (for -Inf next to +Inf, +Inf) where numpy 1.24's
// arithmetic can give NaN: a documented, deliberate difference for
// non-finite data only.
//
// Beyond ExactCap finite values (Column.Approx), x[j] is read from the
// sketch (Sketch.ValueAt: within SketchRelativeAccuracy = 2^-8 relative of
// the true order statistic; the exact min and max for the first and last
// ranks, and clamped to [min, max]), so a quartile is within
// 2^-8 * max(|x[j]|, |x[j+1]|) of pandas'. A reference histogram over its
// own edges then counts each sketch bucket in the bin of its midpoint
// (clamped to [min, max]): the edges are exact, a value within 2^-8 relative
// of an edge may be counted in the neighbouring bin. Histograms over
// reference edges are always exact.
func (n *Numeric) Column() Column {
	if n.exact {
		slices.Sort(n.values)
	}
	c := Column{
		Kind:     KindNumeric,
		Count:    float64(n.finite + n.posInf + n.negInf),
		NaNCount: n.nan,
		InfCount: n.posInf + n.negInf,
		Approx:   !n.exact,
	}
	sk := n.sk.Clone()
	sk.NegInf, sk.PosInf = n.negInf, n.posInf
	c.Sketch = sk
	switch {
	case n.counts != nil:
		c.Hist = &Hist{Counts: slices.Clone(n.counts), Edges: slices.Clone(n.edges)}
	case n.finite > 0:
		edges := ReferenceEdges(n.min, n.max, n.bins)
		counts := make([]int64, n.bins)
		if n.exact {
			for _, x := range n.values {
				if k := binIndex(edges, x); k >= 0 {
					counts[k]++
				}
			}
		} else {
			n.sketchHist(edges, counts)
		}
		c.Hist = &Hist{Counts: counts, Edges: edges}
	}
	if c.Count == 0 {
		nan := math.NaN()
		c.Mean, c.Std, c.Min, c.Q25, c.Q50, c.Q75, c.Max = nan, nan, nan, nan, nan, nan, nan
		return c
	}
	switch {
	case n.posInf > 0 && n.negInf > 0:
		c.Mean = math.NaN()
	case n.posInf > 0:
		c.Mean = math.Inf(1)
	case n.negInf > 0:
		c.Mean = math.Inf(-1)
	default:
		c.Mean = n.mean
	}
	if c.Count >= 2 {
		c.HasStd = true
		if c.InfCount > 0 {
			c.Std = math.NaN()
		} else {
			c.Std = math.Sqrt(n.m2 / (n.n - 1))
		}
	}
	c.Min = n.at(0)
	c.Q25 = n.quantile(0.25)
	c.Q50 = n.quantile(0.5)
	c.Q75 = n.quantile(0.75)
	c.Max = n.at(int64(c.Count) - 1)
	return c
}

// sketchHist counts the sketch's buckets over edges (own-edge histogram
// beyond ExactCap), each at its midpoint clamped to [min, max].
func (n *Numeric) sketchHist(edges []float64, counts []int64) {
	put := func(v float64, k int64) {
		v = min(max(v, n.min), n.max)
		if b := binIndex(edges, v); b >= 0 {
			counts[b] += k
		}
	}
	for i, k := range n.sk.Neg.Counts {
		if k > 0 {
			put(-bucketValue(n.sk.Neg.Offset+i), k)
		}
	}
	if n.sk.Zeros > 0 {
		put(0, n.sk.Zeros)
	}
	for i, k := range n.sk.Pos.Counts {
		if k > 0 {
			put(bucketValue(n.sk.Pos.Offset+i), k)
		}
	}
}

// at returns the k-th smallest non-NaN value (values must be sorted when
// exact).
func (n *Numeric) at(k int64) float64 {
	switch {
	case k < n.negInf:
		return math.Inf(-1)
	case k >= n.negInf+n.finite:
		return math.Inf(1)
	}
	k -= n.negInf
	switch {
	case n.exact:
		return n.values[k]
	case k == 0:
		return n.min
	case k == n.finite-1:
		return n.max
	}
	// The finite-only sketch: rank k among the finite values.
	return min(max(n.sk.ValueAt(k), n.min), n.max)
}

// quantile returns numpy's linear quantile q of the sorted non-NaN values.
func (n *Numeric) quantile(q float64) float64 {
	total := n.finite + n.posInf + n.negInf
	pos := q * float64(total-1)
	j := math.Floor(pos)
	g := pos - j
	a := n.at(int64(j))
	if g == 0 {
		return a
	}
	b := n.at(int64(j) + 1)
	switch {
	case a == b:
		return a
	case math.IsInf(b, 0):
		return b // finite (or -Inf) to +Inf: the limit, where numpy's lerp may give NaN
	case math.IsInf(a, 0):
		return a
	}
	d := b - a
	if g >= 0.5 {
		return b - d*(1-g)
	}
	return a + d*g
}
