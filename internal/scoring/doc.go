// Package scoring is the batch-inference pipeline without Temporal: planning
// which dataset columns feed the model and which go to the result set,
// scoring record batches into result-set part files, computing the result
// set's statistics against the reference edges, and registering a model with
// its training-set statistics. Activities call it; tests call it directly.
//
// # Categorical columns
//
// A float64/int64 column may be declared categorical (low-cardinality codes:
// a store id, a rating, a class): its statistics are then a frequency table
// (count, unique, top, freq, "frequencies") instead of a histogram, and its
// drift is the categorical comparison of internal/drift (TVD, Hellinger,
// L-inf, chi-square over the category shares; drift_extended_results.json),
// not MLRun's histogram comparison (drift-spec section 3 compares only the
// features with a hist on both sides, as MLRun does for pandas category and
// object columns). Values are spelled by stats.FormatCategory: the int64 3
// and the float64 3.0 (CSV and JSON Lines read every number as float64, a
// column with missing values included) are both the category "3"; nulls
// and NaN are missing. Registering a model rejects a declared column with a
// non-integral or infinite value (*NonIntegralError); a batch counts such a
// value under its own text ("2.5"), which shows as an unseen category.
//
// Declarations come from three places; a numeric result-set column is
// categorical when any of them says so (there is no way to force a column
// back to numeric):
//
//  1. the run (BatchPredictInput.CategoricalColumns, `starter run
//     --categorical-columns`), for a model without reference statistics or
//     to override a numeric reference;
//  2. the model bundle (bundle.json "categorical_columns", from `starter
//     model register --categorical-columns`);
//  3. the reference statistics in use (sample set statistics, else the
//     bundle's feature_stats): a column they describe as categorical is
//     described as categorical in the batch too.
//
// 1 and 2 are resolved once per run by ResolveCategorical (LoadDataset) and
// passed to every shard, and 3 reads the same reference file in every shard,
// so all partials of a run agree on each column's kind and merge. A column
// declared categorical for a run whose reference describes it numerically
// gets a frequency table in the batch and no comparison (note
// drift.NoteKindsDiffer).
package scoring
