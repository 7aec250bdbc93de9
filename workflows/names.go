package workflows

import (
	enumspb "go.temporal.io/api/enums/v1"
)

// Custom search attributes BatchPredict upserts at stage changes, so runs
// can be filtered in the Web UI and by `starter list`. The embedded dev
// server registers them at start; `starter setup` registers them on a
// cluster. Renaming one breaks saved queries.
const (
	SearchAttrJob           = "BatchinferJob"           // Keyword: the job name (schedule ID or --job)
	SearchAttrModel         = "BatchinferModel"         // Keyword: the model URI
	SearchAttrStage         = "BatchinferStage"         // Keyword: current stage (see Progress.Stage)
	SearchAttrDriftDetected = "BatchinferDriftDetected" // Bool: drift_status
	SearchAttrDriftMetric   = "BatchinferDriftMetric"   // Double: drift_metric
	SearchAttrRows          = "BatchinferRows"          // Int: rows scored
)

// SearchAttributes lists the custom search attributes with their types.
func SearchAttributes() map[string]enumspb.IndexedValueType {
	return map[string]enumspb.IndexedValueType{
		SearchAttrJob:           enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		SearchAttrModel:         enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		SearchAttrStage:         enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		SearchAttrDriftDetected: enumspb.INDEXED_VALUE_TYPE_BOOL,
		SearchAttrDriftMetric:   enumspb.INDEXED_VALUE_TYPE_DOUBLE,
		SearchAttrRows:          enumspb.INDEXED_VALUE_TYPE_INT,
	}
}

// Memo keys set when a run ends: MemoArtifacts holds map[string]string of
// artifact name -> URI (result_set, dataset_statistics, drift_results,
// features_drift_results, drift_table_plot, drift_extended_results,
// run_manifest); MemoSummary holds a MemoRunSummary.
const (
	MemoArtifacts = "artifacts"
	MemoSummary   = "summary"
)

// Stages reported by the progress query and the BatchinferStage attribute.
const (
	StageLoading    = "loading dataset"
	StagePredicting = "predicting"
	StageStatistics = "computing statistics"
	StageDrift      = "analysing drift"
	StageManifest   = "writing run manifest"
	StageDone       = "done"
)

// MemoRunSummary is the run summary kept in the memo. Fields may be added
// but never renamed or removed.
type MemoRunSummary struct {
	Rows           int64   `json:"rows"`
	BatchID        string  `json:"batch_id"`
	DriftPerformed bool    `json:"drift_performed"`
	DriftStatus    bool    `json:"drift_status"`
	DriftMetric    float64 `json:"drift_metric"`
}
