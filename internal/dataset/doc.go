// Package dataset reads the input data of a batch-inference run (CSV with a
// header row, Parquet, JSON Lines; from local files and folders, s3://
// objects and prefixes, globs in the last path segment (data/*.csv,
// s3://bucket/events/*.parquet), http(s) URLs; or an inline sample given on
// the command line) into Apache Arrow record batches, and writes result
// sets back out as Parquet or CSV. [PlanShards] splits files into shards
// (Parquet row groups, CSV/JSON Lines byte ranges cut at record boundaries)
// and [OpenShard] reads one with ranged reads only.
//
// The columns it hands out are always one of Float64, Int64, Boolean or
// String (utf8), all nullable, so downstream code (model scoring, statistics,
// drift) has a small, fixed set of types to handle. [Float64s] turns a
// numeric or boolean column into float64 values with nulls as NaN.
//
// The usual flow is [Resolve] (expand URIs and folders into [File] values),
// then [OpenAll] (one [Reader] streaming every file under one schema).
// Errors carry sentinels ([ErrNotFound], [ErrEmpty], [ErrUnsupportedFormat],
// [ErrSchemaMismatch], [ErrMalformed], ...) for callers that branch, and a
// [*ParseError] for a bad record, with its file, line and column.
package dataset
