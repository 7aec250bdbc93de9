package stats

import (
	"cmp"
	"math"
	"slices"
	"strconv"
)

// DefaultExactDistinct is the default number of distinct values a
// Categorical counts exactly (CategoricalOptions.ExactDistinct): 10,000,
// which covers every genuinely categorical column (codes, countries,
// products) with an exact table of at most a few hundred KiB, while an
// identifier-like column that would grow without bound switches to a
// fixed-size summary.
const DefaultExactDistinct = 10_000

// distinctK is the number of smallest hashes the distinct-count estimator
// keeps (KMV); its relative standard error is about 1/sqrt(distinctK-2),
// 3.1%.
const distinctK = 1024

// CategoricalOptions configures NewCategoricalWith. The zero value gives the
// defaults. Fields may be added but never renamed or removed.
type CategoricalOptions struct {
	// ExactDistinct is the number of distinct values counted exactly.
	// Default (<= 0) DefaultExactDistinct.
	ExactDistinct int
}

// Categorical accumulates the statistics of one non-numeric column (strings,
// booleans, integers declared categorical): count, nulls and a frequency
// table.
//
// Up to ExactDistinct distinct values the table is exact: every value and
// its count. Beyond, the accumulator keeps a Misra-Gries frequent-items
// summary of ExactDistinct counters (mergeable: Agarwal et al., "Mergeable
// summaries", 2012), whose counters under-count by at most
// (N - sum of counters)/(ExactDistinct+1) (N non-null values; the shortfall
// is reported as FreqTable.Other), so every value more frequent than
// N/(ExactDistinct+1) is listed; unique is then estimated from the
// distinctK smallest 64-bit FNV-1a hashes of the distinct values (KMV,
// about 3% relative error). The summary is deterministic (ties broken by
// value, no randomness, no map-order dependence); unlike the exact table its
// counters depend on the split and merge order, always within that bound.
// Memory is bounded by 2*ExactDistinct values plus distinctK hashes.
//
// The zero value is not usable; call NewCategorical.
type Categorical struct {
	freq  map[string]int64
	nulls int64
	total int64
	k     int
	exact bool
	kmv   kmv // built when the exact table overflows
}

// NewCategorical returns an empty accumulator with the default options.
func NewCategorical() *Categorical { return NewCategoricalWith(CategoricalOptions{}) }

// NewCategoricalWith returns an empty accumulator.
func NewCategoricalWith(opt CategoricalOptions) *Categorical {
	if opt.ExactDistinct <= 0 {
		opt.ExactDistinct = DefaultExactDistinct
	}
	return &Categorical{freq: make(map[string]int64), k: opt.ExactDistinct, exact: true}
}

// Add adds one non-null value.
func (c *Categorical) Add(v string) {
	c.total++
	if c.exact {
		c.freq[v]++
		if len(c.freq) > c.k {
			c.toSummary()
		}
		return
	}
	c.kmv.add(hashString(v))
	c.freq[v]++
	if len(c.freq) > 2*c.k {
		reduceMG(c.freq, c.k)
	}
}

// AddInt adds an integer value of a column declared categorical, spelled as
// Python's str() spells it ("12", "-3").
func (c *Categorical) AddInt(v int64) { c.Add(strconv.FormatInt(v, 10)) }

// AddFloat adds a float64 value of a column declared categorical, spelled as
// FormatCategory spells it; NaN is a null (counted in NaNCount, not Count).
func (c *Categorical) AddFloat(v float64) {
	if math.IsNaN(v) {
		c.AddNull(1)
		return
	}
	c.Add(FormatCategory(v))
}

// AddN adds n occurrences of the non-null value v: the same state as n calls
// of Add(v), in one map update while the table is exact (the Misra-Gries
// summary, past ExactDistinct distinct values, takes them one by one). n <= 0
// is a no-op.
func (c *Categorical) AddN(v string, n int64) {
	if n <= 0 {
		return
	}
	if c.exact {
		if _, seen := c.freq[v]; seen || len(c.freq) < c.k {
			c.freq[v] += n
			c.total += n
			return
		}
	}
	for range n {
		c.Add(v)
	}
}

// FormatCategory spells a numeric value of a column declared categorical,
// so that an integer column and the same column read as float64 (as CSV and
// JSON Lines read numbers, and as pandas reads an integer column with
// missing values) give the same categories:
//
//   - an integral value is its integer's decimal text, as strconv.FormatInt
//     and Python's str(int(v)) write it: 3.0 -> "3", -1.0 -> "-1", -0.0 ->
//     "0", 1e20 -> "100000000000000000000" (the exact integer, never an
//     exponent);
//   - any other finite value is Python's repr(float) (AppendJSONFloat):
//     2.5 -> "2.5", 1e-05 -> "1e-05";
//   - +Inf and -Inf are "inf" and "-inf" (Python's str).
//
// NaN has no spelling: callers count it as missing (FormatCategory returns
// "nan", Python's str, if asked).
func FormatCategory(v float64) string {
	switch {
	case math.IsNaN(v):
		return "nan"
	case math.IsInf(v, 1):
		return "inf"
	case math.IsInf(v, -1):
		return "-inf"
	case v != math.Trunc(v):
		return string(AppendJSONFloat(nil, v))
	case v >= -(1<<63) && v < 1<<63:
		return strconv.FormatInt(int64(v), 10)
	default:
		// Integral beyond int64: 'f' with precision 0 writes the float's
		// exact integer value.
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
}

// AddNull adds k null values (counted in NaNCount, not in Count). k <= 0 is a
// no-op.
func (c *Categorical) AddNull(k int) {
	if k > 0 {
		c.nulls += int64(k)
	}
}

// toSummary switches from the exact table to the Misra-Gries summary.
func (c *Categorical) toSummary() {
	c.exact = false
	for v := range c.freq {
		c.kmv.add(hashString(v))
	}
	reduceMG(c.freq, c.k)
}

// Merge adds the values accumulated by o into c; o is unchanged. Two exact
// tables whose union has at most ExactDistinct values merge exactly (the
// result is then the same for any split and order); otherwise the counters
// are added and reduced to ExactDistinct (Misra-Gries merge).
//
// Merge panics if the accumulators have different ExactDistinct.
func (c *Categorical) Merge(o *Categorical) {
	if c.k != o.k {
		panic("stats: Categorical.Merge of accumulators with different ExactDistinct")
	}
	c.total += o.total
	c.nulls += o.nulls
	for v, k := range o.freq {
		c.freq[v] += k
	}
	if c.exact && o.exact && len(c.freq) <= c.k {
		return
	}
	if c.exact {
		c.exact = false
		for v := range c.freq {
			if _, inO := o.freq[v]; !inO || !o.exact {
				c.kmv.add(hashString(v))
			}
		}
	}
	if o.exact {
		for v := range o.freq {
			c.kmv.add(hashString(v))
		}
	} else {
		c.kmv.merge(&o.kmv)
	}
	if len(c.freq) > c.k {
		reduceMG(c.freq, c.k)
	}
}

// reduceMG subtracts the (k+1)-th largest counter from every counter and
// drops those that reach zero, leaving at most k.
func reduceMG(freq map[string]int64, k int) {
	if len(freq) <= k {
		return
	}
	counts := make([]int64, 0, len(freq))
	for _, n := range freq {
		counts = append(counts, n)
	}
	slices.SortFunc(counts, func(a, b int64) int { return cmp.Compare(b, a) })
	cut := counts[k]
	for v, n := range freq {
		if n <= cut {
			delete(freq, v)
		} else {
			freq[v] = n - cut
		}
	}
}

// Column returns count (non-null values), unique (distinct values), top (the
// most frequent value), freq (its count) and the frequency table.
//
// Ties for top: pandas keeps the value seen first, which depends on row order
// and therefore on how shards are merged; we take the lexicographically
// smallest (byte order) of the tied values instead, so the result is the same
// for any split and merge order. With no values, Unique is 0 and Top/Freq are
// empty (their keys are then omitted from JSON, as MLRun drops NaN stats).
// Beyond ExactDistinct distinct values, unique is the KMV estimate and top
// and freq come from the Misra-Gries counters (freq a lower bound, within
// Freqs.Other/(ExactDistinct+1) of the true count).
func (c *Categorical) Column() Column {
	col := Column{Kind: KindCategorical, NaNCount: c.nulls, Count: float64(c.total)}
	t := &FreqTable{Exact: c.exact}
	freq := c.freq
	if !c.exact && len(freq) > c.k {
		freq = make(map[string]int64, len(c.freq))
		for v, n := range c.freq {
			freq[v] = n
		}
		reduceMG(freq, c.k)
	}
	type vc struct {
		v string
		n int64
	}
	items := make([]vc, 0, len(freq))
	var listed int64
	for v, n := range freq {
		items = append(items, vc{v, n})
		listed += n
	}
	slices.SortFunc(items, func(a, b vc) int {
		if a.n != b.n {
			return cmp.Compare(b.n, a.n)
		}
		return cmp.Compare(a.v, b.v)
	})
	for _, it := range items {
		t.Values = append(t.Values, it.v)
		t.Counts = append(t.Counts, it.n)
	}
	t.Other = c.total - listed
	col.Freqs = t
	if c.exact {
		col.Unique = int64(len(freq))
	} else {
		col.Unique = c.kmv.estimate()
	}
	if len(items) > 0 {
		col.Top, col.Freq = items[0].v, items[0].n
	}
	return col
}

// hashString is 64-bit FNV-1a: deterministic across processes and runs.
func hashString(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	// FNV's low bits mix poorly for short keys; finish with a 64-bit mixer
	// (splitmix64's) so the order of hashes is close to uniform.
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	h ^= h >> 31
	return h
}

// kmv keeps the distinctK smallest distinct hashes (a "k minimum values"
// distinct-count sketch): the same set for any split and order.
type kmv struct {
	h      []uint64 // pending and kept hashes
	thresh uint64   // hashes >= thresh cannot be among the smallest; 0: none yet
}

func (s *kmv) add(h uint64) {
	if s.thresh != 0 && h >= s.thresh {
		return
	}
	s.h = append(s.h, h)
	if len(s.h) >= 4*distinctK {
		s.compact()
	}
}

func (s *kmv) merge(o *kmv) {
	for _, h := range o.h {
		s.add(h)
	}
}

func (s *kmv) compact() {
	slices.Sort(s.h)
	s.h = slices.Compact(s.h)
	if len(s.h) >= distinctK {
		s.h = s.h[:distinctK]
		s.thresh = s.h[distinctK-1] + 1
		if s.thresh == 0 { // overflow: keep everything below the max
			s.thresh = math.MaxUint64
		}
	}
}

// estimate returns the number of distinct values: exact below distinctK,
// else (k-1)/U_k with U_k the k-th smallest hash scaled to [0, 1).
func (s *kmv) estimate() int64 {
	s.compact()
	if len(s.h) < distinctK {
		return int64(len(s.h))
	}
	u := float64(s.h[distinctK-1]) / 18446744073709551616.0
	return int64(math.Round(float64(distinctK-1) / u))
}
