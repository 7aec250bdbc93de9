// Package sklearn loads scikit-learn tree models from pickle and joblib files
// and scores rows with them in pure Go, bit-identically to scikit-learn.
//
// Supported estimators: DecisionTree{Classifier,Regressor},
// ExtraTree{Classifier,Regressor}, RandomForest{Classifier,Regressor},
// ExtraTrees{Classifier,Regressor}, GradientBoosting{Classifier,Regressor}
// (init estimator "zero", DummyClassifier or DummyRegressor) and
// HistGradientBoosting{Classifier,Regressor} (numeric and categorical splits),
// single-output, as written by scikit-learn 1.x (verified against 1.2.1).
// Files are plain pickles (protocols 2 to 5) or joblib dumps, plain or
// compressed with zlib, gzip, bz2, lzma, xz or lz4. Nothing in a file is
// executed: package pickle interprets the opcodes with an allow-list of the
// estimator classes and the numpy and joblib helpers they are made of, and any
// other reference fails the load with model.ErrUnsupported.
//
// Prediction rules, as scikit-learn's:
//   - Trees, forests and GradientBoosting convert each input to float32 and
//     go left iff float64(float32(x)) <= threshold (a float64). Trees written
//     before scikit-learn 1.3 have no missing-value support (scikit-learn
//     rejects NaN input); here NaN then goes right, as the comparison is false.
//     From 1.3 a node's missing_go_to_left decides. HistGradientBoosting
//     compares float64 inputs and sends NaN the learned way; categorical
//     splits send unknown or negative categories the missing-value way.
//   - Tree classifiers: predict_proba = leaf value / sum of the leaf's values
//     (counts before 1.4.1, fractions after). Forests: the mean over trees of
//     these, summed in float64 in tree order from zero and divided by the
//     number of trees. Regressors alike with the leaf value.
//   - GradientBoosting: decision_function = init raw score + sum over stages
//     of float64(learning_rate * leaf); predict_proba by sigmoid (binary) or
//     exp(raw - logsumexp(raw)) (multiclass).
//   - HistGradientBoosting: baseline plus the sum of leaf values;
//     predict_proba by sigmoid or softmax; Poisson and gamma regression
//     predict exp(raw).
//
// Raw scores (PredictRaw) are bit-identical to scikit-learn's; outputs that go
// through exp or log (transforms, and GradientBoosting's initial score from its
// prior) can differ in the last bits because libm implementations differ.
//
// A loaded Model is immutable and safe for concurrent use; prediction writes
// into caller-allocated buffers and does not allocate.
package sklearn
