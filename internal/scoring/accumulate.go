package scoring

import (
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
// them). Partials of the same columns merge, in any order, to the same
// statistics (the properties of internal/stats), so shards and chunks can
// be described separately.
type Accumulator struct {
	stats.Partial
	buf []float64
}

// NewAccumulator prepares an accumulator for schema's columns. bins <= 0
// means stats.DefaultBins. Columns without reference edges keep every value
// (their own histogram is then exactly numpy's): right for a reference
// (training) set; result sets use NewBoundedAccumulator.
func NewAccumulator(schema *arrow.Schema, reference *stats.Dataset, bins int) *Accumulator {
	return newAccumulator(schema, reference, bins, 0)
}

// NewBoundedAccumulator is NewAccumulator with memory independent of the
// row count: every numeric column keeps at most stats.DefaultExactCap exact
// values, beyond which quartiles (and own-edge histograms) come from the
// sketch. Result-set partials use it.
func NewBoundedAccumulator(schema *arrow.Schema, reference *stats.Dataset, bins int) *Accumulator {
	return newAccumulator(schema, reference, bins, stats.DefaultExactCap)
}

func newAccumulator(schema *arrow.Schema, reference *stats.Dataset, bins, exactCap int) *Accumulator {
	if bins <= 0 {
		bins = stats.DefaultBins
	}
	a := &Accumulator{}
	a.Names = make([]string, schema.NumFields())
	a.Columns = make([]stats.PartialColumn, schema.NumFields())
	for i, f := range schema.Fields() {
		a.Names[i] = f.Name
		switch f.Type.ID() {
		case arrow.FLOAT64, arrow.INT64:
			var edges []float64
			if c, ok := reference.Get(f.Name); ok && c.Kind == stats.KindNumeric && c.Hist != nil {
				edges = c.Hist.Edges
			}
			a.Columns[i].Numeric = stats.NewNumericWith(edges, stats.NumericOptions{Bins: bins, ExactCap: exactCap})
		default:
			a.Columns[i].Categorical = stats.NewCategorical()
		}
	}
	return a
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
		addCategorical(c.Categorical, col)
	}
	a.Rows += rec.NumRows()
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
