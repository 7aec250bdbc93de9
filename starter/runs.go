package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/batchinfer/batchinfer/platform"
	"github.com/batchinfer/batchinfer/workflows"
)

// runView is one run as list and status print it.
type runView struct {
	WorkflowID    string              `json:"workflow_id"`
	RunID         string              `json:"run_id"`
	Status        string              `json:"status"`
	StartTime     time.Time           `json:"start_time"`
	CloseTime     *time.Time          `json:"close_time,omitempty"`
	Job           string              `json:"job,omitempty"`
	Model         string              `json:"model,omitempty"`
	Stage         string              `json:"stage,omitempty"`
	Rows          *int64              `json:"rows,omitempty"`
	DriftDetected *bool               `json:"drift_detected,omitempty"`
	DriftMetric   *float64            `json:"drift_metric,omitempty"`
	ScheduledAt   *time.Time          `json:"scheduled_time,omitempty"`
	Summary       string              `json:"summary,omitempty"`
	Progress      *workflows.Progress `json:"progress,omitempty"`
	Artifacts     map[string]string   `json:"artifacts,omitempty"`
	Failure       string              `json:"failure,omitempty"`
	Pending       []string            `json:"pending_activities,omitempty"`
}

// statusName is Temporal's execution status without the enum prefix
// ("Running", "Completed", "Failed", ...).
func statusName(s enumspb.WorkflowExecutionStatus) string {
	n := strings.TrimPrefix(s.String(), "WORKFLOW_EXECUTION_STATUS_")
	n = strings.ReplaceAll(strings.ToLower(n), "_", " ")
	if n == "" {
		return n
	}
	return strings.ToUpper(n[:1]) + n[1:]
}

func decodePayload(p *commonpb.Payload, v any) bool {
	return p != nil && converter.GetDefaultDataConverter().FromPayload(p, v) == nil
}

// viewOf reads a run's visibility record: status, times, search attributes.
func viewOf(info *workflowpb.WorkflowExecutionInfo) runView {
	v := runView{
		WorkflowID: info.GetExecution().GetWorkflowId(),
		RunID:      info.GetExecution().GetRunId(),
		Status:     statusName(info.GetStatus()),
		StartTime:  info.GetStartTime().AsTime().UTC(),
	}
	if info.GetCloseTime() != nil && info.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		v.CloseTime = ptr(info.GetCloseTime().AsTime().UTC())
	}
	sa := info.GetSearchAttributes().GetIndexedFields()
	decodePayload(sa[workflows.SearchAttrJob], &v.Job)
	decodePayload(sa[workflows.SearchAttrModel], &v.Model)
	decodePayload(sa[workflows.SearchAttrStage], &v.Stage)
	var rows int64
	if decodePayload(sa[workflows.SearchAttrRows], &rows) {
		v.Rows = &rows
	}
	var detected bool
	if decodePayload(sa[workflows.SearchAttrDriftDetected], &detected) {
		v.DriftDetected = &detected
	}
	var metric float64
	if decodePayload(sa[workflows.SearchAttrDriftMetric], &metric) {
		v.DriftMetric = &metric
	}
	var slot time.Time
	if decodePayload(sa["TemporalScheduledStartTime"], &slot) {
		v.ScheduledAt = ptr(slot.UTC())
	}
	var arts map[string]string
	if decodePayload(info.GetMemo().GetFields()[workflows.MemoArtifacts], &arts) {
		v.Artifacts = arts
	}
	return v
}

// quote makes a string literal of the visibility query language.
func quote(s string) string {
	return "'" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "'", `\'`) + "'"
}

func newListCmd() *cobra.Command {
	var (
		conn          connFlags
		job           string
		driftDetected bool
		status        string
		limit         int
		asJSON        bool
	)
	cmd := &cobra.Command{
		Use:   "list [--job NAME] [--drift-detected] [--status running|completed|failed|...]",
		Short: "List recent BatchPredict runs, newest first, filtered by search attributes",
		Long: `List recent BatchPredict runs with their state, rows and drift, newest first.
Filters use batchinfer's search attributes (register them on a cluster with
'starter setup'): --job (the BatchinferJob attribute: --job of run, or the
schedule ID), --drift-detected (BatchinferDriftDetected), --status. The same
filters work in the Web UI, e.g.
  WorkflowType = 'BatchPredict' AND BatchinferJob = 'nightly' AND BatchinferDriftDetected = true`,
		Example: `  starter list --job nightly --drift-detected
  starter list --status running --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if limit < 1 {
				return errors.New("--limit must be at least 1")
			}
			q := "WorkflowType = 'BatchPredict'"
			if job != "" {
				q += " AND " + workflows.SearchAttrJob + " = " + quote(job)
			}
			if cmd.Flags().Changed("drift-detected") {
				q += fmt.Sprintf(" AND %s = %v", workflows.SearchAttrDriftDetected, driftDetected)
			}
			if status != "" {
				st, err := parseStatus(status)
				if err != nil {
					return err
				}
				q += " AND ExecutionStatus = " + quote(st)
			}
			c, err := conn.dial()
			if err != nil {
				return err
			}
			defer c.Close()
			runs, err := listRuns(ctx, c, conn.opts.Namespace, q, limit)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				return writeJSON(out, runs)
			}
			printRuns(out, runs)
			return nil
		},
	}
	conn.register(cmd)
	cmd.Flags().StringVar(&job, "job", "", "only runs of this job (the --job of run, or a schedule ID)")
	cmd.Flags().BoolVar(&driftDetected, "drift-detected", false, "only runs whose drift_status is true (--drift-detected=false: only runs without drift)")
	cmd.Flags().StringVar(&status, "status", "", "only runs in this state: running, completed, failed, canceled, terminated, timed-out")
	cmd.Flags().IntVar(&limit, "limit", 20, "at most this many runs")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON array")
	return cmd
}

func parseStatus(s string) (string, error) {
	switch strings.ToLower(strings.ReplaceAll(s, "_", "-")) {
	case "running":
		return "Running", nil
	case "completed":
		return "Completed", nil
	case "failed":
		return "Failed", nil
	case "canceled", "cancelled":
		return "Canceled", nil
	case "terminated":
		return "Terminated", nil
	case "timed-out", "timedout":
		return "TimedOut", nil
	case "continued-as-new":
		return "ContinuedAsNew", nil
	}
	return "", fmt.Errorf("--status %q: want running, completed, failed, canceled, terminated or timed-out", s)
}

// listRuns pages through the visibility query, newest first, up to limit.
func listRuns(ctx context.Context, c client.Client, namespace, query string, limit int) ([]runView, error) {
	runs := []runView{}
	var token []byte
	for len(runs) < limit {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: namespace, PageSize: int32(min(limit-len(runs), 1000)), NextPageToken: token, Query: query,
		})
		if err != nil {
			return nil, fmt.Errorf("listing runs (%s): %w", query, platform.HintSearchAttributes(err))
		}
		for _, e := range resp.GetExecutions() {
			runs = append(runs, viewOf(e))
		}
		token = resp.GetNextPageToken()
		if len(token) == 0 {
			break
		}
	}
	sort.SliceStable(runs, func(i, j int) bool { return runs[i].StartTime.After(runs[j].StartTime) })
	if len(runs) > limit {
		runs = runs[:limit]
	}
	return runs, nil
}

func printRuns(out io.Writer, runs []runView) {
	if len(runs) == 0 {
		fmt.Fprintln(out, "No runs.")
		return
	}
	tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "WORKFLOW ID\tSTATUS\tSTARTED\tDURATION\tJOB\tROWS\tDRIFT\tDRIFT METRIC")
	for _, r := range runs {
		dur := "-"
		if r.CloseTime != nil {
			dur = r.CloseTime.Sub(r.StartTime).Round(100 * time.Millisecond).String()
		} else if r.Stage != "" {
			dur = r.Stage
		}
		rows, drift, metric := "-", "-", "-"
		if r.Rows != nil {
			rows = fmt.Sprint(*r.Rows)
		}
		if r.DriftDetected != nil {
			drift = fmt.Sprint(*r.DriftDetected)
		}
		if r.DriftMetric != nil {
			metric = fmt.Sprintf("%.4f", *r.DriftMetric)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.WorkflowID, r.Status, r.StartTime.Format(time.RFC3339), dur, r.Job, rows, drift, metric)
	}
	_ = tw.Flush()
}

// describeRun reads a run's state: visibility record, memo, pending
// activities and, while it runs, the progress query; for a failed run, the
// failure.
func describeRun(ctx context.Context, c client.Client, workflowID, runID string) (runView, error) {
	d, err := c.DescribeWorkflowExecution(ctx, workflowID, runID)
	if err != nil {
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			return runView{}, fmt.Errorf("run %q not found (RUN is a workflow ID such as batchpredict/adhoc/20261125T020000.000Z; 'starter list' shows them)", workflowID)
		}
		return runView{}, fmt.Errorf("describing %s: %w", workflowID, err)
	}
	v := viewOf(d.GetWorkflowExecutionInfo())
	var summary string
	if decodePayload(d.GetExecutionConfig().GetUserMetadata().GetSummary(), &summary) {
		v.Summary = summary
	}
	for _, a := range d.GetPendingActivities() {
		s := fmt.Sprintf("%s (attempt %d)", a.GetActivityType().GetName(), a.GetAttempt())
		if f := a.GetLastFailure(); f != nil {
			s += ": last failure: " + f.GetMessage()
		}
		v.Pending = append(v.Pending, s)
	}
	switch d.GetWorkflowExecutionInfo().GetStatus() {
	case enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING:
		qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		p, err := queryProgress(qctx, c, v.WorkflowID, v.RunID)
		cancel()
		if err == nil {
			v.Progress = &p
		}
	case enumspb.WORKFLOW_EXECUTION_STATUS_FAILED, enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT,
		enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED, enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED:
		if err := c.GetWorkflow(ctx, v.WorkflowID, v.RunID).Get(ctx, nil); err != nil {
			v.Failure = unwrapApplicationError(err).Error()
		}
	}
	return v, nil
}

func newStatusCmd() *cobra.Command {
	var (
		conn   connFlags
		runID  string
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "status RUN",
		Short: "Show a run's state: stage, rows scored, shards, ETA, pending activities, artifacts",
		Long: `Show a run's state. RUN is its workflow ID (as printed by run, trigger and
list). A running run answers the progress query (stage, rows scored of the
total, shards done, ETA); a finished one shows its drift and artifact URIs.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			c, err := conn.dial()
			if err != nil {
				return err
			}
			defer c.Close()
			v, err := describeRun(ctx, c, args[0], runID)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), v)
			}
			printStatus(cmd.OutOrStdout(), v)
			return nil
		},
	}
	conn.register(cmd)
	cmd.Flags().StringVar(&runID, "run-id", "", "a specific run of the workflow ID (default: the latest)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	return cmd
}

func printStatus(out io.Writer, v runView) {
	fmt.Fprintf(out, "Workflow %s (run %s)\n", v.WorkflowID, v.RunID)
	if v.Summary != "" {
		fmt.Fprintf(out, "  %s\n", v.Summary)
	}
	fmt.Fprintf(out, "  status:        %s\n", v.Status)
	fmt.Fprintf(out, "  started:       %s\n", v.StartTime.Format(time.RFC3339))
	if v.CloseTime != nil {
		fmt.Fprintf(out, "  closed:        %s (%s)\n", v.CloseTime.Format(time.RFC3339), v.CloseTime.Sub(v.StartTime).Round(100*time.Millisecond))
	}
	if v.ScheduledAt != nil {
		fmt.Fprintf(out, "  slot:          %s\n", v.ScheduledAt.Format(time.RFC3339))
	}
	if v.Job != "" {
		fmt.Fprintf(out, "  job:           %s\n", v.Job)
	}
	if v.Model != "" {
		fmt.Fprintf(out, "  model:         %s\n", v.Model)
	}
	if p := v.Progress; p != nil {
		fmt.Fprintf(out, "  stage:         %s\n", p.Stage)
		total := "unknown yet"
		if p.RowsTotal >= 0 {
			total = fmt.Sprint(p.RowsTotal)
		}
		fmt.Fprintf(out, "  rows scored:   %d of %s\n", p.Rows, total)
		if p.ShardsTotal > 0 {
			fmt.Fprintf(out, "  shards:        %d of %d done\n", p.ShardsDone, p.ShardsTotal)
		}
		if p.ETA != "" {
			fmt.Fprintf(out, "  ETA:           %s\n", p.ETA)
		}
	} else if v.Stage != "" {
		fmt.Fprintf(out, "  stage:         %s\n", v.Stage)
	}
	if v.Rows != nil && v.Progress == nil {
		fmt.Fprintf(out, "  rows scored:   %d\n", *v.Rows)
	}
	if v.DriftDetected != nil {
		fmt.Fprintf(out, "  drift_status:  %v\n", *v.DriftDetected)
	}
	if v.DriftMetric != nil {
		fmt.Fprintf(out, "  drift_metric:  %.6f\n", *v.DriftMetric)
	}
	for _, p := range v.Pending {
		fmt.Fprintf(out, "  pending:       %s\n", p)
	}
	if v.Failure != "" {
		fmt.Fprintf(out, "  failure:       %s\n", v.Failure)
	}
	if len(v.Artifacts) > 0 {
		fmt.Fprintln(out, "\nArtifacts:")
		printArtifacts(out, v.Artifacts)
	}
	if v.Status == "Completed" {
		fmt.Fprintf(out, "\nDrift table: starter results %s\n", v.WorkflowID)
	}
}

func newResultsCmd() *cobra.Command {
	var (
		conn   connFlags
		runID  string
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "results RUN",
		Short: "Print a finished run's summary: rows, drift, per-feature drift table, artifact URIs",
		Long: `Print the result of a completed run, as 'run --wait' does: rows scored,
drift_status and drift_metric, the per-feature TVD / Hellinger / KLD / status
table and the artifact URIs. RUN is its workflow ID.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			c, err := conn.dial()
			if err != nil {
				return err
			}
			defer c.Close()
			v, err := describeRun(ctx, c, args[0], runID)
			if err != nil {
				return err
			}
			switch v.Status {
			case "Completed":
			case "Running":
				stage := ""
				if v.Progress != nil {
					stage = fmt.Sprintf(" (%s, %d rows scored)", v.Progress.Stage, v.Progress.Rows)
				}
				return fmt.Errorf("run %s is still running%s: results come when it completes; follow it with 'starter status %s'", v.WorkflowID, stage, v.WorkflowID)
			default:
				return fmt.Errorf("run %s is %s, it has no results: %s", v.WorkflowID, strings.ToLower(v.Status), v.Failure)
			}
			var res workflows.BatchPredictResult
			if err := c.GetWorkflow(ctx, v.WorkflowID, v.RunID).Get(ctx, &res); err != nil {
				return fmt.Errorf("reading the result of %s: %w", v.WorkflowID, err)
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), &res)
			}
			printSummary(cmd.OutOrStdout(), v.WorkflowID, &res, "")
			return nil
		},
	}
	conn.register(cmd)
	cmd.Flags().StringVar(&runID, "run-id", "", "a specific run of the workflow ID (default: the latest)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object (as run --json)")
	return cmd
}

func newSetupCmd() *cobra.Command {
	var (
		conn   connFlags
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "setup",
		Short: "Register batchinfer's search attributes on the cluster's namespace (idempotent)",
		Long: `Register the custom search attributes batchinfer's runs set (job, model,
stage, drift status, drift metric, rows) on the namespace, through Temporal's
OperatorService, so runs can be filtered in the Web UI and with 'starter
list'. Attributes already registered are left alone; one registered with
another type is an error. The embedded servers of demo, dev and run --local
register them by themselves; a cluster needs this once per namespace.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			c, err := conn.dial()
			if err != nil {
				return err
			}
			defer c.Close()
			st, err := platform.RegisterSearchAttributes(ctx, c, conn.opts.Namespace, workflows.SearchAttributes())
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				return writeJSON(out, st)
			}
			tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
			fmt.Fprintf(tw, "Search attributes of namespace %s:\n", conn.opts.Namespace)
			for _, s := range st {
				what := "already registered"
				if s.Created {
					what = "registered"
				}
				fmt.Fprintf(tw, "  %s\t%s\t%s\n", s.Name, s.Type, what)
			}
			return tw.Flush()
		},
	}
	conn.register(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON array")
	return cmd
}
