// Package scoring is the batch-inference pipeline without Temporal: planning
// which dataset columns feed the model and which go to the result set,
// scoring record batches into result-set part files, computing the result
// set's statistics against the reference edges, and registering a model with
// its training-set statistics. Activities call it; tests call it directly.
package scoring
