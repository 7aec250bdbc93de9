package activities

// Names that cross process boundaries. Renaming any of them breaks running
// workflows and recorded histories.
const (
	// TaskQueue is the default task queue of workers and starters.
	TaskQueue = "batchinfer"

	// Error types of non-retryable application errors (ApplicationError.Type).
	ErrTypeBadDataset      = "BadDataset"      // missing, unreadable or unparsable dataset
	ErrTypeEmptyDataset    = "EmptyDataset"    // the dataset has no rows
	ErrTypeBadModel        = "BadModel"        // missing, unreadable or unsupported model
	ErrTypeMissingFeatures = "MissingFeatures" // model features absent from the dataset
	ErrTypeLabelExists     = "LabelColumnExists"
	ErrTypeBadParameter    = "BadParameter" // an invalid job parameter
	ErrTypeNoReference     = "NoReference"  // drift analysis forced but no reference statistics
	ErrTypeBadStatistics   = "BadStatistics"
	ErrTypePanic           = "Panic"        // a bug: the activity panicked
	ErrTypeAccessDenied    = "AccessDenied" // the storage refused the credentials
)

// NonRetryableErrorTypes lists every error type a retry cannot fix.
var NonRetryableErrorTypes = []string{
	ErrTypeBadDataset, ErrTypeEmptyDataset, ErrTypeBadModel, ErrTypeMissingFeatures,
	ErrTypeLabelExists, ErrTypeBadParameter, ErrTypeNoReference, ErrTypeBadStatistics, ErrTypePanic, ErrTypeAccessDenied,
}

// Artifact file names under a run's folder ({artifact_path}/{run_id}/).
const (
	ArtifactReferenceStatistics = "reference_statistics.json"
	ArtifactDatasetStatistics   = "dataset_statistics.json"
	ArtifactDriftResults        = "drift_results.json"
	ArtifactFeaturesDrift       = "features_drift_results.json"
	// ArtifactDriftExtended holds the metrics beyond MLRun's (PSI,
	// Jensen-Shannon, KS, missing-rate change, categorical drift).
	ArtifactDriftExtended  = "drift_extended_results.json"
	ArtifactDriftTablePlot = "drift_table_plot.html"
	ArtifactRunManifest    = "run.json"
	ArtifactShardManifest  = "manifest.json" // the shard plan
)

// LoadDatasetInput is the input of LoadDataset. Fields may be added but never
// renamed or removed (running and recorded workflows carry the old shape).
type LoadDatasetInput struct {
	Datasets     []string // file, folder, prefix, glob or http(s) URIs
	Model        string   // model bundle (folder or bundle.json) or bare model file
	LabelColumns []string // prediction column names; empty -> predicted_label...
	DropColumns  []string // names, or integer positions (0-based) as decimal strings
	// SampleSetStatistics is a JSON file of reference statistics
	// (MLRun's feature_stats shape); it overrides the bundle's.
	SampleSetStatistics string
	PerformDrift        string // "auto" (default), "true" or "false"
	RunDir              string // {artifact_path}/{run_id}: where the manifest and reference copy go
	ShardRows           int64  // Parquet rows per shard (0: default)
	ShardBytes          int64  // CSV/JSON Lines bytes per shard (0: default)
	// CategoricalColumns names result-set columns declared categorical for
	// this run (frequency tables instead of histograms); each must be a
	// dataset column kept after DropColumns or a classifier's prediction
	// column. See LoadDatasetResult.CategoricalColumns for the precedence.
	CategoricalColumns []string
}

// LoadDatasetResult describes the validated, planned job. Fields may be
// added but never renamed or removed.
type LoadDatasetResult struct {
	Manifest     string   // URI of the shard plan (manifest.json) in the run folder
	Shards       int      // number of shards in the plan
	Files        int      // number of input files
	RowsTotal    int64    // rows in the dataset when known from the plan, else -1
	Columns      []string // dataset columns after drop_columns, in order
	Features     []string // model input features, in model order
	LabelColumns []string // resolved prediction column names
	Classes      int      // 0 regression, 2 binary, K multiclass
	Objective    string
	Framework    string
	// ReferenceStatistics is the URI of the reference statistics copied
	// into the run folder, or "" when drift analysis is skipped.
	ReferenceStatistics string
	DriftNote           string // why drift analysis is skipped, when it is
	// CategoricalColumns are the result-set columns declared categorical,
	// in result-set order: those of LoadDatasetInput.CategoricalColumns
	// plus the model bundle's categorical_columns. Predict also describes
	// as categorical every column the reference statistics describe so; a
	// column is numeric only when none of the three says categorical.
	CategoricalColumns []string
}

// PredictInput scores one shard of the manifest. Fields may be added but
// never renamed or removed.
type PredictInput struct {
	Manifest     string // manifest URI (from LoadDataset)
	Shard        int    // shard index in the manifest
	Model        string
	LabelColumns []string
	DropColumns  []string
	PredictProba bool
	ResultSet    string // result set folder URI; chunks go to part-SSSSS-CCCC.{format}
	ResultFormat string // parquet (default) or csv
	// ReferenceStatistics gives the histogram edges of the partial
	// statistics computed in the same pass ("" = own edges).
	ReferenceStatistics string
	Partials            string // folder URI of the partial statistics files
	ChunkRows           int64  // rows per chunk (the unit of resumption); 0: default
	// CategoricalColumns names the result-set columns described as
	// categorical besides those the reference describes so
	// (LoadDatasetResult.CategoricalColumns); the same for every shard.
	CategoricalColumns []string
}

// PredictResult summarises one shard. Fields may be added but never
// renamed or removed.
type PredictResult struct {
	Rows   int64
	Chunks int // chunk parts written: part-SSSSS-0000 .. part-SSSSS-{Chunks-1}
}

// ComputeStatisticsInput is the input of ComputeStatistics. Fields may be
// added but never renamed or removed.
type ComputeStatisticsInput struct {
	Partials string // folder URI of the partial statistics files
	Chunks   []int  // chunks per shard, in shard order
	Output   string // URI of dataset_statistics.json
}

// ComputeStatisticsResult is the output of ComputeStatistics. Fields may be
// added but never renamed or removed.
type ComputeStatisticsResult struct {
	DatasetStatistics string // URI
	Rows              int64
	Columns           int
}

// DriftAnalysisInput is the input of DriftAnalysis. Fields may be added but
// never renamed or removed.
type DriftAnalysisInput struct {
	DatasetStatistics      string
	ReferenceStatistics    string
	DriftThreshold         float64
	PossibleDriftThreshold float64
	BatchID                string
	RunDir                 string
	Job                    string // for the drift metric per job
}

// FeatureDrift is one feature's drift summary.
type FeatureDrift struct {
	Name      string  `json:"name"`
	Compared  bool    `json:"compared"`
	TVD       float64 `json:"tvd"`
	Hellinger float64 `json:"hellinger"`
	KLD       float64 `json:"kld"`
	Value     float64 `json:"drift_value"`
	Status    string  `json:"status,omitempty"`
	Note      string  `json:"note,omitempty"`
}

// DriftAnalysisResult is the output of DriftAnalysis. Fields may be added
// but never renamed or removed.
type DriftAnalysisResult struct {
	DriftResults         string  // URI
	FeaturesDriftResults string  // URI
	DriftTablePlot       string  // URI
	DriftExtended        string  // URI of the metrics beyond MLRun's
	DriftedShare         float64 // share of assessed features with DRIFT_DETECTED
	DriftStatus          bool
	DriftMetric          float64
	Features             []FeatureDrift
}

// RunManifest is run.json, written last: a run folder without it is
// incomplete. Fields may be added but never renamed or removed.
type RunManifest struct {
	RunID          string            `json:"run_id"`
	WorkflowID     string            `json:"workflow_id"`
	BatchID        string            `json:"batch_id"`
	Rows           int64             `json:"rows"`
	ResultSet      string            `json:"result_set"`
	ResultParts    []string          `json:"result_parts"` // filled by WriteRunManifest
	Shards         int               `json:"shards"`
	Artifacts      map[string]string `json:"artifacts"`
	DriftPerformed bool              `json:"drift_performed"`
	DriftNote      string            `json:"drift_note,omitempty"`
	DriftStatus    bool              `json:"drift_status"`
	DriftMetric    float64           `json:"drift_metric"`
	FeatureStatus  map[string]string `json:"feature_status,omitempty"`
	Dataset        []string          `json:"dataset"`
	Model          string            `json:"model"`
	Job            string            `json:"job,omitempty"`
	ScheduledTime  string            `json:"scheduled_time,omitempty"`
	StartedAt      string            `json:"started_at"`
	FinishedAt     string            `json:"finished_at"`
}

// WriteRunManifestInput is the input of WriteRunManifest: the manifest
// less its part list, which the activity derives from ResultSet,
// ResultFormat and Chunks (so thousands of part URIs never cross the
// Temporal boundary).
type WriteRunManifestInput struct {
	RunDir       string
	Manifest     RunManifest
	ResultFormat string
	Chunks       []int
}
