// Package activities holds every side effect of batchinfer's workflows:
// reading datasets and models, scoring, statistics, drift analysis and
// writing artifacts. It is the one boundary where errors are classified:
// bad input becomes a non-retryable application error with a stable type
// (see the ErrType constants); everything else stays retryable. Panics are
// recovered here and never cross into the worker.
package activities
