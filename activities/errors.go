package activities

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"

	"go.temporal.io/sdk/temporal"

	"github.com/batchinfer/batchinfer/internal/bundle"
	"github.com/batchinfer/batchinfer/internal/dataset"
	"github.com/batchinfer/batchinfer/internal/model"
	"github.com/batchinfer/batchinfer/internal/scoring"
	"github.com/batchinfer/batchinfer/internal/stats"
	"github.com/batchinfer/batchinfer/internal/storage"
)

var (
	// errNoReference: drift analysis was required but no reference exists.
	errNoReference = errors.New("no reference statistics")
	// errBadModel marks any failure to read the model (missing file included).
	errBadModel = errors.New("unusable model")
)

// errorType returns the non-retryable type of err, or "" when a retry may
// help (network, throttling, a dying worker, a full disk).
func errorType(err error) string {
	var parseErr *dataset.ParseError
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return ""
	case errors.Is(err, scoring.ErrEmptyDataset), errors.Is(err, dataset.ErrEmpty):
		return ErrTypeEmptyDataset
	case errors.Is(err, scoring.ErrMissingFeatures), errors.Is(err, scoring.ErrNotNumeric):
		return ErrTypeMissingFeatures
	case errors.Is(err, scoring.ErrLabelExists):
		return ErrTypeLabelExists
	case errors.Is(err, scoring.ErrBadParameter), errors.Is(err, storage.ErrUnsupportedScheme):
		return ErrTypeBadParameter
	case errors.Is(err, errBadModel), errors.Is(err, model.ErrUnsupported), errors.Is(err, model.ErrMalformed), errors.Is(err, bundle.ErrNotBundle):
		return ErrTypeBadModel
	case errors.Is(err, storage.ErrAccessDenied):
		return ErrTypeAccessDenied
	case errors.Is(err, errNoReference):
		return ErrTypeNoReference
	case errors.Is(err, stats.ErrSyntax):
		return ErrTypeBadStatistics
	case errors.As(err, &parseErr), errors.Is(err, dataset.ErrMalformed),
		errors.Is(err, dataset.ErrNotFound), errors.Is(err, dataset.ErrUnsupportedFormat),
		errors.Is(err, dataset.ErrSchemaMismatch), errors.Is(err, dataset.ErrInlineTooLarge):
		return ErrTypeBadDataset
	case errors.Is(err, storage.ErrNotFound):
		return ErrTypeBadDataset
	}
	return ""
}

// classify maps an error to what Temporal should do with it: bad input
// becomes a non-retryable application error naming the problem.
func classify(err error) error {
	if err == nil {
		return nil
	}
	if t := errorType(err); t != "" {
		return temporal.NewNonRetryableApplicationError(err.Error(), t, err)
	}
	return err
}

// guard runs fn, classifying its error and turning a panic into a
// non-retryable error (the same input would panic again).
func guard[T any](fn func() (T, error)) (res T, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = temporal.NewNonRetryableApplicationError(fmt.Sprintf("internal error: %v\n%s", p, debug.Stack()), ErrTypePanic, nil)
		}
	}()
	res, err = fn()
	return res, classify(err)
}
