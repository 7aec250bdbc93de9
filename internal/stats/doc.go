// Package stats computes per-column statistics in the shape MLRun writes to
// dataset_statistics.json and to a model's feature_stats (drift-spec section 1).
//
// A numeric column carries count, mean, std (ddof = 1), min, the pandas describe
// quartiles (linear interpolation at position q*(n-1)), max and a histogram
// (DefaultBins = 20 bins). A reference (training or sample set) histogram uses
// its own edges, linspace(min, max, bins+1) as numpy computes them
// (ReferenceEdges); a scored batch histogram is counted over the reference edges
// passed to NewNumeric. Bin i holds e[i] <= x < e[i+1] and the last bin is
// closed. A categorical column carries count, unique, top and freq.
//
// Accumulators (Numeric, Categorical) are mergeable: the statistics of the
// shards of a column, merged in any order, equal those of the whole column
// (counts, histogram, min, max and quartiles exactly; mean and std to about
// 1e-12 relative, see Numeric.Merge). Accumulators are not safe for concurrent
// use; merge per-goroutine partials instead.
//
// Dataset is an ordered set of columns with a JSON encoding that reads and
// writes MLRun's feature_stats layout.
package stats
