package activities_test

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/server/temporaltest"

	"github.com/batchinfer/batchinfer/activities"
	"github.com/batchinfer/batchinfer/internal/drift"
	"github.com/batchinfer/batchinfer/internal/scoring"
	"github.com/batchinfer/batchinfer/platform"
	"github.com/batchinfer/batchinfer/workflows"
)

const demoDir = "../examples/demo"

// startServer runs a real Temporal server in-process with a worker on it.
func startServer(t *testing.T) client.Client {
	t.Helper()
	ts := temporaltest.NewServer(temporaltest.WithT(t))
	c := ts.GetDefaultClient()
	_, err := c.OperatorService().AddSearchAttributes(t.Context(), &operatorservice.AddSearchAttributesRequest{
		Namespace:        ts.GetDefaultNamespace(),
		SearchAttributes: workflows.SearchAttributes(),
	})
	if err != nil {
		t.Fatal(err)
	}
	w := platform.NewWorker(c, activities.TaskQueue, activities.New(), worker.Options{})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	return c
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestBadInputFailsAtOnce runs the real workflow and activities on a real
// server: each bad input fails with its non-retryable type on the first
// attempt and a message naming the problem.
func TestBadInputFailsAtOnce(t *testing.T) {
	c := startServer(t)
	dir := t.TempDir()
	model := filepath.Join(demoDir, "model")
	bareModel := filepath.Join(demoDir, "model", "model.json")
	header := "feat_0,feat_1,feat_2,feat_3,feat_4\n"
	good := header + "0.1,2,0.5,3,4\n"
	tests := []struct {
		name    string
		dataset string
		model   string
		modify  func(*workflows.BatchPredictInput)
		errType string
		want    []string
	}{
		{name: "missing dataset", dataset: filepath.Join(dir, "nope.csv"), model: model,
			errType: activities.ErrTypeBadDataset, want: []string{"nope.csv"}},
		{name: "missing model", dataset: writeFile(t, dir, "ok1.csv", good), model: filepath.Join(dir, "no-model.json"),
			errType: activities.ErrTypeBadModel, want: []string{"no-model.json"}},
		{name: "corrupt model", dataset: writeFile(t, dir, "ok2.csv", good), model: writeFile(t, dir, "corrupt.json", `{"learner": {"gradient_booster": [1,2`),
			errType: activities.ErrTypeBadModel, want: []string{"corrupt.json"}},
		{name: "csv row that does not parse", dataset: writeFile(t, dir, "bad.csv", header+strings.Repeat("0.1,2,0.5,3,4\n", 3)+"0.1,2,oops,3,4\n"), model: model,
			errType: activities.ErrTypeBadDataset, want: []string{"bad.csv:5", "feat_2", "oops"}},
		{name: "csv row with too many fields", dataset: writeFile(t, dir, "wide.csv", header+"0.1,2,0.5,3,4\n0.1,2,0.5,3,4,9\n"), model: model,
			errType: activities.ErrTypeBadDataset, want: []string{"wide.csv:3"}},
		{name: "model features absent", dataset: writeFile(t, dir, "missing.csv", "feat_0,feat_1,feat_3\n1,2,3\n"), model: model,
			errType: activities.ErrTypeMissingFeatures, want: []string{"feat_2", "feat_4"}},
		{name: "label column already present", dataset: writeFile(t, dir, "labelled.csv", "feat_0,feat_1,feat_2,feat_3,feat_4,labels\n1,2,3,4,5,1\n"), model: model,
			errType: activities.ErrTypeLabelExists, want: []string{"labels"}},
		{name: "corrupt parquet", dataset: writeFile(t, dir, "corrupt.parquet", "PAR1\x15\x04\x15\x10\x15\x14L\x15\x02\x15\x00\x12\x00\x00garbage\x08\x00\x00\x00PAR1"), model: model,
			errType: activities.ErrTypeBadDataset, want: []string{"corrupt.parquet", "malformed"}},
		{name: "empty dataset", dataset: writeFile(t, dir, "empty.csv", header), model: model,
			errType: activities.ErrTypeEmptyDataset, want: []string{"no rows"}},
		{name: "bad drop column", dataset: writeFile(t, dir, "ok3.csv", good), model: model,
			modify:  func(in *workflows.BatchPredictInput) { in.DropColumns = []string{"nonexistent"} },
			errType: activities.ErrTypeBadParameter, want: []string{"nonexistent"}},
		{name: "unknown categorical column", dataset: writeFile(t, dir, "ok5.csv", good), model: model,
			modify:  func(in *workflows.BatchPredictInput) { in.CategoricalColumns = []string{"feat_4", "nope"} },
			errType: activities.ErrTypeBadParameter, want: []string{"nope", "not a result-set column"}},
		{name: "drift required without reference", dataset: writeFile(t, dir, "ok4.csv", good), model: bareModel,
			modify:  func(in *workflows.BatchPredictInput) { in.PerformDriftAnalysis = "true" },
			errType: activities.ErrTypeNoReference, want: []string{"sample-set-statistics"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := workflows.BatchPredictInput{Dataset: []string{tt.dataset}, Model: tt.model, ArtifactPath: t.TempDir()}
			if tt.modify != nil {
				tt.modify(&in)
			}
			run, err := platform.StartJob(t.Context(), c, activities.TaskQueue, in)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			err = run.Get(t.Context(), nil)
			var appErr *temporal.ApplicationError
			if !errors.As(err, &appErr) {
				t.Fatalf("want an application error, got %v", err)
			}
			if appErr.Type() != tt.errType {
				t.Fatalf("error type %s, want %s: %s", appErr.Type(), tt.errType, appErr.Message())
			}
			for _, w := range tt.want {
				if !strings.Contains(appErr.Message(), w) {
					t.Errorf("message %q does not mention %q", appErr.Message(), w)
				}
			}
			var actErr *temporal.ActivityError
			if !errors.As(err, &actErr) || actErr.RetryState() != enumspb.RETRY_STATE_NON_RETRYABLE_FAILURE {
				t.Errorf("want a non-retryable activity failure, got %v", err)
			}
			t.Logf("%s: failed in %v: %s", tt.name, time.Since(start).Round(time.Millisecond), appErr.Message())
		})
	}
}

// TestBatchPredictOnRealServer runs the demo job on a real in-process
// server and checks the run folder: every artifact present, run.json last.
func TestBatchPredictOnRealServer(t *testing.T) {
	c := startServer(t)
	arts := t.TempDir()
	run, err := platform.StartJob(t.Context(), c, activities.TaskQueue, workflows.BatchPredictInput{
		Dataset:      []string{filepath.Join(demoDir, "batch.csv")},
		Model:        filepath.Join(demoDir, "model"),
		ArtifactPath: arts,
		BatchID:      "it-1",
	})
	if err != nil {
		t.Fatal(err)
	}
	var res workflows.BatchPredictResult
	if err := run.Get(t.Context(), &res); err != nil {
		t.Fatal(err)
	}
	if res.Rows != 10000 || !res.DriftPerformed || res.BatchID != "it-1" || !strings.HasSuffix(run.GetID(), "/it-1") {
		t.Fatalf("result %+v (workflow %s)", res, run.GetID())
	}
	runDir := filepath.Join(arts, res.RunID)
	manifest, err := os.Stat(filepath.Join(runDir, activities.ArtifactRunManifest))
	if err != nil {
		t.Fatal(err)
	}
	err = filepath.Walk(runDir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		if strings.Contains(info.Name(), ".tmp-") {
			t.Errorf("temporary file left: %s", p)
		}
		if info.ModTime().After(manifest.ModTime()) {
			t.Errorf("%s written after run.json", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{activities.ArtifactDatasetStatistics, activities.ArtifactDriftResults,
		activities.ArtifactFeaturesDrift, activities.ArtifactDriftTablePlot, activities.ArtifactReferenceStatistics,
		filepath.Join("prediction", "part-00000-0000.parquet"), activities.ArtifactShardManifest} {
		if _, err := os.Stat(filepath.Join(runDir, name)); err != nil {
			t.Errorf("artifact %s: %v", name, err)
		}
	}
	// The progress query answers after the run too.
	v, err := c.QueryWorkflow(t.Context(), run.GetID(), run.GetRunID(), workflows.QueryProgress)
	if err != nil {
		t.Fatal(err)
	}
	var p workflows.Progress
	if err := v.Get(&p); err != nil || p.Stage != "done" || p.Rows != 10000 {
		t.Errorf("progress %+v, %v", p, err)
	}
}

// A model in MLRun's own format (a folder with model_spec.yaml) is scored
// and its spec.feature_stats serve as the drift reference.
func TestMLRunModelFolderAsReference(t *testing.T) {
	c := startServer(t)
	run, err := platform.StartJob(t.Context(), c, activities.TaskQueue, workflows.BatchPredictInput{
		Dataset:              []string{filepath.Join(demoDir, "batch.csv")},
		Model:                "../internal/bundle/testdata/mlrun-model",
		ArtifactPath:         t.TempDir(),
		PerformDriftAnalysis: "true",
	})
	if err != nil {
		t.Fatal(err)
	}
	var res workflows.BatchPredictResult
	if err := run.Get(t.Context(), &res); err != nil {
		t.Fatal(err)
	}
	if !res.DriftPerformed || res.FeatureStatus["feat_1"] != "DRIFT_DETECTED" || res.FeatureStatus["labels"] == "" {
		t.Fatalf("drift against the MLRun feature_stats: %+v", res)
	}
}

// TestCategoricalColumnsOnRealServer: a bundle registered with feat_4 (an
// integer column, read from CSV as float) declared categorical, and a run
// that also declares its prediction column categorical. feat_4's batch
// statistics are a frequency table, compared with the reference table by
// the categorical drift (drift_extended_results.json); as drift-spec
// section 3 says (MLRun compares histograms only), neither categorical
// column is in features_drift_results.json. The prediction column, whose
// reference (the training labels) is numeric, is reported as of differing
// kinds. Expected values from pandas 1.5.3 / scipy 1.10.1:
//
//	t = train.feat_4.value_counts(); b = batch.feat_4.value_counts()
//	P, Q = t/t.sum(), b/b.sum() over the union of values
//	tvd = 0.5*abs(P-Q).sum(); hellinger = sqrt(1 - sqrt(P*Q).sum())
//	scipy.stats.chi2_contingency([t, b], correction=False)
//
// to 1e-12 (sums of ten terms).
func TestCategoricalColumnsOnRealServer(t *testing.T) {
	c := startServer(t)
	bundleDir := filepath.Join(t.TempDir(), "bundle")
	if _, err := scoring.RegisterModel(t.Context(), scoring.RegisterInput{
		Model:              filepath.Join(demoDir, "model", "model.json"),
		TrainingSet:        []string{filepath.Join(demoDir, "train.csv")},
		LabelColumns:       []string{"labels"},
		CategoricalColumns: []string{"feat_4"},
		To:                 bundleDir,
	}); err != nil {
		t.Fatal(err)
	}
	run, err := platform.StartJob(t.Context(), c, activities.TaskQueue, workflows.BatchPredictInput{
		Dataset:            []string{filepath.Join(demoDir, "batch.csv")},
		Model:              bundleDir,
		ArtifactPath:       t.TempDir(),
		ShardBytes:         100_000, // several shards, whose partials must merge
		CategoricalColumns: []string{"labels"},
	})
	if err != nil {
		t.Fatal(err)
	}
	var res workflows.BatchPredictResult
	if err := run.Get(t.Context(), &res); err != nil {
		t.Fatal(err)
	}
	read := func(key string, v any) {
		t.Helper()
		b, err := os.ReadFile(res.Artifacts[key])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("%s: %v", key, err)
		}
	}

	var ds map[string]struct {
		Hist        any `json:"hist"`
		Frequencies *struct {
			Exact  bool            `json:"exact"`
			Values [][]json.Number `json:"values"`
		} `json:"frequencies"`
	}
	read("dataset_statistics", &ds)
	for name, want := range map[string]string{
		"feat_4": "4:1050 3:1024 1:1018 8:1010 2:1002 5:999 0:988 7:988 9:986 6:935",
		"labels": "0:8848 1:1152", // XGBoost's predicted classes (expected_drift.json)
	} {
		f := ds[name].Frequencies
		if f == nil || ds[name].Hist != nil || !f.Exact {
			t.Fatalf("%s: want an exact frequency table and no hist, got %+v", name, ds[name])
		}
		var got []string
		for _, kv := range f.Values {
			got = append(got, string(kv[0])+":"+string(kv[1]))
		}
		if strings.Join(got, " ") != want {
			t.Errorf("%s table %v, pandas %s", name, got, want)
		}
	}
	if ds["feat_3"].Hist == nil {
		t.Error("feat_3 must keep its histogram")
	}

	var fd map[string]float64
	read("features_drift_results", &fd)
	if len(fd) != 4 || fd["feat_4"] != 0 || fd["labels"] != 0 || fd["feat_1"] == 0 {
		t.Errorf("features_drift_results %v: want feat_0..feat_3 only", fd)
	}
	var ext struct {
		Features map[string]struct {
			Categorical *struct {
				TVD       float64 `json:"tvd"`
				Hellinger float64 `json:"hellinger"`
				LInf      float64 `json:"linf"`
				ChiSquare float64 `json:"chi_square"`
				P         float64 `json:"chi_square_p_value"`
				DoF       int     `json:"chi_square_dof"`
				Unseen    int     `json:"unseen_count"`
				Status    string  `json:"status"`
			} `json:"categorical"`
		} `json:"features"`
	}
	read("drift_extended_results", &ext)
	cat := ext.Features["feat_4"].Categorical
	if cat == nil {
		t.Fatalf("feat_4 has no categorical drift: %+v", ext.Features["feat_4"])
	}
	for _, tc := range []struct {
		k         string
		got, want float64
	}{
		{"tvd", cat.TVD, 0.0162},
		{"hellinger", cat.Hellinger, 0.014612831982113479},
		{"linf", cat.LInf, 0.009599999999999997},
		{"chi_square", cat.ChiSquare, 8.538206486945516},
		{"p", cat.P, 0.4809447448305797},
	} {
		if math.Abs(tc.got-tc.want) > 1e-12 {
			t.Errorf("feat_4 %s = %.17g, want %.17g", tc.k, tc.got, tc.want)
		}
	}
	if cat.DoF != 9 || cat.Unseen != 0 || cat.Status != "NO_DRIFT" {
		t.Errorf("feat_4 categorical drift %+v", cat)
	}
	notes := map[string]string{}
	for _, f := range res.Features {
		notes[f.Name] = f.Note
	}
	if notes["labels"] != drift.NoteKindsDiffer {
		t.Errorf("labels note %q, want %q", notes["labels"], drift.NoteKindsDiffer)
	}
}
