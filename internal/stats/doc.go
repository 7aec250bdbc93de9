// Package stats computes per-column statistics in the shape MLRun writes to
// dataset_statistics.json and to a model's feature_stats (drift-spec section 1).
//
// A numeric column carries count, mean, std (ddof = 1), min, the pandas describe
// quartiles (linear interpolation at position q*(n-1)), max and a histogram
// (DefaultBins = 20 bins). A reference (training or sample set) histogram uses
// its own edges, linspace(min, max, bins+1) as numpy computes them
// (ReferenceEdges); a scored batch histogram is counted over the reference edges
// passed to NewNumeric. Bin i holds e[i] <= x < e[i+1] and the last bin is
// closed. A categorical column (strings, booleans, and integer columns
// declared categorical) carries count, unique, top and freq; numeric values
// of a declared column are spelled by FormatCategory (3 and 3.0 are both
// "3", so an int column read as float matches), NaN and nulls being
// missing.
//
// Accumulators (Numeric, Categorical) are streaming and mergeable partials:
// the statistics of the shards of a column, merged in any order, equal those
// of the whole column (counts, NaN and +-Inf counts, histogram, min, max,
// sketch and quartiles exactly; mean and std to about 1e-12 relative, see
// Numeric.Merge). Numeric keeps its values for pandas-exact quartiles up to
// NumericOptions.ExactCap (DefaultExactCap = 65,536 for a batch over
// reference edges; unlimited by default for a reference set, whose
// histogram must equal numpy's) finite values and
// always maintains a Sketch, a fixed-mapping log-linear histogram
// (DDSketch-style, relative error 2^-8) whose merged state depends only on
// the multiset of values; beyond the cap the quartiles come from it, so
// memory does not grow with the row count. Categorical counts exactly up to
// CategoricalOptions.ExactDistinct (DefaultExactDistinct = 10,000) distinct
// values, then keeps a Misra-Gries frequent-items summary with an "other"
// count. Accumulators are not safe for concurrent use; merge per-goroutine
// partials instead.
//
// Beside MLRun's keys, the JSON carries extras MLRun's readers ignore:
// nan_count, inf_count, approx, sketch (numeric) and frequencies
// (categorical), which drift analysis uses for KS and categorical drift.
//
// Dataset is an ordered set of columns with a JSON encoding that reads and
// writes MLRun's feature_stats layout.
package stats
