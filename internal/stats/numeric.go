package stats

import (
	"fmt"
	"math"
	"slices"
)

// Numeric accumulates the statistics of one numeric column.
//
// Memory: to give pandas' quartiles exactly, Numeric keeps every finite value,
// 8 bytes per value, plus a fixed overhead; infinities and NaNs are only
// counted. A quantile sketch may replace the stored values later.
//
// The zero value is not usable; call NewNumeric.
type Numeric struct {
	edges  []float64 // fixed (reference) edges; nil: own edges at Column time
	bins   int       // bins for own edges
	counts []int64   // histogram over fixed edges; nil with own edges

	values []float64 // finite values, in arrival order until Column sorts them

	// Running moments of the finite values (Chan et al. combination).
	n, mean, m2 float64

	posInf, negInf, nan int64
}

// NewNumeric returns an empty accumulator.
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
	if bins <= 0 {
		bins = DefaultBins
	}
	n := &Numeric{bins: bins}
	if edges != nil {
		if len(edges) < 2 {
			panic(fmt.Sprintf("stats: NewNumeric with %d edges, need at least 2", len(edges)))
		}
		n.edges = slices.Clone(edges)
		n.bins = len(edges) - 1
		n.counts = make([]int64, n.bins)
	}
	return n
}

// Add adds values. NaN is a missing value: it is counted in NaNCount and not
// in Count. +-Inf are counted in Count and InfCount, enter min, max and the
// quartiles, and make the mean infinite (or NaN) and the std NaN, as pandas.
func (n *Numeric) Add(xs []float64) {
	start := len(n.values)
	for _, x := range xs {
		switch {
		case math.IsNaN(x):
			n.nan++
		case math.IsInf(x, 1):
			n.posInf++
		case math.IsInf(x, -1):
			n.negInf++
		default:
			n.values = append(n.values, x)
			if n.counts != nil {
				if b := binIndex(n.edges, x); b >= 0 {
					n.counts[b]++
				}
			}
		}
	}
	n.combine(moments(n.values[start:]))
}

// AddNull adds k missing values (treated as NaN). k <= 0 is a no-op.
func (n *Numeric) AddNull(k int) {
	if k > 0 {
		n.nan += int64(k)
	}
}

// Merge adds the values accumulated by o into n; o is unchanged. The result
// does not depend on how the data was split or on the merge order, except
// for mean and std, which agree to about 1e-12 relative (the moments are
// combined with Chan et al.'s parallel formula,
// mean = ma + d*nb/n, M2 = M2a + M2b + d^2*na*nb/n with d = mb - ma).
//
// Merge panics if n and o were created with different edges (or one with
// edges and one without), or with different bins.
func (n *Numeric) Merge(o *Numeric) {
	if (n.edges == nil) != (o.edges == nil) || !slices.Equal(n.edges, o.edges) || n.bins != o.bins {
		panic("stats: Numeric.Merge of accumulators with different edges or bins")
	}
	n.values = append(n.values, o.values...)
	for i, c := range o.counts {
		n.counts[i] += c
	}
	n.posInf += o.posInf
	n.negInf += o.negInf
	n.nan += o.nan
	n.combine(o.n, o.mean, o.m2)
}

// moments returns the count, mean and sum of squared deviations of xs, in
// two passes as pandas' nanvar: mean = sum(x)/n, M2 = sum((x-mean)^2).
func moments(xs []float64) (cnt, mean, m2 float64) {
	if len(xs) == 0 {
		return 0, 0, 0
	}
	var s float64
	for _, x := range xs {
		s += x
	}
	cnt = float64(len(xs))
	mean = s / cnt
	for _, x := range xs {
		d := x - mean
		m2 += d * d
	}
	return cnt, mean, m2
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
func (n *Numeric) Column() Column {
	slices.Sort(n.values)
	c := Column{
		Kind:     KindNumeric,
		Count:    float64(int64(len(n.values)) + n.posInf + n.negInf),
		NaNCount: n.nan,
		InfCount: n.posInf + n.negInf,
	}
	if n.counts != nil {
		c.Hist = &Hist{Counts: slices.Clone(n.counts), Edges: slices.Clone(n.edges)}
	} else if len(n.values) > 0 {
		edges := ReferenceEdges(n.values[0], n.values[len(n.values)-1], n.bins)
		counts := make([]int64, n.bins)
		for _, x := range n.values {
			counts[binIndex(edges, x)]++
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

// at returns the k-th smallest non-NaN value (values must be sorted).
func (n *Numeric) at(k int64) float64 {
	switch {
	case k < n.negInf:
		return math.Inf(-1)
	case k < n.negInf+int64(len(n.values)):
		return n.values[k-n.negInf]
	default:
		return math.Inf(1)
	}
}

// quantile returns numpy's linear quantile q of the sorted non-NaN values.
func (n *Numeric) quantile(q float64) float64 {
	total := int64(len(n.values)) + n.posInf + n.negInf
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
