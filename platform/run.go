package platform

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"

	"github.com/batchinfer/batchinfer/activities"
	"github.com/batchinfer/batchinfer/workflows"
)

// DefaultJob names the job of runs started without --job.
const DefaultJob = "adhoc"

// WorkflowIDPrefix starts every BatchPredict workflow ID.
const WorkflowIDPrefix = "batchpredict/"

// RunTimeout bounds a whole run, all retries included.
const RunTimeout = 24 * time.Hour

// NewWorker returns a worker on taskQueue with the workflows and activities
// registered; the caller starts and stops it.
func NewWorker(c client.Client, taskQueue string, acts *activities.Activities, opts worker.Options) worker.Worker {
	w := worker.New(c, taskQueue, opts)
	workflows.Register(w, acts)
	return w
}

// WorkflowID returns the business workflow ID of a job's run:
// batchpredict/<job>/<batch id>, or batchpredict/<job>/<UTC timestamp>
// without a batch ID; job defaults to "adhoc".
func WorkflowID(job, batchID string, now time.Time) string {
	if job == "" {
		job = DefaultJob
	}
	if batchID != "" {
		return WorkflowIDPrefix + job + "/" + batchID
	}
	return WorkflowIDPrefix + job + "/" + now.UTC().Format("20060102T150405.000Z")
}

// ScheduleWorkflowID is the workflow ID of a schedule's action:
// batchpredict/<schedule id>. Temporal appends "-<scheduled time>" to it
// for each run, e.g. batchpredict/nightly-2026-11-25T00:00:00Z.
func ScheduleWorkflowID(scheduleID string) string { return WorkflowIDPrefix + scheduleID }

// JobSummary is the one-line static summary shown for a run in the Web UI.
func JobSummary(in workflows.BatchPredictInput) string {
	ds := "no dataset"
	switch len(in.Dataset) {
	case 0:
	case 1:
		ds = in.Dataset[0]
	default:
		ds = fmt.Sprintf("%s (+%d more)", in.Dataset[0], len(in.Dataset)-1)
	}
	job := in.Job
	if job == "" {
		job = DefaultJob
	}
	return fmt.Sprintf("%s: score %s with %s", job, ds, in.Model)
}

// JobDetails is the static Markdown details shown for a run in the Web UI:
// the job's parameters.
func JobDetails(in workflows.BatchPredictInput) string {
	var b strings.Builder
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(&b, "| %s | `%s` |\n", k, strings.ReplaceAll(v, "|", `\|`))
		}
	}
	b.WriteString("| parameter | value |\n|---|---|\n")
	job := in.Job
	if job == "" {
		job = DefaultJob
	}
	row("job", job)
	row("model", in.Model)
	for i, d := range in.Dataset {
		row(fmt.Sprintf("dataset[%d]", i), d)
	}
	row("artifact path", in.ArtifactPath)
	row("result set", in.ResultSet+" ("+in.ResultFormat+")")
	row("label columns", strings.Join(in.LabelColumns, ", "))
	row("drop columns", strings.Join(in.DropColumns, ", "))
	row("sample set statistics", in.SampleSetStatistics)
	row("perform drift analysis", in.PerformDriftAnalysis)
	row("drift thresholds", fmt.Sprintf("possible %g, detected %g", in.PossibleDriftThreshold, in.DriftThreshold))
	row("batch id", in.BatchID)
	return b.String()
}

// jobSearchAttributes are the attributes known when a run starts; the
// workflow upserts the others (stage, drift, rows) as it goes.
func jobSearchAttributes(in workflows.BatchPredictInput) temporal.SearchAttributes {
	job := in.Job
	if job == "" {
		job = DefaultJob
	}
	return temporal.NewSearchAttributes(
		temporal.NewSearchAttributeKeyKeyword(workflows.SearchAttrJob).ValueSet(job),
		temporal.NewSearchAttributeKeyKeyword(workflows.SearchAttrModel).ValueSet(in.Model),
	)
}

// StartJob starts a BatchPredict workflow with its business ID, the static
// summary and details of the Web UI, and the job and model search
// attributes.
func StartJob(ctx context.Context, c client.Client, taskQueue string, in workflows.BatchPredictInput) (client.WorkflowRun, error) {
	opts := client.StartWorkflowOptions{
		ID:                       WorkflowID(in.Job, in.BatchID, time.Now()),
		TaskQueue:                taskQueue,
		WorkflowExecutionTimeout: RunTimeout,
		StaticSummary:            JobSummary(in),
		StaticDetails:            JobDetails(in),
		TypedSearchAttributes:    jobSearchAttributes(in),
	}
	run, err := c.ExecuteWorkflow(ctx, opts, workflows.BatchPredict, in)
	if err != nil {
		return nil, fmt.Errorf("starting workflow %s: %w", opts.ID, HintSearchAttributes(err))
	}
	return run, nil
}

// HintSearchAttributes adds the fix to the error a cluster returns for a
// search attribute it does not know: run `starter setup`.
func HintSearchAttributes(err error) error {
	if err == nil {
		return nil
	}
	var invalid *serviceerror.InvalidArgument
	if errors.As(err, &invalid) && strings.Contains(strings.ToLower(invalid.Error()), "search attribute") {
		return fmt.Errorf("%w (register batchinfer's search attributes on this namespace first: starter setup --address ... --namespace ...)", err)
	}
	return err
}
