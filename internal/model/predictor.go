package model

// Predictor is what every model engine (XGBoost here, LightGBM in
// internal/model/lightgbm, scikit-learn in internal/model/sklearn) offers the
// pipeline. Inputs and outputs are float64 so that each library's exact
// arithmetic fits: XGBoost casts inputs to float32 and produces float32
// margins (widened exactly to float64 here); LightGBM reads float64 inputs
// and sums in float64; scikit-learn casts inputs to float32 and accumulates
// in float64.
//
// All methods are safe for concurrent use on disjoint buffers, do not
// allocate per row, and give results that do not depend on how rows are
// split into calls.
type Predictor interface {
	// Info describes the model.
	Info() Info
	// PredictRaw writes rows x Info().NumOutputs raw scores (margins),
	// row-major, into out for x, a row-major rows x Info().NumFeatures
	// matrix in which NaN means missing.
	PredictRaw(x []float64, rows int, out []float64)
	// TransformRaw turns raw scores into the library's default prediction
	// (rows x Info().PredColumns); out may alias raw when PredColumns ==
	// NumOutputs.
	TransformRaw(raw []float64, rows int, out []float64)
	// ClassesOf writes the predicted class index of each row from
	// transformed predictions, as the library's classifier predict does.
	// Only for Info().NumClasses > 0.
	ClassesOf(pred []float64, rows int, out []int32)
}
