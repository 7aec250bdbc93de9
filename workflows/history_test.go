package workflows_test

import (
	"context"
	"testing"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/server/temporaltest"

	"github.com/batchinfer/batchinfer/activities"
	"github.com/batchinfer/batchinfer/workflows"
)

// TestThousandsOfShardsKeepHistorySmall runs BatchPredict on a real
// server with mocked activities planning 2,600 shards: the work is split
// into child workflows and no history comes near Temporal's limits
// (warnings at 10,240 events).
func TestThousandsOfShardsKeepHistorySmall(t *testing.T) {
	if testing.Short() {
		t.Skip("long: 2,600 activities on a real server")
	}
	const shards = 2600
	ts := temporaltest.NewServer(temporaltest.WithT(t))
	c := ts.GetDefaultClient()
	w := worker.New(c, "history-test", worker.Options{MaxConcurrentActivityExecutionSize: 64})
	w.RegisterWorkflow(workflows.BatchPredict)
	w.RegisterWorkflow(workflows.PredictShards)
	reg := func(name string, fn any) { w.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name}) }
	reg("LoadDataset", func(context.Context, activities.LoadDatasetInput) (*activities.LoadDatasetResult, error) {
		return &activities.LoadDatasetResult{Manifest: "m", Shards: shards, RowsTotal: 2 * shards, LabelColumns: []string{"y"}}, nil
	})
	reg("Predict", func(_ context.Context, in activities.PredictInput) (*activities.PredictResult, error) {
		return &activities.PredictResult{Rows: 2, Chunks: 1}, nil
	})
	reg("ComputeStatistics", func(_ context.Context, in activities.ComputeStatisticsInput) (*activities.ComputeStatisticsResult, error) {
		if len(in.Chunks) != shards {
			t.Errorf("ComputeStatistics got %d chunk counts", len(in.Chunks))
		}
		return &activities.ComputeStatisticsResult{DatasetStatistics: "s", Rows: 2 * shards}, nil
	})
	reg("WriteRunManifest", func(context.Context, activities.WriteRunManifestInput) (string, error) { return "run.json", nil })
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()

	run, err := c.ExecuteWorkflow(t.Context(), client.StartWorkflowOptions{TaskQueue: "history-test"}, workflows.BatchPredict,
		workflows.BatchPredictInput{Dataset: []string{"d"}, Model: "m", ArtifactPath: "/a", MaxParallel: 64})
	if err != nil {
		t.Fatal(err)
	}
	var res workflows.BatchPredictResult
	if err := run.Get(t.Context(), &res); err != nil {
		t.Fatal(err)
	}
	if res.Rows != 2*shards {
		t.Fatalf("rows %d", res.Rows)
	}
	count := func(id, runID string) int {
		it := c.GetWorkflowHistory(t.Context(), id, runID, false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		n := 0
		for it.HasNext() {
			if _, err := it.Next(); err != nil {
				t.Fatal(err)
			}
			n++
		}
		return n
	}
	parent := count(run.GetID(), run.GetRunID())
	t.Logf("parent history: %d events for %d shards", parent, shards)
	if parent > 200 {
		t.Errorf("parent history has %d events", parent)
	}
	children := 0
	list, err := c.ListWorkflow(t.Context(), &workflowservice.ListWorkflowExecutionsRequest{
		Namespace: ts.GetDefaultNamespace(), Query: "WorkflowType = 'PredictShards'",
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range list.Executions {
		n := count(e.Execution.WorkflowId, e.Execution.RunId)
		children++
		if n > 4*workflows.ChildShardLimit {
			t.Errorf("child %s has %d events", e.Execution.WorkflowId, n)
		}
	}
	if want := (shards + workflows.ChildShardLimit - 1) / workflows.ChildShardLimit; children != want {
		t.Errorf("%d child workflows, want %d", children, want)
	}
}
