package scoring

import (
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/batchinfer/batchinfer/internal/dataset"
	"github.com/batchinfer/batchinfer/internal/stats"
)

// ErrBadPartial: a partial statistics file that does not decode.
var ErrBadPartial = stats.ErrBadPartial

// Accumulator gathers the statistics of every column of a stream of
// records into a stats.Partial: stats.Numeric for float64/int64 columns
// (histograms over the reference's edges where the reference has them),
// stats.Categorical for the rest (booleans as True/False, as pandas writes
// them) and for the float64/int64 columns that are categorical by
// AccumulatorOptions (declared, or categorical in the reference). Partials
// of the same columns merge, in any order, to the same statistics (the
// properties of internal/stats), so shards and chunks can be described
// separately.
type Accumulator struct {
	stats.Partial
	buf []float64
	// ints counts the values of a numeric column declared categorical
	// within one record, so each distinct value is spelled once per record.
	ints intCounts
	// nonIntegral holds, per column, the first value of a categorical
	// float64 column that is not an integer (nil: none seen).
	nonIntegral []*NonIntegralError
}

// AccumulatorOptions configures NewAccumulatorWith. The zero value describes
// every column by its type with the default bins and no memory bound. Fields
// may be added but never renamed or removed.
type AccumulatorOptions struct {
	// Reference gives the histogram edges of numeric columns (nil: each
	// column's own linspace(min, max, Bins+1)) and the kinds of columns:
	// a float64/int64 column whose reference statistics are categorical is
	// accumulated as categorical, so batch and reference compare table to
	// table.
	Reference *stats.Dataset
	// Bins is the number of own-edge histogram bins; <= 0 means
	// stats.DefaultBins.
	Bins int
	// Bounded caps every numeric column at stats.DefaultExactCap exact
	// values, beyond which quartiles (and own-edge histograms) come from the
	// sketch: memory independent of the row count. Result sets use it;
	// reference (training) sets do not, so their histograms are exactly
	// numpy's.
	Bounded bool
	// Categorical names columns declared categorical: a float64/int64 column
	// named here gets a frequency table (count, unique, top, freq) instead
	// of a histogram, its values spelled by stats.FormatCategory (integers
	// as "3", integral floats as the integer, NaN and null missing). Names
	// that are not columns, or are boolean or string columns (categorical
	// anyway), change nothing.
	Categorical []string
}

// NonIntegralError reports a value of a float64 column declared categorical
// that is not an integer (or is infinite). Registering a model rejects it;
// a batch counts such a value as its stats.FormatCategory text.
type NonIntegralError struct {
	Column string
	Row    int64 // 0-based row of the dataset (records in order)
	Value  float64
}

func (e *NonIntegralError) Error() string {
	return fmt.Sprintf("column %q is declared categorical but holds the non-integral value %s (row %d); only integer-valued columns can be declared categorical",
		e.Column, strconv.FormatFloat(e.Value, 'g', -1, 64), e.Row)
}

// Unwrap makes a NonIntegralError an ErrBadParameter.
func (e *NonIntegralError) Unwrap() error { return ErrBadParameter }

// NewAccumulator prepares an accumulator for schema's columns. bins <= 0
// means stats.DefaultBins. Columns without reference edges keep every value
// (their own histogram is then exactly numpy's): right for a reference
// (training) set; result sets use NewBoundedAccumulator. A float64/int64
// column whose reference statistics are categorical is accumulated as
// categorical (see AccumulatorOptions).
func NewAccumulator(schema *arrow.Schema, reference *stats.Dataset, bins int) *Accumulator {
	return NewAccumulatorWith(schema, AccumulatorOptions{Reference: reference, Bins: bins})
}

// NewBoundedAccumulator is NewAccumulator with memory independent of the
// row count: every numeric column keeps at most stats.DefaultExactCap exact
// values, beyond which quartiles (and own-edge histograms) come from the
// sketch. Result-set partials use it.
func NewBoundedAccumulator(schema *arrow.Schema, reference *stats.Dataset, bins int) *Accumulator {
	return NewAccumulatorWith(schema, AccumulatorOptions{Reference: reference, Bins: bins, Bounded: true})
}

// NewAccumulatorWith prepares an accumulator for schema's columns. A
// float64/int64 column is categorical when opt.Categorical names it or its
// opt.Reference statistics are categorical, else numeric; boolean and
// string columns are always categorical. The rule depends only on the
// schema and the options, so every shard of a run given the same options
// describes a column with the same kind and the partials merge.
func NewAccumulatorWith(schema *arrow.Schema, opt AccumulatorOptions) *Accumulator {
	if opt.Bins <= 0 {
		opt.Bins = stats.DefaultBins
	}
	exactCap := 0
	if opt.Bounded {
		exactCap = stats.DefaultExactCap
	}
	a := &Accumulator{nonIntegral: make([]*NonIntegralError, schema.NumFields())}
	a.Names = make([]string, schema.NumFields())
	a.Columns = make([]stats.PartialColumn, schema.NumFields())
	for i, f := range schema.Fields() {
		a.Names[i] = f.Name
		if !numericKind(f, opt.Reference, opt.Categorical) {
			a.Columns[i].Categorical = stats.NewCategorical()
			continue
		}
		var edges []float64
		if c, ok := opt.Reference.Get(f.Name); ok && c.Kind == stats.KindNumeric && c.Hist != nil {
			edges = c.Hist.Edges
		}
		a.Columns[i].Numeric = stats.NewNumericWith(edges, stats.NumericOptions{Bins: opt.Bins, ExactCap: exactCap})
	}
	return a
}

// numericKind reports whether column f is described as numeric: a float64
// or int64 column neither declared categorical nor categorical in the
// reference.
func numericKind(f arrow.Field, reference *stats.Dataset, declared []string) bool {
	switch f.Type.ID() {
	case arrow.FLOAT64, arrow.INT64:
	default:
		return false
	}
	if slices.Contains(declared, f.Name) {
		return false
	}
	c, ok := reference.Get(f.Name)
	return !ok || c == nil || c.Kind != stats.KindCategorical
}

// NonIntegral returns the first value (in column order, then row order) of
// a float64 column accumulated as categorical that is not an integer, as a
// *NonIntegralError, or nil.
func (a *Accumulator) NonIntegral() error {
	for _, e := range a.nonIntegral {
		if e != nil {
			return e
		}
	}
	return nil
}

// Add accumulates a record whose columns are the accumulator's.
func (a *Accumulator) Add(rec arrow.RecordBatch) {
	for i, c := range a.Columns {
		col := rec.Column(i)
		if c.Numeric != nil {
			a.buf, _ = dataset.Float64s(col, a.buf)
			c.Numeric.Add(a.buf) // nulls arrive as NaN: missing
			continue
		}
		switch col := col.(type) {
		case *array.Int64:
			a.addInts(c.Categorical, col)
		case *array.Float64:
			if bad := a.addFloats(c.Categorical, col); bad >= 0 && i < len(a.nonIntegral) && a.nonIntegral[i] == nil {
				a.nonIntegral[i] = &NonIntegralError{Column: a.Names[i], Row: a.Rows + int64(bad), Value: col.Value(bad)}
			}
		default:
			addCategorical(c.Categorical, col)
		}
	}
	a.Rows += rec.NumRows()
}

// intCounts counts integer values in first-seen order (deterministic, unlike
// map order), reused across records.
type intCounts struct {
	n     map[int64]int64
	order []int64
}

func (ic *intCounts) add(v int64) {
	if ic.n == nil {
		ic.n = make(map[int64]int64)
	}
	if _, ok := ic.n[v]; !ok {
		ic.order = append(ic.order, v)
	}
	ic.n[v]++
}

// flush adds the counted values to c, spelled by strconv.FormatInt, and
// resets the counts.
func (ic *intCounts) flush(c *stats.Categorical) {
	for _, v := range ic.order {
		c.AddN(strconv.FormatInt(v, 10), ic.n[v])
	}
	clear(ic.n)
	ic.order = ic.order[:0]
}

// addInts counts an int64 column declared categorical: each value as its
// decimal text, nulls missing.
func (a *Accumulator) addInts(c *stats.Categorical, col *array.Int64) {
	nulls := 0
	for j, v := range col.Int64Values() {
		if col.IsNull(j) {
			nulls++
			continue
		}
		a.ints.add(v)
	}
	a.ints.flush(c)
	c.AddNull(nulls)
}

// addFloats counts a float64 column declared categorical, spelled by
// stats.FormatCategory (an integral value as its integer's text); nulls and
// NaN are missing. It returns the index of the first non-integral (or
// infinite) value, or -1.
func (a *Accumulator) addFloats(c *stats.Categorical, col *array.Float64) int {
	nulls, bad := 0, -1
	for j, v := range col.Float64Values() {
		switch {
		case col.IsNull(j) || math.IsNaN(v):
			nulls++
		case v == math.Trunc(v) && v >= -(1<<63) && v < 1<<63: // integral, not infinite
			a.ints.add(int64(v))
		default:
			if bad < 0 && (math.IsInf(v, 0) || v != math.Trunc(v)) {
				bad = j
			}
			c.Add(stats.FormatCategory(v))
		}
	}
	a.ints.flush(c)
	c.AddNull(nulls)
	return bad
}

// Merge adds b's state to a; the columns must be the same.
func (a *Accumulator) Merge(b *Accumulator) error { return a.Partial.Merge(&b.Partial) }

// UnmarshalAccumulator decodes an encoded partial (stats.Partial's format;
// every length bounded by the input size).
func UnmarshalAccumulator(data []byte) (*Accumulator, error) {
	a := &Accumulator{}
	if err := a.Partial.UnmarshalBinary(data); err != nil {
		return nil, err
	}
	return a, nil
}

// addCategorical counts a column's values as strings; booleans are written
// True/False as pandas does.
func addCategorical(c *stats.Categorical, col arrow.Array) {
	nulls := 0
	switch a := col.(type) {
	case *array.Boolean:
		for j := range a.Len() {
			switch {
			case a.IsNull(j):
				nulls++
			case a.Value(j):
				c.Add("True")
			default:
				c.Add("False")
			}
		}
	case *array.String:
		for j := range a.Len() {
			if a.IsNull(j) {
				nulls++
				continue
			}
			c.Add(a.Value(j))
		}
	default:
		for j := range col.Len() {
			if col.IsNull(j) {
				nulls++
				continue
			}
			c.Add(col.ValueStr(j))
		}
	}
	if nulls > 0 {
		c.AddNull(nulls)
	}
}
