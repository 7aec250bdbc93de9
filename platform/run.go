package platform

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/batchinfer/batchinfer/activities"
	"github.com/batchinfer/batchinfer/workflows"
)

// NewWorker returns a worker on taskQueue with the workflows and activities
// registered; the caller starts and stops it.
func NewWorker(c client.Client, taskQueue string, acts *activities.Activities, opts worker.Options) worker.Worker {
	w := worker.New(c, taskQueue, opts)
	workflows.Register(w, acts)
	return w
}

// WorkflowID returns the business workflow ID of a job:
// batchpredict/<batch id>, or batchpredict/<UTC timestamp> without one.
func WorkflowID(batchID string, now time.Time) string {
	if batchID != "" {
		return "batchpredict/" + batchID
	}
	return "batchpredict/" + now.UTC().Format("20060102T150405.000Z")
}

// StartJob starts a BatchPredict workflow.
func StartJob(ctx context.Context, c client.Client, taskQueue string, in workflows.BatchPredictInput) (client.WorkflowRun, error) {
	opts := client.StartWorkflowOptions{
		ID:        WorkflowID(in.BatchID, time.Now()),
		TaskQueue: taskQueue,
		// A whole run, all retries included, is bounded.
		WorkflowExecutionTimeout: 24 * time.Hour,
		StaticSummary:            fmt.Sprintf("Batch predict %v with %s", in.Dataset, in.Model),
	}
	run, err := c.ExecuteWorkflow(ctx, opts, workflows.BatchPredict, in)
	if err != nil {
		return nil, fmt.Errorf("starting workflow %s: %w", opts.ID, err)
	}
	return run, nil
}
