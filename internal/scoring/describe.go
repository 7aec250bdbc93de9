package scoring

import (
	"context"
	"errors"
	"io"

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
	acc := NewAccumulator(r.Schema(), reference, bins)
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
		acc.Add(rec)
		if progress != nil {
			progress(acc.Rows)
		}
	}
	return acc.Dataset(), acc.Rows, nil
}
