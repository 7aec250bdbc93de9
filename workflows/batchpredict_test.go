package workflows

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/batchinfer/batchinfer/activities"
)

func newEnv(t *testing.T) (*testsuite.TestWorkflowEnvironment, *activities.Activities) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	acts := &activities.Activities{}
	env.RegisterActivity(acts)
	env.RegisterWorkflow(BatchPredict)
	return env, acts
}

func validInput() BatchPredictInput {
	return BatchPredictInput{
		Dataset:      []string{"/data/batch.csv"},
		Model:        "/models/bundle",
		ArtifactPath: "/artifacts",
	}
}

var loaded = &activities.LoadDatasetResult{
	Files:               []activities.DatasetFile{{URI: "/data/batch.csv", Format: "csv", Size: 10}},
	Columns:             []string{"a", "b"},
	Features:            []string{"a", "b"},
	LabelColumns:        []string{"y"},
	Classes:             2,
	ReferenceStatistics: "/artifacts/run/reference_statistics.json",
}

var predicted = &activities.PredictResult{
	Rows: 10, ResultSet: "/artifacts/run/prediction",
	Parts: []string{"/artifacts/run/prediction/part-00000.parquet"}, Columns: []string{"a", "b", "y"},
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

func TestBatchPredictHappyPath(t *testing.T) {
	env, acts := newEnv(t)
	var runDir string
	env.OnActivity(acts.LoadDataset, mock.Anything, mock.MatchedBy(func(in activities.LoadDatasetInput) bool {
		runDir = in.RunDir
		return in.PerformDrift == "auto" && len(in.Datasets) == 1 && strings.HasPrefix(in.RunDir, "/artifacts/") && len(in.RunDir) > len("/artifacts/")
	})).Return(loaded, nil).Once()
	env.OnActivity(acts.Predict, mock.Anything, mock.MatchedBy(func(in activities.PredictInput) bool {
		return in.ResultFormat == "parquet" && in.LabelColumns[0] == "y" &&
			in.ResultSet == runDir+"/prediction"
	})).Return(predicted, nil).Once()
	env.OnActivity(acts.ComputeStatistics, mock.Anything, mock.MatchedBy(func(in activities.ComputeStatisticsInput) bool {
		return in.ReferenceStatistics == loaded.ReferenceStatistics && len(in.Parts) == 1
	})).Return(described, nil).Once()
	env.OnActivity(acts.DriftAnalysis, mock.Anything, mock.MatchedBy(func(in activities.DriftAnalysisInput) bool {
		return in.DriftThreshold == 0.7 && in.PossibleDriftThreshold == 0.5
	})).Return(drifted, nil).Once()
	env.OnActivity(acts.WriteRunManifest, mock.Anything, mock.MatchedBy(func(in activities.WriteRunManifestInput) bool {
		return in.Manifest.Rows == 10 && in.Manifest.DriftStatus && in.Manifest.Artifacts["drift_table_plot"] != ""
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

func TestBatchPredictRetriesTransientFailure(t *testing.T) {
	env, acts := newEnv(t)
	env.OnActivity(acts.LoadDataset, mock.Anything, mock.Anything).Return(loaded, nil)
	env.OnActivity(acts.Predict, mock.Anything, mock.Anything).Return(nil, errors.New("connection reset by peer")).Once()
	env.OnActivity(acts.Predict, mock.Anything, mock.Anything).Return(predicted, nil).Once()
	env.OnActivity(acts.ComputeStatistics, mock.Anything, mock.Anything).Return(described, nil)
	env.OnActivity(acts.DriftAnalysis, mock.Anything, mock.Anything).Return(drifted, nil)
	env.OnActivity(acts.WriteRunManifest, mock.Anything, mock.Anything).Return("/artifacts/run/run.json", nil)

	env.ExecuteWorkflow(BatchPredict, validInput())
	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("want success after a retry, got %v", err)
	}
	env.AssertNumberOfCalls(t, "Predict", 2)
}

func TestBatchPredictRetriesAreBounded(t *testing.T) {
	env, acts := newEnv(t)
	env.OnActivity(acts.LoadDataset, mock.Anything, mock.Anything).Return(loaded, nil)
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
	noRef := *loaded
	noRef.ReferenceStatistics = ""
	noRef.DriftNote = "drift analysis skipped: no reference statistics"
	env.OnActivity(acts.LoadDataset, mock.Anything, mock.Anything).Return(&noRef, nil)
	env.OnActivity(acts.Predict, mock.Anything, mock.Anything).Return(predicted, nil)
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

func TestBatchPredictProgressQuery(t *testing.T) {
	env, acts := newEnv(t)
	env.OnActivity(acts.LoadDataset, mock.Anything, mock.Anything).Return(loaded, nil)
	env.OnActivity(acts.Predict, mock.Anything, mock.Anything).Return(predicted, nil)
	env.OnActivity(acts.ComputeStatistics, mock.Anything, mock.Anything).Return(described, nil)
	env.OnActivity(acts.DriftAnalysis, mock.Anything, mock.Anything).Return(drifted, nil)
	env.OnActivity(acts.WriteRunManifest, mock.Anything, mock.Anything).Return("/artifacts/run/run.json", nil)
	env.ExecuteWorkflow(BatchPredict, validInput())
	v, err := env.QueryWorkflow(QueryProgress)
	if err != nil {
		t.Fatal(err)
	}
	var p Progress
	if err := v.Get(&p); err != nil {
		t.Fatal(err)
	}
	if p.Stage != "done" || p.Rows != 10 {
		t.Errorf("progress %+v", p)
	}
}
