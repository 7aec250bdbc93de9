// Package bundle reads and writes model bundles: a folder holding the model
// file and bundle.json, a spec with the framework, format, input features,
// output (label) names, the columns declared categorical
// (categorical_columns) and the reference statistics (feature_stats, MLRun's
// shape) of every training column, label included. A bare model file is also
// accepted; it then has no reference statistics.
package bundle
