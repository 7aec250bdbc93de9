package workflows

import (
	"fmt"
	"path"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/batchinfer/batchinfer/activities"
)

// Defaults of BatchPredictInput, MLRun's.
const (
	DefaultResultSet              = "prediction"
	DefaultResultFormat           = "parquet"
	DefaultDriftThreshold         = 0.7
	DefaultPossibleDriftThreshold = 0.5
	// QueryProgress names the query handler returning a Progress.
	QueryProgress = "progress"
)

// BatchPredictInput is a batch inference job; its parameters mirror MLRun's
// batch_inference. Fields may be added but never renamed or removed.
type BatchPredictInput struct {
	Dataset      []string // file, folder or http(s) URIs (an inline sample is written to a file first)
	Model        string   // model bundle or bare model file URI
	LabelColumns []string // prediction columns; default predicted_label (predicted_label_0..k for several outputs)
	DropColumns  []string // names or 0-based positions, dropped before prediction
	ResultSet    string   // result set name; default "prediction"
	ResultFormat string   // "parquet" (default) or "csv"
	// ArtifactPath is the artifact store root (an absolute local path or
	// file:// URI); artifacts go under {ArtifactPath}/{run_id}/.
	ArtifactPath           string
	SampleSetStatistics    string  // reference statistics URI overriding the model's
	DriftThreshold         float64 // default 0.7 (0 means default)
	PossibleDriftThreshold float64 // default 0.5 (0 means default)
	PerformDriftAnalysis   string  // "auto" (default), "true", "false"
	BatchID                string  // default: the workflow ID
	PredictProba           bool    // add <label>_proba_<class> columns for classifiers
	// Job names a recurring job (the schedule ID for scheduled runs); it
	// goes to the BatchinferJob search attribute and, for scheduled runs,
	// into the artifact prefix {ArtifactPath}/{Job}/{slot}/.
	Job string
	// ShardRows and ShardBytes bound a shard (a unit of Predict work):
	// Parquet shards are whole row groups up to ShardRows rows; CSV and
	// JSON Lines shards are byte ranges up to ShardBytes cut at record
	// boundaries. 0 means the defaults (DefaultShardRows, DefaultShardBytes).
	ShardRows  int64
	ShardBytes int64
	// MaxParallel bounds the shards being predicted at once; default
	// DefaultMaxParallel.
	MaxParallel int
}

// Sharding defaults.
const (
	DefaultShardRows   = 1 << 20  // rows per Parquet shard
	DefaultShardBytes  = 64 << 20 // bytes per CSV / JSON Lines shard
	DefaultMaxParallel = 8        // shards in flight
)

// BatchPredictResult is the run's summary. Fields may be added but never
// renamed or removed.
type BatchPredictResult struct {
	RunID          string                    `json:"run_id"`
	BatchID        string                    `json:"batch_id"`
	Rows           int64                     `json:"rows"`
	ResultSet      string                    `json:"result_set"`
	Artifacts      map[string]string         `json:"artifacts"`
	DriftPerformed bool                      `json:"drift_performed"`
	DriftNote      string                    `json:"drift_note,omitempty"`
	DriftStatus    bool                      `json:"drift_status"`
	DriftMetric    float64                   `json:"drift_metric"`
	FeatureStatus  map[string]string         `json:"feature_status"`
	Features       []activities.FeatureDrift `json:"features,omitempty"`
	RunManifest    string                    `json:"run_manifest"`
}

// Progress is what the progress query returns. Fields may be added but
// never renamed or removed.
type Progress struct {
	Stage       string `json:"stage"`         // one of the Stage* constants
	Rows        int64  `json:"rows"`          // rows scored so far
	RowsTotal   int64  `json:"rows_total"`    // rows in the dataset, -1 while unknown (CSV/JSON Lines before scoring)
	ShardsDone  int    `json:"shards_done"`   // shards predicted
	ShardsTotal int    `json:"shards_total"`  // shards planned, 0 before planning
	StartedAt   string `json:"started_at"`    // RFC 3339, workflow time
	ETA         string `json:"eta,omitempty"` // RFC 3339 estimate of the end of predicting, when known
}

// Activity options: explicit timeouts and a bounded retry policy; bad input
// fails at once through the non-retryable error types.
func activityOptions(startToClose, heartbeat time.Duration) workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout: startToClose,
		HeartbeatTimeout:    heartbeat,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        time.Minute,
			MaximumAttempts:        5,
			NonRetryableErrorTypes: activities.NonRetryableErrorTypes,
		},
	}
}

// normalize fills defaults and rejects invalid parameters. It is pure, so
// the workflow may call it.
func (in *BatchPredictInput) normalize() error {
	if len(in.Dataset) == 0 {
		return fmt.Errorf("no dataset given")
	}
	if in.Model == "" {
		return fmt.Errorf("no model given")
	}
	if in.ArtifactPath == "" {
		return fmt.Errorf("no artifact path given")
	}
	if in.ResultSet == "" {
		in.ResultSet = DefaultResultSet
	}
	if strings.ContainsAny(in.ResultSet, `/\`) || in.ResultSet == "." || in.ResultSet == ".." {
		return fmt.Errorf("result set name %q must be a plain name", in.ResultSet)
	}
	switch in.ResultFormat {
	case "":
		in.ResultFormat = DefaultResultFormat
	case "parquet", "csv":
	default:
		return fmt.Errorf("result format %q: want parquet or csv", in.ResultFormat)
	}
	switch in.PerformDriftAnalysis {
	case "":
		in.PerformDriftAnalysis = "auto"
	case "auto", "true", "false":
	default:
		return fmt.Errorf("perform drift analysis %q: want auto, true or false", in.PerformDriftAnalysis)
	}
	if in.DriftThreshold == 0 {
		in.DriftThreshold = DefaultDriftThreshold
	}
	if in.PossibleDriftThreshold == 0 {
		in.PossibleDriftThreshold = DefaultPossibleDriftThreshold
	}
	if in.DriftThreshold < 0 || in.PossibleDriftThreshold < 0 || in.PossibleDriftThreshold > in.DriftThreshold {
		return fmt.Errorf("thresholds: want 0 <= possible drift threshold (%g) <= drift threshold (%g)",
			in.PossibleDriftThreshold, in.DriftThreshold)
	}
	return nil
}

// BatchPredict scores a dataset with a model, computes the result set's
// statistics and compares them with the model's reference statistics.
// Artifacts go under {ArtifactPath}/{run_id}/ with run.json written last.
func BatchPredict(ctx workflow.Context, in BatchPredictInput) (*BatchPredictResult, error) {
	if err := in.normalize(); err != nil {
		return nil, temporal.NewNonRetryableApplicationError(err.Error(), activities.ErrTypeBadParameter, nil)
	}
	info := workflow.GetInfo(ctx)
	runID := info.WorkflowExecution.RunID
	if in.BatchID == "" {
		in.BatchID = info.WorkflowExecution.ID
	}
	runDir := joinURI(in.ArtifactPath, runID)
	started := workflow.Now(ctx)

	progress := Progress{Stage: "loading dataset"}
	if err := workflow.SetQueryHandler(ctx, QueryProgress, func() (Progress, error) { return progress, nil }); err != nil {
		return nil, err
	}
	var a *activities.Activities

	var loaded activities.LoadDatasetResult
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, activityOptions(10*time.Minute, 0)),
		a.LoadDataset, activities.LoadDatasetInput{
			Datasets:            in.Dataset,
			Model:               in.Model,
			LabelColumns:        in.LabelColumns,
			DropColumns:         in.DropColumns,
			SampleSetStatistics: in.SampleSetStatistics,
			PerformDrift:        in.PerformDriftAnalysis,
			RunDir:              runDir,
		}).Get(ctx, &loaded)
	if err != nil {
		return nil, err
	}

	progress.Stage = "predicting"
	var predicted activities.PredictResult
	err = workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, activityOptions(6*time.Hour, 2*time.Minute)),
		a.Predict, activities.PredictInput{
			Files:        loaded.Files,
			Model:        in.Model,
			LabelColumns: loaded.LabelColumns,
			DropColumns:  in.DropColumns,
			PredictProba: in.PredictProba,
			ResultSet:    joinURI(runDir, in.ResultSet),
			ResultFormat: in.ResultFormat,
		}).Get(ctx, &predicted)
	if err != nil {
		return nil, err
	}
	progress.Rows = predicted.Rows

	progress.Stage = "computing statistics"
	var statsRes activities.ComputeStatisticsResult
	err = workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, activityOptions(2*time.Hour, 2*time.Minute)),
		a.ComputeStatistics, activities.ComputeStatisticsInput{
			Parts:               predicted.Parts,
			ResultFormat:        in.ResultFormat,
			ReferenceStatistics: loaded.ReferenceStatistics,
			Output:              joinURI(runDir, activities.ArtifactDatasetStatistics),
		}).Get(ctx, &statsRes)
	if err != nil {
		return nil, err
	}

	res := &BatchPredictResult{
		RunID:         runID,
		BatchID:       in.BatchID,
		Rows:          predicted.Rows,
		ResultSet:     predicted.ResultSet,
		Artifacts:     map[string]string{"dataset_statistics": statsRes.DatasetStatistics},
		DriftNote:     loaded.DriftNote,
		FeatureStatus: map[string]string{},
	}
	if loaded.ReferenceStatistics != "" {
		progress.Stage = "analysing drift"
		var drift activities.DriftAnalysisResult
		err = workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, activityOptions(30*time.Minute, 0)),
			a.DriftAnalysis, activities.DriftAnalysisInput{
				DatasetStatistics:      statsRes.DatasetStatistics,
				ReferenceStatistics:    loaded.ReferenceStatistics,
				DriftThreshold:         in.DriftThreshold,
				PossibleDriftThreshold: in.PossibleDriftThreshold,
				BatchID:                in.BatchID,
				RunDir:                 runDir,
			}).Get(ctx, &drift)
		if err != nil {
			return nil, err
		}
		res.DriftPerformed = true
		res.DriftStatus = drift.DriftStatus
		res.DriftMetric = drift.DriftMetric
		res.Features = drift.Features
		res.Artifacts["drift_results"] = drift.DriftResults
		res.Artifacts["features_drift_results"] = drift.FeaturesDriftResults
		res.Artifacts["drift_table_plot"] = drift.DriftTablePlot
		if drift.DriftExtended != "" {
			res.Artifacts["drift_extended_results"] = drift.DriftExtended
		}
		for _, f := range drift.Features {
			if f.Compared {
				res.FeatureStatus[f.Name] = f.Status
			}
		}
	}

	progress.Stage = "writing run manifest"
	manifest := activities.RunManifest{
		RunID:          runID,
		WorkflowID:     info.WorkflowExecution.ID,
		BatchID:        in.BatchID,
		Rows:           res.Rows,
		ResultSet:      res.ResultSet,
		ResultParts:    predicted.Parts,
		Artifacts:      res.Artifacts,
		DriftPerformed: res.DriftPerformed,
		DriftNote:      res.DriftNote,
		DriftStatus:    res.DriftStatus,
		DriftMetric:    res.DriftMetric,
		FeatureStatus:  res.FeatureStatus,
		Dataset:        in.Dataset,
		Model:          in.Model,
		StartedAt:      started.UTC().Format(time.RFC3339Nano),
		FinishedAt:     workflow.Now(ctx).UTC().Format(time.RFC3339Nano),
	}
	err = workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, activityOptions(5*time.Minute, 0)),
		a.WriteRunManifest, activities.WriteRunManifestInput{RunDir: runDir, Manifest: manifest}).Get(ctx, &res.RunManifest)
	if err != nil {
		return nil, err
	}
	progress.Stage = "done"
	return res, nil
}

// joinURI appends a path element to a local path or URI with "/".
func joinURI(base, elem string) string {
	if strings.Contains(base, "://") {
		return strings.TrimRight(base, "/") + "/" + elem
	}
	return path.Join(base, elem)
}

// Validate fills BatchPredictInput's defaults and rejects invalid
// parameters, as the workflow will; starters call it to fail before starting.
func Validate(in *BatchPredictInput) error { return in.normalize() }
