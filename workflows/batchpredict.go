package workflows

import (
	"fmt"
	"path"
	"strings"
	"text/template"
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
	// ChunkRows is the number of rows per result-set chunk, the unit a
	// retried shard resumes from; 0 means the default (262,144).
	ChunkRows int64
	// HeartbeatTimeout is how long a Predict may go without a heartbeat
	// before Temporal retries it elsewhere (a worker that died); 0 means
	// DefaultHeartbeatTimeout.
	HeartbeatTimeout time.Duration
	// CategoricalColumns names result-set columns (dataset columns kept
	// after DropColumns, or a classifier's prediction column) whose
	// statistics are frequency tables instead of histograms, e.g. integer
	// codes. A column is categorical when this list, the model bundle's
	// categorical_columns or the reference statistics (categorical stats
	// for it) say so; nothing forces a column numeric. Categorical columns
	// drift by the categorical comparison (drift_extended_results.json),
	// not in MLRun's drift_results/features_drift_results, which compare
	// histograms only. Empty: the bundle and reference decide.
	CategoricalColumns []string
}

// DefaultHeartbeatTimeout bounds how long a dead worker's shard waits
// before it is retried on another worker.
const DefaultHeartbeatTimeout = 2 * time.Minute

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
	if in.ChunkRows < 0 || in.ShardRows < 0 || in.ShardBytes < 0 || in.MaxParallel < 0 || in.HeartbeatTimeout < 0 {
		return fmt.Errorf("shard rows, shard bytes, chunk rows, max parallel and heartbeat timeout must not be negative")
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

// ChildShardLimit is the most shards one workflow predicts itself; larger
// plans are split into PredictShards child workflows of at most this many
// shards each, which keeps every history far below Temporal's limits (about
// three events per shard).
const ChildShardLimit = 500

// SlotLayout formats a scheduled slot in artifact prefixes (UTC).
const SlotLayout = "20060102T150405Z"

// scheduledStartKey is the search attribute Temporal Schedules set on the
// runs they start: the slot's nominal time.
var scheduledStartKey = temporal.NewSearchAttributeKeyTime("TemporalScheduledStartTime")

// Typed keys of the custom search attributes.
var (
	saJob           = temporal.NewSearchAttributeKeyKeyword(SearchAttrJob)
	saModel         = temporal.NewSearchAttributeKeyKeyword(SearchAttrModel)
	saStage         = temporal.NewSearchAttributeKeyKeyword(SearchAttrStage)
	saDriftDetected = temporal.NewSearchAttributeKeyBool(SearchAttrDriftDetected)
	saDriftMetric   = temporal.NewSearchAttributeKeyFloat64(SearchAttrDriftMetric)
	saRows          = temporal.NewSearchAttributeKeyInt64(SearchAttrRows)
)

// templateData is what dataset URI templates see: {{ .ScheduledTime }}
// (the slot of a scheduled run, else the workflow's start time, UTC) and
// {{ .Job }}.
type templateData struct {
	ScheduledTime time.Time
	Job           string
}

// expandTemplates renders Go templates in dataset URIs. Pure and
// deterministic.
func expandTemplates(uris []string, data templateData) ([]string, error) {
	out := make([]string, len(uris))
	for i, u := range uris {
		if !strings.Contains(u, "{{") {
			out[i] = u
			continue
		}
		t, err := template.New("dataset").Option("missingkey=error").Parse(u)
		if err != nil {
			return nil, fmt.Errorf("dataset template %q: %w", u, err)
		}
		var b strings.Builder
		if err := t.Execute(&b, data); err != nil {
			return nil, fmt.Errorf("dataset template %q: %w", u, err)
		}
		out[i] = b.String()
	}
	return out, nil
}

// run holds one BatchPredict execution's state.
type run struct {
	ctx       workflow.Context
	in        BatchPredictInput
	progress  Progress
	publishSA bool // custom search attributes are registered (set at start)
	started   time.Time
}

func (r *run) stage(s string) {
	r.progress.Stage = s
	r.publish()
}

// publish updates the current details and, when registered, the search
// attributes. Called at stage changes and as shards finish.
func (r *run) publish() {
	p := r.progress
	details := fmt.Sprintf("**%s**\n\nrows scored: %d", p.Stage, p.Rows)
	if p.RowsTotal >= 0 {
		details += fmt.Sprintf(" of %d", p.RowsTotal)
	}
	if p.ShardsTotal > 0 {
		details += fmt.Sprintf("\n\nshards done: %d of %d", p.ShardsDone, p.ShardsTotal)
	}
	if p.ETA != "" {
		details += "\n\nETA: " + p.ETA
	}
	workflow.SetCurrentDetails(r.ctx, details)
	if r.publishSA {
		_ = workflow.UpsertTypedSearchAttributes(r.ctx, saStage.ValueSet(p.Stage), saRows.ValueSet(p.Rows))
	}
}

// shardDone accounts one predicted shard and re-estimates the ETA.
func (r *run) shardDone(rows int64) {
	r.progress.ShardsDone++
	r.progress.Rows += rows
	now := workflow.Now(r.ctx)
	elapsed := now.Sub(r.started)
	if r.progress.ShardsTotal > 0 && r.progress.ShardsDone > 0 && elapsed > 0 {
		frac := float64(r.progress.ShardsDone) / float64(r.progress.ShardsTotal)
		if r.progress.RowsTotal > 0 {
			frac = float64(r.progress.Rows) / float64(r.progress.RowsTotal)
		}
		if frac > 0 && frac <= 1 {
			remaining := time.Duration(float64(elapsed) * (1 - frac) / frac)
			r.progress.ETA = now.Add(remaining).UTC().Format(time.RFC3339)
		}
	}
	r.publish()
}

// BatchPredict scores a dataset with a model, computes the result set's
// statistics and compares them with the model's reference statistics.
//
// LoadDataset validates the job and plans shards; Predict runs per shard
// with at most MaxParallel in flight (child workflows past ChildShardLimit
// shards), writing result-set chunks and partial statistics under
// deterministic keys; ComputeStatistics merges the partials; DriftAnalysis
// compares with the reference; run.json is written last. Artifacts go
// under {ArtifactPath}/{run_id}/, or {ArtifactPath}/{Job}/{slot}/ for a
// scheduled run so that re-running a slot reproduces it.
func BatchPredict(ctx workflow.Context, in BatchPredictInput) (*BatchPredictResult, error) {
	if err := in.normalize(); err != nil {
		return nil, temporal.NewNonRetryableApplicationError(err.Error(), activities.ErrTypeBadParameter, nil)
	}
	info := workflow.GetInfo(ctx)
	runID := info.WorkflowExecution.RunID
	if in.BatchID == "" {
		in.BatchID = info.WorkflowExecution.ID
	}
	sa := workflow.GetTypedSearchAttributes(ctx)
	slot, scheduled := sa.GetTime(scheduledStartKey)
	if !scheduled {
		slot = info.WorkflowStartTime
	}
	slot = slot.UTC()
	// text/template is deterministic for this data (a struct with a time
	// and a string; no maps ranged over), which workflowcheck cannot see.
	datasets, err := expandTemplates(in.Dataset, templateData{ScheduledTime: slot, Job: in.Job}) //workflowcheck:ignore
	if err != nil {
		return nil, temporal.NewNonRetryableApplicationError(err.Error(), activities.ErrTypeBadParameter, nil)
	}
	runDir := joinURI(in.ArtifactPath, runID)
	if scheduled && in.Job != "" {
		runDir = joinURI(joinURI(in.ArtifactPath, in.Job), slot.Format(SlotLayout))
	}
	_, publishSA := sa.GetKeyword(saJob)
	r := &run{ctx: ctx, in: in, publishSA: publishSA, started: workflow.Now(ctx)}
	r.progress = Progress{Stage: StageLoading, RowsTotal: -1, StartedAt: r.started.UTC().Format(time.RFC3339)}
	if err := workflow.SetQueryHandler(ctx, QueryProgress, func() (Progress, error) { return r.progress, nil }); err != nil {
		return nil, err
	}
	if publishSA {
		_ = workflow.UpsertTypedSearchAttributes(ctx, saModel.ValueSet(in.Model))
	}
	r.publish()
	var a *activities.Activities

	var loaded activities.LoadDatasetResult
	opts := activityOptions(10*time.Minute, time.Minute)
	opts.Summary = "Load and plan the dataset"
	err = workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, opts),
		a.LoadDataset, activities.LoadDatasetInput{
			Datasets:            datasets,
			Model:               in.Model,
			LabelColumns:        in.LabelColumns,
			DropColumns:         in.DropColumns,
			SampleSetStatistics: in.SampleSetStatistics,
			PerformDrift:        in.PerformDriftAnalysis,
			RunDir:              runDir,
			ShardRows:           in.ShardRows,
			ShardBytes:          in.ShardBytes,
			CategoricalColumns:  in.CategoricalColumns,
		}).Get(ctx, &loaded)
	if err != nil {
		return nil, err
	}

	r.progress.ShardsTotal = loaded.Shards
	r.progress.RowsTotal = loaded.RowsTotal
	r.stage(StagePredicting)
	tmpl := activities.PredictInput{
		Manifest:            loaded.Manifest,
		Model:               in.Model,
		LabelColumns:        loaded.LabelColumns,
		DropColumns:         in.DropColumns,
		PredictProba:        in.PredictProba,
		ResultSet:           joinURI(runDir, in.ResultSet),
		ResultFormat:        in.ResultFormat,
		ReferenceStatistics: loaded.ReferenceStatistics,
		Partials:            joinURI(runDir, "_partials"),
		ChunkRows:           in.ChunkRows,
		CategoricalColumns:  loaded.CategoricalColumns,
	}
	chunks, err := r.predictAll(tmpl, loaded.Shards)
	if err != nil {
		return nil, err
	}

	r.stage(StageStatistics)
	var statsRes activities.ComputeStatisticsResult
	opts = activityOptions(2*time.Hour, 2*time.Minute)
	opts.Summary = fmt.Sprintf("Merge the statistics of %d shards", loaded.Shards)
	err = workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, opts),
		a.ComputeStatistics, activities.ComputeStatisticsInput{
			Partials: tmpl.Partials,
			Chunks:   chunks,
			Output:   joinURI(runDir, activities.ArtifactDatasetStatistics),
		}).Get(ctx, &statsRes)
	if err != nil {
		return nil, err
	}

	res := &BatchPredictResult{
		RunID:         runID,
		BatchID:       in.BatchID,
		Rows:          r.progress.Rows,
		ResultSet:     tmpl.ResultSet,
		Artifacts:     map[string]string{"dataset_statistics": statsRes.DatasetStatistics},
		DriftNote:     loaded.DriftNote,
		FeatureStatus: map[string]string{},
	}
	if loaded.ReferenceStatistics != "" {
		r.stage(StageDrift)
		var drift activities.DriftAnalysisResult
		opts = activityOptions(30*time.Minute, 0)
		opts.Summary = "Compare with the reference statistics"
		err = workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, opts),
			a.DriftAnalysis, activities.DriftAnalysisInput{
				DatasetStatistics:      statsRes.DatasetStatistics,
				ReferenceStatistics:    loaded.ReferenceStatistics,
				DriftThreshold:         in.DriftThreshold,
				PossibleDriftThreshold: in.PossibleDriftThreshold,
				BatchID:                in.BatchID,
				RunDir:                 runDir,
				Job:                    in.Job,
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
		if publishSA {
			_ = workflow.UpsertTypedSearchAttributes(ctx, saDriftDetected.ValueSet(drift.DriftStatus), saDriftMetric.ValueSet(drift.DriftMetric))
		}
	}

	r.stage(StageManifest)
	manifest := activities.RunManifest{
		RunID:          runID,
		WorkflowID:     info.WorkflowExecution.ID,
		BatchID:        in.BatchID,
		Rows:           res.Rows,
		ResultSet:      res.ResultSet,
		Shards:         loaded.Shards,
		Artifacts:      res.Artifacts,
		DriftPerformed: res.DriftPerformed,
		DriftNote:      res.DriftNote,
		DriftStatus:    res.DriftStatus,
		DriftMetric:    res.DriftMetric,
		FeatureStatus:  res.FeatureStatus,
		Dataset:        datasets,
		Model:          in.Model,
		Job:            in.Job,
		StartedAt:      r.started.UTC().Format(time.RFC3339Nano),
		FinishedAt:     workflow.Now(ctx).UTC().Format(time.RFC3339Nano),
	}
	if scheduled {
		manifest.ScheduledTime = slot.Format(time.RFC3339)
	}
	opts = activityOptions(5*time.Minute, 0)
	opts.Summary = "Write run.json"
	err = workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, opts),
		a.WriteRunManifest, activities.WriteRunManifestInput{
			RunDir: runDir, Manifest: manifest, ResultFormat: in.ResultFormat, Chunks: chunks,
		}).Get(ctx, &res.RunManifest)
	if err != nil {
		return nil, err
	}
	artifacts := map[string]string{"result_set": res.ResultSet, "run_manifest": res.RunManifest}
	// Copying map into map gives the same map in any order.
	//workflowcheck:ignore
	for k, v := range res.Artifacts {
		artifacts[k] = v
	}
	// The memo stays small (Temporal warns above 2 KB): the full result,
	// per-feature drift included, is the workflow's result and run.json.
	summary := MemoRunSummary{Rows: res.Rows, BatchID: res.BatchID, DriftPerformed: res.DriftPerformed,
		DriftStatus: res.DriftStatus, DriftMetric: res.DriftMetric}
	if err := workflow.UpsertMemo(ctx, map[string]any{MemoArtifacts: artifacts, MemoSummary: summary}); err != nil {
		return nil, err
	}
	r.stage(StageDone)
	return res, nil
}

// predictAll predicts every shard, itself or through child workflows, and
// returns the chunk count of each shard.
func (r *run) predictAll(tmpl activities.PredictInput, shards int) ([]int, error) {
	if shards <= ChildShardLimit {
		return predictRange(r.ctx, tmpl, 0, shards, r.in.MaxParallel, shards, r.in.HeartbeatTimeout, r.shardDone)
	}
	chunks := make([]int, 0, shards)
	info := workflow.GetInfo(r.ctx)
	for lo := 0; lo < shards; lo += ChildShardLimit {
		hi := min(lo+ChildShardLimit, shards)
		var out PredictShardsResult
		cctx := workflow.WithChildOptions(r.ctx, workflow.ChildWorkflowOptions{
			WorkflowID:    fmt.Sprintf("%s/shards-%05d-%05d", info.WorkflowExecution.ID, lo, hi-1),
			StaticSummary: fmt.Sprintf("Predict shards %d-%d of %d", lo+1, hi, shards),
		})
		err := workflow.ExecuteChildWorkflow(cctx, PredictShards, PredictShardsInput{
			Predict: tmpl, Lo: lo, Hi: hi, Total: shards, MaxParallel: r.in.MaxParallel,
			HeartbeatTimeout: r.in.HeartbeatTimeout,
		}).Get(r.ctx, &out)
		if err != nil {
			return nil, err
		}
		chunks = append(chunks, out.Chunks...)
		r.progress.ShardsDone += hi - lo - 1
		r.shardDone(out.Rows)
	}
	return chunks, nil
}

// PredictShardsInput is a range of shards for a child workflow. Fields may
// be added but never renamed or removed.
type PredictShardsInput struct {
	Predict     activities.PredictInput // template; Shard is set per shard
	Lo, Hi      int                     // shard range [Lo, Hi)
	Total       int                     // shards in the whole plan (for summaries)
	MaxParallel int
	// HeartbeatTimeout of each Predict (0: DefaultHeartbeatTimeout).
	HeartbeatTimeout time.Duration
}

// PredictShardsResult is a child's output. Fields may be added but never
// renamed or removed.
type PredictShardsResult struct {
	Rows   int64
	Chunks []int // chunks per shard, Lo..Hi-1
}

// PredictShards predicts the shards [Lo, Hi) of a plan with at most
// MaxParallel in flight: the child workflow BatchPredict uses past
// ChildShardLimit shards.
func PredictShards(ctx workflow.Context, in PredictShardsInput) (*PredictShardsResult, error) {
	res := &PredictShardsResult{}
	chunks, err := predictRange(ctx, in.Predict, in.Lo, in.Hi, in.MaxParallel, in.Total, in.HeartbeatTimeout, func(rows int64) { res.Rows += rows })
	if err != nil {
		return nil, err
	}
	res.Chunks = chunks
	return res, nil
}

// predictRange runs Predict on shards [lo, hi) keeping at most maxParallel
// in flight, starting the next as each finishes; done is called per shard
// with its rows. It returns the chunk counts in shard order; the first
// failure (after the activity's own retries) fails the range.
func predictRange(ctx workflow.Context, tmpl activities.PredictInput, lo, hi, maxParallel, total int, heartbeat time.Duration, done func(rows int64)) ([]int, error) {
	if maxParallel <= 0 {
		maxParallel = DefaultMaxParallel
	}
	var a *activities.Activities
	chunks := make([]int, hi-lo)
	sel := workflow.NewSelector(ctx)
	var firstErr error
	inFlight := 0
	next := lo
	start := func(i int) {
		in := tmpl
		in.Shard = i
		if heartbeat <= 0 {
			heartbeat = DefaultHeartbeatTimeout
		}
		opts := activityOptions(6*time.Hour, heartbeat)
		opts.Summary = fmt.Sprintf("Predict shard %d/%d", i+1, total)
		f := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, opts), a.Predict, in)
		inFlight++
		sel.AddFuture(f, func(f workflow.Future) {
			inFlight--
			var out activities.PredictResult
			if err := f.Get(ctx, &out); err != nil {
				if firstErr == nil {
					firstErr = err
				}
				return
			}
			chunks[i-lo] = out.Chunks
			done(out.Rows)
		})
	}
	for next < hi && inFlight < maxParallel {
		start(next)
		next++
	}
	for inFlight > 0 {
		sel.Select(ctx)
		if firstErr != nil {
			break
		}
		if next < hi {
			start(next)
			next++
		}
	}
	if firstErr != nil {
		return nil, firstErr
	}
	return chunks, nil
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
