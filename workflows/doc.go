// Package workflows holds the deterministic orchestration of batchinfer:
// BatchPredict composes the activities LoadDataset -> Predict ->
// ComputeStatistics -> DriftAnalysis -> WriteRunManifest. Only URIs and small
// summaries cross the Temporal boundary, never rows.
package workflows
