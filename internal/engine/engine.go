// Package engine loads any supported model file into a model.Predictor,
// detecting the framework and format from the file's content (not its
// name): XGBoost JSON/UBJSON, LightGBM text models, scikit-learn pickle and
// joblib files.
package engine

import (
	"bytes"
	"fmt"

	"github.com/batchinfer/batchinfer/internal/model"
	"github.com/batchinfer/batchinfer/internal/model/lightgbm"
	"github.com/batchinfer/batchinfer/internal/model/sklearn"
)

// Framework names as Info().Framework reports them.
const (
	XGBoost  = "xgboost"
	LightGBM = "lightgbm"
	Sklearn  = "sklearn"
)

// Detect names the framework a model file was written by, from its bytes,
// or "" when it is none of the supported ones.
func Detect(data []byte) string {
	switch {
	case lightgbm.IsLightGBM(data):
		return LightGBM
	case sklearn.IsSklearn(data):
		return Sklearn
	case looksLikeXGBoost(data):
		return XGBoost
	}
	return ""
}

// looksLikeXGBoost: XGBoost JSON and UBJSON both start with an object
// ('{', after whitespace for JSON) holding "learner".
func looksLikeXGBoost(data []byte) bool {
	t := bytes.TrimLeft(data, " \t\r\n")
	if len(t) == 0 || t[0] != '{' {
		return false
	}
	head := t
	if len(head) > 1<<16 {
		head = head[:1<<16]
	}
	return bytes.Contains(head, []byte("learner"))
}

// Load parses a model file of any supported framework. Unknown content is
// an error wrapping model.ErrUnsupported that says what is supported.
func Load(data []byte) (model.Predictor, error) {
	switch Detect(data) {
	case LightGBM:
		return lightgbm.Load(data)
	case Sklearn:
		return sklearn.Load(data)
	case XGBoost:
		return model.Load(data)
	}
	return nil, fmt.Errorf("%w: not an XGBoost (JSON/UBJSON), LightGBM (text) or scikit-learn (pickle/joblib) model file", model.ErrUnsupported)
}
