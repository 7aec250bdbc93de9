package stats

import (
	"math"
	"sort"
)

// DefaultBins is the number of histogram bins MLRun uses (numpy's bins=20).
const DefaultBins = 20

// Kind says which statistics a Column carries. (The constants are named
// KindNumeric and KindCategorical because Numeric and Categorical are the
// accumulator types.)
type Kind int

const (
	// KindNumeric columns carry count, mean, std, min, quartiles, max and a
	// histogram.
	KindNumeric Kind = iota
	// KindCategorical columns carry count, unique, top and freq.
	KindCategorical
)

// String returns "numeric" or "categorical".
func (k Kind) String() string {
	switch k {
	case KindNumeric:
		return "numeric"
	case KindCategorical:
		return "categorical"
	default:
		return "unknown"
	}
}

// Column is one column's statistics in MLRun's shape (drift-spec section 1).
//
// Numeric fields of a column with Count == 0 are NaN. Categorical columns leave
// the numeric fields at zero and Hist nil.
type Column struct {
	Kind Kind
	// Count is, for a numeric column, the number of non-NaN values (+-Inf are
	// counted); for a categorical column, the number of non-null values. It is
	// a float64 because MLRun writes it as one ("10.0").
	Count float64
	// Mean is the arithmetic mean of the counted values: +Inf or -Inf when
	// infinities of one sign are present, NaN when both signs are.
	Mean float64
	// Std is the sample standard deviation, sqrt(sum (x-mean)^2 / (Count-1))
	// (ddof = 1); NaN when an infinity is present. Valid only when HasStd.
	Std float64
	// HasStd is false when Count < 2; the "std" key is then omitted.
	HasStd bool
	// Min, Q25, Q50, Q75 and Max are the pandas describe order statistics over
	// the counted values (infinities included).
	Min, Q25, Q50, Q75, Max float64
	// Hist is the histogram, or nil when there is none (categorical column, or a
	// reference column without finite values).
	Hist *Hist
	// NaNCount is the number of missing values (NaN or null); InfCount the
	// number of +-Inf values. Extras, written as "nan_count" and "inf_count"
	// after MLRun's keys.
	NaNCount, InfCount int64
	// Unique is the number of distinct values, Top the most frequent one (ties:
	// the lexicographically smallest) and Freq its count. Categorical only.
	Unique int64
	Top    string
	Freq   int64

	// Extras beyond MLRun's keys (written after them, see MarshalJSON).

	// Approx is true when the quartiles (and an own-edge histogram) come from
	// the Sketch because the column had more than NumericOptions.ExactCap
	// finite values (JSON "approx", written only when true). Numeric only.
	Approx bool
	// Sketch is the mergeable quantile sketch of the non-NaN values (JSON
	// "sketch"); nil when absent (statistics written by MLRun). Numeric only.
	Sketch *Sketch
	// Freqs is the frequency table (JSON "frequencies"); nil when absent.
	// Categorical only.
	Freqs *FreqTable
}

// FreqTable is a categorical column's frequency table: Values[i] was seen
// Counts[i] times, sorted by count (descending) then value (byte order).
// Other counts the non-null values not in the table. When Exact, the table
// is complete (Other is 0) and the counts are exact; otherwise it holds the
// frequent items of a Misra-Gries summary and each listed count is at most
// Other/(len(Values)+1) below the true one, and any value missing from the
// table occurred at most that often (see Categorical).
type FreqTable struct {
	Values []string
	Counts []int64
	Other  int64
	Exact  bool
}

// Count returns the count of v in the table (0 when absent).
func (t *FreqTable) Count(v string) (int64, bool) {
	if t == nil {
		return 0, false
	}
	for i, x := range t.Values {
		if x == v {
			return t.Counts[i], true
		}
	}
	return 0, false
}

// Hist is a histogram: len(Edges) == len(Counts)+1, bin i holds
// Edges[i] <= x < Edges[i+1] and the last bin is closed. Its JSON form is
// MLRun's [[c0, ..., c19], [e0, ..., e20]].
type Hist struct {
	Counts []int64
	Edges  []float64
}

// Clone returns a deep copy of h (nil for nil).
func (h *Hist) Clone() *Hist {
	if h == nil {
		return nil
	}
	return &Hist{
		Counts: append([]int64(nil), h.Counts...),
		Edges:  append([]float64(nil), h.Edges...),
	}
}

// Dataset is an ordered set of column statistics. Its JSON form is an object
// whose keys are the column names in Names order: {"a": {...}, "b": {...}}.
// Every name in Names has an entry in Columns.
type Dataset struct {
	Names   []string
	Columns map[string]*Column
}

// Get returns the statistics of the named column.
func (d *Dataset) Get(name string) (*Column, bool) {
	if d == nil || d.Columns == nil {
		return nil, false
	}
	c, ok := d.Columns[name]
	return c, ok
}

// Set stores c under name, appending name to Names when it is new and keeping
// its position otherwise.
func (d *Dataset) Set(name string, c *Column) {
	if d.Columns == nil {
		d.Columns = make(map[string]*Column)
	}
	if _, ok := d.Columns[name]; !ok {
		d.Names = append(d.Names, name)
	}
	d.Columns[name] = c
}

// Len returns the number of columns.
func (d *Dataset) Len() int {
	if d == nil {
		return 0
	}
	return len(d.Names)
}

// ReferenceEdges returns the bins+1 histogram edges numpy's
// histogram(x, bins) uses for data with the given finite min and max, that is
// linspace(min, max, bins+1):
//
//	step = (max - min) / bins
//	e[i] = float64(float64(i)*step) + min   for 0 <= i < bins (no fused multiply-add)
//	e[bins] = max
//
// When min == max the range is widened to (min-0.5, max+0.5) first, as numpy
// does. bins <= 0 means DefaultBins.
func ReferenceEdges(min, max float64, bins int) []float64 {
	if bins <= 0 {
		bins = DefaultBins
	}
	if min == max {
		min, max = min-0.5, max+0.5
	}
	step := (max - min) / float64(bins)
	e := make([]float64, bins+1)
	if math.IsInf(step, 0) {
		// max - min overflows (|values| near 1.8e308): numpy would give
		// inf/nan edges; interpolate instead so every finite value has a bin.
		for i := range bins {
			f := float64(i) / float64(bins)
			e[i] = min*(1-f) + max*f
		}
		e[bins] = max
		return e
	}
	for i := range bins {
		// The explicit conversion forbids fusing the multiply and the add,
		// which would round once instead of twice and differ from numpy.
		e[i] = float64(float64(i)*step) + min
	}
	e[bins] = max
	return e
}

// binIndex returns the bin of x over edges (e[i] <= x < e[i+1], last bin
// closed) or -1 when x is NaN or outside [e[0], e[len-1]].
func binIndex(edges []float64, x float64) int {
	n := len(edges) - 1
	if n < 1 || !(x >= edges[0] && x <= edges[n]) {
		return -1
	}
	if x == edges[n] {
		return n - 1
	}
	// First edge strictly greater than x; x < edges[n] so it exists.
	i := sort.Search(n+1, func(i int) bool { return edges[i] > x })
	return i - 1
}
