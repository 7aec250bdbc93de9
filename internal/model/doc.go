// Package model loads trained tree-ensemble models and scores rows with them in
// pure Go.
//
// The package currently reads XGBoost models saved with Booster.save_model as
// JSON (.json) or Universal Binary JSON (.ubj), XGBoost 1.x to 3.x layouts,
// with the gbtree, dart and gblinear boosters. Raw scores (margins) are
// bit-identical to XGBoost's own predictor: inputs are float32, a missing value
// is NaN, numerical splits send x < threshold left, categorical splits send a
// listed category right, and leaf values are added to the float32 base margin
// in float32 one tree at a time in file order. Transformed outputs (sigmoid,
// softmax, exp) agree with XGBoost to within 2 ulp of float32.
//
// Loading never trusts the input: every length is bounded by the bytes that
// remain, trees are checked to be trees (children in range, no cycles, no shared
// nodes) and split features to be below the model's feature count, so a loaded
// Model never indexes out of range. Invalid input yields an error wrapping
// ErrMalformed; a valid model using a feature this package does not implement
// yields an error wrapping ErrUnsupported.
//
// Prediction has two paths with identical results. Plain trees (numeric
// splits, scalar leaves, close to complete) are re-laid out at load time in
// heap order and evaluated 8 rows at a time without branches on the data
// (forest.go); the others (categorical splits, vector leaves, deep sparse
// trees) take the general path (eval.go). Every output adds its trees' leaves
// in file order either way, so results do not depend on the path, the block
// size, the number of goroutines or how rows are split into calls.
//
// Model implements Predictor, the float64 interface the pipeline uses
// (PredictRaw, TransformRaw, ClassesOf), on top of the float32 methods
// PredictMargin, Transform and Classes: float64 inputs are converted to
// float32 as XGBoost converts them and float32 results are widened exactly.
//
// A loaded Model is immutable and safe for concurrent use; prediction writes
// into caller-allocated buffers and does not allocate.
package model
