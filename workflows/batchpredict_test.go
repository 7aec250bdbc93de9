package workflows

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/batchinfer/batchinfer/activities"
)

func newEnv(t *testing.T) (*testsuite.TestWorkflowEnvironment, *activities.Activities) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	// The default 1 s deadlock detector trips on a loaded 2-core machine
	// under -race; determinism is what it guards, not speed.
	env.SetWorkerOptions(worker.Options{DeadlockDetectionTimeout: time.Minute})
	acts := &activities.Activities{}
	env.RegisterActivity(acts)
	env.RegisterWorkflow(BatchPredict)
	env.RegisterWorkflow(PredictShards)
	return env, acts
}

func validInput() BatchPredictInput {
	return BatchPredictInput{
		Dataset:      []string{"/data/batch.csv"},
		Model:        "/models/bundle",
		ArtifactPath: "/artifacts",
	}
}

func loadedWith(shards int) *activities.LoadDatasetResult {
	return &activities.LoadDatasetResult{
		Manifest:            "/artifacts/run/manifest.json",
		Shards:              shards,
		Files:               1,
		RowsTotal:           int64(10 * shards),
		Columns:             []string{"a", "b"},
		Features:            []string{"a", "b"},
		LabelColumns:        []string{"y"},
		Classes:             2,
		ReferenceStatistics: "/artifacts/run/reference_statistics.json",
	}
}

var described = &activities.ComputeStatisticsResult{DatasetStatistics: "/artifacts/run/dataset_statistics.json", Rows: 10, Columns: 3}

var drifted = &activities.DriftAnalysisResult{
	DriftResults: "/artifacts/run/drift_results.json", FeaturesDriftResults: "/artifacts/run/features_drift_results.json",
	DriftTablePlot: "/artifacts/run/drift_table_plot.html", DriftStatus: true, DriftMetric: 0.75,
	Features: []activities.FeatureDrift{
		{Name: "a", Compared: true, TVD: 0.8, Hellinger: 0.8, Value: 0.8, Status: "DRIFT_DETECTED"},
		{Name: "b", Compared: true, TVD: 0.7, Hellinger: 0.7, Value: 0.7, Status: "DRIFT_DETECTED"},
		{Name: "extra", Note: "no reference statistics"},
	},
}

// mockRest mocks ComputeStatistics, DriftAnalysis and WriteRunManifest.
func mockRest(env *testsuite.TestWorkflowEnvironment, acts *activities.Activities) {
	env.OnActivity(acts.ComputeStatistics, mock.Anything, mock.Anything).Return(described, nil)
	env.OnActivity(acts.DriftAnalysis, mock.Anything, mock.Anything).Return(drifted, nil)
	env.OnActivity(acts.WriteRunManifest, mock.Anything, mock.Anything).Return("/artifacts/run/run.json", nil)
}

func TestBatchPredictHappyPath(t *testing.T) {
	env, acts := newEnv(t)
	var runDir string
	env.OnActivity(acts.LoadDataset, mock.Anything, mock.MatchedBy(func(in activities.LoadDatasetInput) bool {
		runDir = in.RunDir
		return in.PerformDrift == "auto" && len(in.Datasets) == 1 && strings.HasPrefix(in.RunDir, "/artifacts/") && len(in.RunDir) > len("/artifacts/")
	})).Return(loadedWith(1), nil).Once()
	env.OnActivity(acts.Predict, mock.Anything, mock.MatchedBy(func(in activities.PredictInput) bool {
		return in.ResultFormat == "parquet" && in.LabelColumns[0] == "y" && in.Shard == 0 &&
			in.ResultSet == runDir+"/prediction" && in.Partials == runDir+"/_partials" &&
			in.Manifest == "/artifacts/run/manifest.json" && in.ReferenceStatistics != ""
	})).Return(&activities.PredictResult{Rows: 10, Chunks: 1}, nil).Once()
	env.OnActivity(acts.ComputeStatistics, mock.Anything, mock.MatchedBy(func(in activities.ComputeStatisticsInput) bool {
		return len(in.Chunks) == 1 && in.Chunks[0] == 1 && in.Output == runDir+"/dataset_statistics.json"
	})).Return(described, nil).Once()
	env.OnActivity(acts.DriftAnalysis, mock.Anything, mock.MatchedBy(func(in activities.DriftAnalysisInput) bool {
		return in.DriftThreshold == 0.7 && in.PossibleDriftThreshold == 0.5
	})).Return(drifted, nil).Once()
	env.OnActivity(acts.WriteRunManifest, mock.Anything, mock.MatchedBy(func(in activities.WriteRunManifestInput) bool {
		return in.Manifest.Rows == 10 && in.Manifest.DriftStatus && in.Manifest.Artifacts["drift_table_plot"] != "" &&
			len(in.Chunks) == 1 && in.Manifest.Shards == 1
	})).Return("/artifacts/run/run.json", nil).Once()

	env.ExecuteWorkflow(BatchPredict, validInput())
	if !env.IsWorkflowCompleted() {
		t.Fatal("workflow did not complete")
	}
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var res BatchPredictResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if res.Rows != 10 || !res.DriftPerformed || !res.DriftStatus || res.DriftMetric != 0.75 {
		t.Errorf("result %+v", res)
	}
	if len(res.FeatureStatus) != 2 || res.FeatureStatus["a"] != "DRIFT_DETECTED" {
		t.Errorf("feature status %v (want only compared features)", res.FeatureStatus)
	}
	if res.RunManifest != "/artifacts/run/run.json" || len(res.Artifacts) != 4 {
		t.Errorf("artifacts %v, manifest %s", res.Artifacts, res.RunManifest)
	}
	if res.BatchID == "" {
		t.Error("batch id defaults to the workflow id")
	}
	env.AssertExpectations(t)
}

func TestBatchPredictFansOutWithinBound(t *testing.T) {
	env, acts := newEnv(t)
	const shards, maxParallel = 40, 3
	env.OnActivity(acts.LoadDataset, mock.Anything, mock.Anything).Return(loadedWith(shards), nil)
	var mu sync.Mutex
	inFlight, peak := 0, 0
	seen := map[int]bool{}
	env.OnActivity(acts.Predict, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.PredictInput) (*activities.PredictResult, error) {
			mu.Lock()
			inFlight++
			peak = max(peak, inFlight)
			seen[in.Shard] = true
			mu.Unlock()
			defer func() { mu.Lock(); inFlight--; mu.Unlock() }()
			return &activities.PredictResult{Rows: 10, Chunks: 1 + in.Shard%3}, nil
		})
	var gotChunks []int
	env.OnActivity(acts.ComputeStatistics, mock.Anything, mock.MatchedBy(func(in activities.ComputeStatisticsInput) bool {
		gotChunks = in.Chunks
		return true
	})).Return(described, nil)
	env.OnActivity(acts.DriftAnalysis, mock.Anything, mock.Anything).Return(drifted, nil)
	env.OnActivity(acts.WriteRunManifest, mock.Anything, mock.Anything).Return("/artifacts/run/run.json", nil)

	in := validInput()
	in.MaxParallel = maxParallel
	env.ExecuteWorkflow(BatchPredict, in)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if len(seen) != shards || peak > maxParallel {
		t.Errorf("predicted %d shards with %d in flight at most (bound %d)", len(seen), peak, maxParallel)
	}
	if len(gotChunks) != shards || gotChunks[4] != 2 {
		t.Errorf("chunks %v: want per-shard counts in shard order", gotChunks)
	}
	var res BatchPredictResult
	_ = env.GetWorkflowResult(&res)
	if res.Rows != 10*shards {
		t.Errorf("rows %d", res.Rows)
	}
}

// The run's categorical columns go to LoadDataset, and the columns it
// resolves (run's plus bundle's) go to every Predict, unchanged, so that
// all shards describe each column with the same kind.
func TestBatchPredictPassesCategoricalColumns(t *testing.T) {
	env, acts := newEnv(t)
	const shards = 5
	loaded := loadedWith(shards)
	loaded.CategoricalColumns = []string{"a", "y"}
	env.OnActivity(acts.LoadDataset, mock.Anything, mock.MatchedBy(func(in activities.LoadDatasetInput) bool {
		return slices.Equal(in.CategoricalColumns, []string{"a"})
	})).Return(loaded, nil).Once()
	var mu sync.Mutex
	got := map[int][]string{}
	env.OnActivity(acts.Predict, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.PredictInput) (*activities.PredictResult, error) {
			mu.Lock()
			got[in.Shard] = in.CategoricalColumns
			mu.Unlock()
			return &activities.PredictResult{Rows: 10, Chunks: 1}, nil
		})
	mockRest(env, acts)
	in := validInput()
	in.CategoricalColumns = []string{"a"}
	env.ExecuteWorkflow(BatchPredict, in)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if len(got) != shards {
		t.Fatalf("predicted %d shards", len(got))
	}
	for shard, cols := range got {
		if !slices.Equal(cols, []string{"a", "y"}) {
			t.Errorf("shard %d: categorical columns %v, want the resolved [a y]", shard, cols)
		}
	}
}

func TestBatchPredictUsesChildWorkflowsPastLimit(t *testing.T) {
	env, acts := newEnv(t)
	shards := 2*ChildShardLimit + 7
	env.OnActivity(acts.LoadDataset, mock.Anything, mock.Anything).Return(loadedWith(shards), nil)
	env.OnActivity(acts.Predict, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.PredictInput) (*activities.PredictResult, error) {
			return &activities.PredictResult{Rows: 1, Chunks: 1}, nil
		})
	var chunks []int
	env.OnActivity(acts.ComputeStatistics, mock.Anything, mock.MatchedBy(func(in activities.ComputeStatisticsInput) bool {
		chunks = in.Chunks
		return true
	})).Return(described, nil)
	env.OnActivity(acts.DriftAnalysis, mock.Anything, mock.Anything).Return(drifted, nil)
	env.OnActivity(acts.WriteRunManifest, mock.Anything, mock.Anything).Return("/artifacts/run/run.json", nil)
	var children []string
	env.SetOnChildWorkflowStartedListener(func(info *workflow.Info, _ workflow.Context, _ converter.EncodedValues) {
		children = append(children, info.WorkflowExecution.ID)
	})
	in := validInput()
	in.MaxParallel = 50
	env.ExecuteWorkflow(BatchPredict, in)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if len(children) != 3 {
		t.Errorf("child workflows %v, want 3 of at most %d shards", children, ChildShardLimit)
	}
	if len(chunks) != shards {
		t.Errorf("chunk counts for %d shards, want %d", len(chunks), shards)
	}
	var res BatchPredictResult
	_ = env.GetWorkflowResult(&res)
	if res.Rows != int64(shards) {
		t.Errorf("rows %d, want %d", res.Rows, shards)
	}
}

func TestBatchPredictRetriesTransientFailure(t *testing.T) {
	env, acts := newEnv(t)
	env.OnActivity(acts.LoadDataset, mock.Anything, mock.Anything).Return(loadedWith(1), nil)
	env.OnActivity(acts.Predict, mock.Anything, mock.Anything).Return(nil, errors.New("connection reset by peer")).Once()
	env.OnActivity(acts.Predict, mock.Anything, mock.Anything).Return(&activities.PredictResult{Rows: 10, Chunks: 1}, nil).Once()
	mockRest(env, acts)

	env.ExecuteWorkflow(BatchPredict, validInput())
	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("want success after a retry, got %v", err)
	}
	env.AssertNumberOfCalls(t, "Predict", 2)
}

func TestBatchPredictRetriesAreBounded(t *testing.T) {
	env, acts := newEnv(t)
	env.OnActivity(acts.LoadDataset, mock.Anything, mock.Anything).Return(loadedWith(1), nil)
	env.OnActivity(acts.Predict, mock.Anything, mock.Anything).Return(nil, errors.New("disk on fire"))

	env.ExecuteWorkflow(BatchPredict, validInput())
	if env.GetWorkflowError() == nil {
		t.Fatal("want failure")
	}
	env.AssertNumberOfCalls(t, "Predict", 5)
}

func TestBatchPredictFailsAtOnceOnBadInput(t *testing.T) {
	for _, typ := range activities.NonRetryableErrorTypes {
		t.Run(typ, func(t *testing.T) {
			env, acts := newEnv(t)
			env.OnActivity(acts.LoadDataset, mock.Anything, mock.Anything).
				Return(nil, temporal.NewNonRetryableApplicationError("bad input", typ, nil))
			env.ExecuteWorkflow(BatchPredict, validInput())
			err := env.GetWorkflowError()
			var appErr *temporal.ApplicationError
			if !errors.As(err, &appErr) || appErr.Type() != typ {
				t.Fatalf("want application error of type %s, got %v", typ, err)
			}
			env.AssertNumberOfCalls(t, "LoadDataset", 1)
			env.AssertNotCalled(t, "Predict", mock.Anything, mock.Anything)
		})
	}
}

// A plain (retryable) error of a type listed as non-retryable in the
// policy must not be retried either: the list guards activities that
// forget to mark an error.
func TestBatchPredictPolicyListsNonRetryableTypes(t *testing.T) {
	env, acts := newEnv(t)
	env.OnActivity(acts.LoadDataset, mock.Anything, mock.Anything).
		Return(nil, temporal.NewApplicationError("missing features", activities.ErrTypeMissingFeatures))
	env.ExecuteWorkflow(BatchPredict, validInput())
	if env.GetWorkflowError() == nil {
		t.Fatal("want failure")
	}
	env.AssertNumberOfCalls(t, "LoadDataset", 1)
}

func TestBatchPredictSkipsDriftWithoutReference(t *testing.T) {
	env, acts := newEnv(t)
	noRef := loadedWith(1)
	noRef.ReferenceStatistics = ""
	noRef.DriftNote = "drift analysis skipped: no reference statistics"
	env.OnActivity(acts.LoadDataset, mock.Anything, mock.Anything).Return(noRef, nil)
	env.OnActivity(acts.Predict, mock.Anything, mock.Anything).Return(&activities.PredictResult{Rows: 10, Chunks: 1}, nil)
	env.OnActivity(acts.ComputeStatistics, mock.Anything, mock.Anything).Return(described, nil)
	env.OnActivity(acts.WriteRunManifest, mock.Anything, mock.Anything).Return("/artifacts/run/run.json", nil)

	env.ExecuteWorkflow(BatchPredict, validInput())
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var res BatchPredictResult
	_ = env.GetWorkflowResult(&res)
	if res.DriftPerformed || res.DriftNote == "" || res.Artifacts["dataset_statistics"] == "" {
		t.Errorf("result %+v", res)
	}
	env.AssertNotCalled(t, "DriftAnalysis", mock.Anything, mock.Anything)
}

func TestBatchPredictRejectsBadParameters(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*BatchPredictInput)
	}{
		{"no dataset", func(in *BatchPredictInput) { in.Dataset = nil }},
		{"no model", func(in *BatchPredictInput) { in.Model = "" }},
		{"bad format", func(in *BatchPredictInput) { in.ResultFormat = "xlsx" }},
		{"bad drift mode", func(in *BatchPredictInput) { in.PerformDriftAnalysis = "maybe" }},
		{"thresholds inverted", func(in *BatchPredictInput) { in.DriftThreshold, in.PossibleDriftThreshold = 0.3, 0.6 }},
		{"result set with slash", func(in *BatchPredictInput) { in.ResultSet = "../x" }},
		{"bad template", func(in *BatchPredictInput) { in.Dataset = []string{"s3://b/{{ .Nope }}/"} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, _ := newEnv(t)
			in := validInput()
			tt.modify(&in)
			env.ExecuteWorkflow(BatchPredict, in)
			var appErr *temporal.ApplicationError
			if err := env.GetWorkflowError(); !errors.As(err, &appErr) || appErr.Type() != activities.ErrTypeBadParameter {
				t.Fatalf("want %s, got %v", activities.ErrTypeBadParameter, err)
			}
		})
	}
}

// A scheduled run expands the slot into dataset templates and writes under
// {artifact_path}/{job}/{slot}/, and publishes its search attributes.
func TestBatchPredictScheduledSlot(t *testing.T) {
	env, acts := newEnv(t)
	slot := time.Date(2026, 11, 25, 6, 0, 0, 0, time.UTC)
	// The test environment applies start search attributes to child
	// workflows only, so a parent starts BatchPredict as a schedule would.
	parent := func(ctx workflow.Context, in BatchPredictInput) (*BatchPredictResult, error) {
		ctx = workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
			TypedSearchAttributes: temporal.NewSearchAttributes(
				scheduledStartKey.ValueSet(slot),
				saJob.ValueSet("nightly"),
			),
		})
		var res BatchPredictResult
		err := workflow.ExecuteChildWorkflow(ctx, BatchPredict, in).Get(ctx, &res)
		return &res, err
	}
	env.RegisterWorkflowWithOptions(parent, workflow.RegisterOptions{Name: "scheduleParent"})
	var load activities.LoadDatasetInput
	env.OnActivity(acts.LoadDataset, mock.Anything, mock.MatchedBy(func(in activities.LoadDatasetInput) bool {
		load = in
		return true
	})).Return(loadedWith(1), nil)
	env.OnActivity(acts.Predict, mock.Anything, mock.Anything).Return(&activities.PredictResult{Rows: 10, Chunks: 1}, nil)
	mockRest(env, acts)
	var upserted []string
	env.OnUpsertTypedSearchAttributes(mock.MatchedBy(func(sa temporal.SearchAttributes) bool {
		for k := range sa.GetUntypedValues() {
			upserted = append(upserted, k.GetName())
		}
		return true
	})).Return(nil)

	in := validInput()
	in.Job = "nightly"
	in.Dataset = []string{`s3://bucket/events/date={{ .ScheduledTime.Format "2006-01-02" }}/`}
	env.ExecuteWorkflow("scheduleParent", in)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if load.Datasets[0] != "s3://bucket/events/date=2026-11-25/" {
		t.Errorf("template expanded to %q", load.Datasets[0])
	}
	if load.RunDir != "/artifacts/nightly/20261125T060000Z" {
		t.Errorf("run dir %q, want the slot's prefix", load.RunDir)
	}
	joined := strings.Join(upserted, ",")
	for _, name := range []string{SearchAttrModel, SearchAttrStage, SearchAttrRows, SearchAttrDriftDetected, SearchAttrDriftMetric} {
		if !strings.Contains(joined, name) {
			t.Errorf("search attribute %s not upserted (got %s)", name, joined)
		}
	}
}

func TestBatchPredictProgressQuery(t *testing.T) {
	env, acts := newEnv(t)
	env.OnActivity(acts.LoadDataset, mock.Anything, mock.Anything).Return(loadedWith(4), nil)
	env.OnActivity(acts.Predict, mock.Anything, mock.Anything).Return(&activities.PredictResult{Rows: 10, Chunks: 1}, nil)
	mockRest(env, acts)
	env.ExecuteWorkflow(BatchPredict, validInput())
	v, err := env.QueryWorkflow(QueryProgress)
	if err != nil {
		t.Fatal(err)
	}
	var p Progress
	if err := v.Get(&p); err != nil {
		t.Fatal(err)
	}
	if p.Stage != StageDone || p.Rows != 40 || p.RowsTotal != 40 || p.ShardsDone != 4 || p.ShardsTotal != 4 || p.StartedAt == "" {
		t.Errorf("progress %+v", p)
	}
}
