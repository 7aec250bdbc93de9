package scoring

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/batchinfer/batchinfer/internal/dataset"
	"github.com/batchinfer/batchinfer/internal/stats"
)

// Describe computes the statistics of every column of a dataset (drift-spec
// section 1). Numeric columns (float64, int64) get count, mean, std, min,
// quartiles, max and a histogram: over the reference's edges for a column
// the reference has a histogram for, else over the column's own
// linspace(min, max, bins+1) edges. Booleans and strings get count, unique,
// top and freq. bins <= 0 means stats.DefaultBins. progress may be nil.
func Describe(ctx context.Context, files []dataset.File, reference *stats.Dataset, bins int, progress func(rows int64)) (*stats.Dataset, int64, error) {
	if bins <= 0 {
		bins = stats.DefaultBins
	}
	r, err := dataset.OpenAll(ctx, files, dataset.Options{})
	if err != nil {
		return nil, 0, err
	}
	defer r.Close()
	schema := r.Schema()
	type acc struct {
		num *stats.Numeric
		cat *stats.Categorical
	}
	accs := make([]acc, schema.NumFields())
	for i, f := range schema.Fields() {
		switch f.Type.ID() {
		case arrow.FLOAT64, arrow.INT64:
			var edges []float64
			if reference != nil {
				if c, ok := reference.Get(f.Name); ok && c.Kind == stats.KindNumeric && c.Hist != nil {
					edges = c.Hist.Edges
				}
			}
			accs[i].num = stats.NewNumeric(edges, bins)
		default:
			accs[i].cat = stats.NewCategorical()
		}
	}
	var rows int64
	var buf []float64
	for {
		if err := ctx.Err(); err != nil {
			return nil, 0, err
		}
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, 0, err
		}
		for i := range accs {
			col := rec.Column(i)
			if a := accs[i].num; a != nil {
				buf, _ = dataset.Float64s(col, buf)
				a.Add(buf) // nulls arrive as NaN: missing
				continue
			}
			addCategorical(accs[i].cat, col)
		}
		rows += rec.NumRows()
		if progress != nil {
			progress(rows)
		}
	}
	out := &stats.Dataset{}
	for i, f := range schema.Fields() {
		var c stats.Column
		if accs[i].num != nil {
			c = accs[i].num.Column()
		} else {
			c = accs[i].cat.Column()
		}
		out.Set(f.Name, &c)
	}
	return out, rows, nil
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

// DescribeFiles is Describe over result-set part URIs of one format.
func DescribeFiles(ctx context.Context, parts []string, format string, reference *stats.Dataset, bins int, progress func(int64)) (*stats.Dataset, int64, error) {
	files := make([]dataset.File, len(parts))
	for i, p := range parts {
		files[i] = dataset.File{URI: p, Format: dataset.Format(format), Size: -1}
	}
	ds, rows, err := Describe(ctx, files, reference, bins, progress)
	if err != nil {
		return nil, 0, fmt.Errorf("describing result set: %w", err)
	}
	return ds, rows, nil
}
