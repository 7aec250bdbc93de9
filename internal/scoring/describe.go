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
// top and freq, as do numeric columns whose reference statistics are
// categorical (see AccumulatorOptions). bins <= 0 means stats.DefaultBins.
// progress may be nil.
func Describe(ctx context.Context, files []dataset.File, reference *stats.Dataset, bins int, progress func(rows int64)) (*stats.Dataset, int64, error) {
	acc, err := describe(ctx, files, AccumulatorOptions{Reference: reference, Bins: bins}, progress)
	if err != nil {
		return nil, 0, err
	}
	return acc.Dataset(), acc.Rows, nil
}

// describe accumulates every record of the dataset with the given options.
func describe(ctx context.Context, files []dataset.File, opt AccumulatorOptions, progress func(rows int64)) (*Accumulator, error) {
	r, err := dataset.OpenAll(ctx, files, dataset.Options{})
	if err != nil {
		return nil, err
	}
	defer r.Close()
	acc := NewAccumulatorWith(r.Schema(), opt)
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		acc.Add(rec)
		if progress != nil {
			progress(acc.Rows)
		}
	}
	return acc, nil
}
