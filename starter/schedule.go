package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"gopkg.in/yaml.v3"

	"github.com/batchinfer/batchinfer/platform"
	"github.com/batchinfer/batchinfer/workflows"
)

// scheduleFlags are the schedule's own settings (the job is jobFlags).
type scheduleFlags struct {
	id             string
	cron           []string
	timeZone       string
	overlap        string
	catchup        time.Duration
	jitter         time.Duration
	pauseOnFailure bool
	note           string
	paused         bool
}

// scheduleSettingNames are the flags of scheduleFlags a spec may set.
var scheduleSettingNames = []string{"cron", "time-zone", "overlap", "catchup-window", "jitter", "pause-on-failure", "note"}

func (s *scheduleFlags) register(cmd *cobra.Command, create bool) {
	f := cmd.Flags()
	f.StringArrayVar(&s.cron, "cron", nil, `when to run: a 5-field cron expression "minute hour day-of-month month day-of-week" (e.g. "0 2 * * *", "*/15 * * * MON-FRI"), @hourly, @daily, @weekly, @monthly, @yearly, or "@every 6h"; repeatable`)
	f.StringVar(&s.timeZone, "time-zone", "UTC", "IANA time zone the cron expressions are read in, e.g. Europe/Paris")
	f.StringVar(&s.overlap, "overlap", "skip", "what to do when a run is still going at the next slot: "+platform.OverlapPolicyNames)
	f.DurationVar(&s.catchup, "catchup-window", 0, "how late a missed slot (server down, schedule paused) may still run (default: one interval of the schedule, at least 10s)")
	f.DurationVar(&s.jitter, "jitter", 0, "random delay, up to this, added to each slot's start")
	f.BoolVar(&s.pauseOnFailure, "pause-on-failure", false, "pause the schedule when a run fails")
	f.StringVar(&s.note, "note", "", "a note shown with the schedule (why it is paused, who owns it)")
	if create {
		f.BoolVar(&s.paused, "paused", false, "create the schedule paused")
	}
}

// checkScheduleID rejects IDs that cannot name a job (artifact prefix,
// workflow ID, BatchinferJob).
func checkScheduleID(id string) error {
	if id == "" {
		return errors.New("--id is required: the schedule's name, also the job name of its runs")
	}
	if err := checkJobName(id); err != nil {
		return fmt.Errorf("--id: %w", err)
	}
	return nil
}

func newScheduleCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "schedule",
		Short: "Run a job on a schedule (Temporal Schedules): create, update, list, describe, pause, unpause, trigger, backfill, delete",
		Long: `Manage Temporal Schedules that start BatchPredict runs. Each schedule is
named by --id, which is also the job name of its runs (BatchinferJob, starter
list --job ID). Its runs have workflow IDs batchpredict/<id>-<slot time>,
write under {artifact-path}/<id>/<slot as 20060102T150405Z>/, and may
template their dataset URIs with the slot time:

  --dataset 's3://bucket/events/date={{ .ScheduledTime.Format "2006-01-02" }}/'

so re-running a slot reproduces its outputs and backfills do not collide.`,
		Example: `  starter schedule create --id churn-daily --cron "0 2 * * *" --time-zone Europe/Paris --spec job.yaml
  starter schedule backfill --id churn-daily --start 2026-11-01 --end 2026-11-08
  starter schedule pause --id churn-daily --note "model retraining"`,
	}
	cmd.AddCommand(newScheduleCreateCmd(), newScheduleUpdateCmd(), newScheduleListCmd(), newScheduleDescribeCmd(),
		newSchedulePauseCmd(true), newSchedulePauseCmd(false), newScheduleTriggerCmd(), newScheduleBackfillCmd(),
		newScheduleDeleteCmd())
	return cmd
}

func newScheduleCreateCmd() *cobra.Command {
	var (
		sf     scheduleFlags
		job    jobFlags
		conn   connFlags
		spec   string
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "create --id ID --cron EXPR (--dataset URI --model URI | --spec job.yaml) [flags]",
		Short: "Create a schedule; fails if the ID exists (use update)",
		Long: `Create a schedule starting a BatchPredict run at every slot of --cron. The
job is given as for 'starter run': flags, or a --spec file whose keys are the
flag names (the schedule's settings too: cron, time-zone, overlap, ...).
Fails if a schedule with this --id exists; 'schedule update' changes one.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if err := applySpec(cmd, spec); err != nil {
				return err
			}
			if err := checkScheduleID(sf.id); err != nil {
				return err
			}
			cs, err := platform.ParseCron(sf.cron, sf.timeZone)
			if err != nil {
				return err
			}
			overlap, err := platform.ParseOverlap(sf.overlap)
			if err != nil {
				return fmt.Errorf("--overlap: %w", err)
			}
			if sf.jitter < 0 || sf.catchup < 0 {
				return errors.New("--jitter and --catchup-window must not be negative")
			}
			if job.job != "" && job.job != sf.id {
				return fmt.Errorf("--job %q: a schedule's job is its --id (%q)", job.job, sf.id)
			}
			job.job = sf.id
			in, err := job.input(ctx)
			if err != nil {
				return err
			}
			catchup := sf.catchup
			if catchup == 0 {
				catchup = max(cs.Interval(time.Now()), 10*time.Second)
			}
			c, err := conn.dial()
			if err != nil {
				return err
			}
			defer c.Close()
			_, err = c.ScheduleClient().Create(ctx, client.ScheduleOptions{
				ID:             sf.id,
				Spec:           cs.Spec(sf.jitter),
				Action:         platform.ScheduleAction(sf.id, conn.taskQueue, in),
				Overlap:        overlap,
				CatchupWindow:  catchup,
				PauseOnFailure: sf.pauseOnFailure,
				Note:           sf.note,
				Paused:         sf.paused,
			})
			if errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
				return fmt.Errorf("schedule %q already exists in namespace %s: change it with 'starter schedule update --id %s ...' or remove it with 'starter schedule delete --id %s'", sf.id, conn.opts.Namespace, sf.id, sf.id)
			}
			if err != nil {
				return fmt.Errorf("creating schedule %s: %w", sf.id, platform.HintSearchAttributes(err))
			}
			next := cs.Next(time.Now(), 3)
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), map[string]any{"schedule_id": sf.id, "next_runs": next, "catchup_window": catchup.String()})
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "Created schedule %s (%s, %s, overlap %s, catch-up window %s).\n",
				sf.id, strings.Join(platform.FormatSpec(ptr(cs.Spec(sf.jitter))), "; "), cs.Location, sf.overlap, catchup)
			if sf.paused {
				fmt.Fprintln(out, "It is paused: 'starter schedule unpause --id "+sf.id+"' starts it.")
			}
			for _, t := range next {
				fmt.Fprintf(out, "  next: %s\n", t.Format(time.RFC3339))
			}
			fmt.Fprintf(out, "Runs: batchpredict/%s-<slot>, artifacts under %s/%s/<slot>/; list them with 'starter list --job %s'.\n",
				sf.id, in.ArtifactPath, sf.id, sf.id)
			return nil
		},
	}
	cmd.Flags().StringVar(&sf.id, "id", "", "schedule ID, also the job name of its runs (required)")
	sf.register(cmd, true)
	job.register(cmd)
	conn.register(cmd)
	registerSpecFlag(cmd, &spec)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	return cmd
}

func ptr[T any](v T) *T { return &v }

func newScheduleUpdateCmd() *cobra.Command {
	var (
		sf   scheduleFlags
		job  jobFlags
		conn connFlags
		spec string
	)
	cmd := &cobra.Command{
		Use:   "update --id ID [flags]",
		Short: "Change a schedule in place: only the settings and job flags given change",
		Long: `Change an existing schedule. Settings not given keep their values; job
flags not given keep the schedule's current job values (a --spec file counts
as given). Changing --cron without --catchup-window resets the catch-up window
to one interval of the new expressions.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if err := applySpec(cmd, spec); err != nil {
				return err
			}
			if err := checkScheduleID(sf.id); err != nil {
				return err
			}
			fs := cmd.Flags()
			changed := func(names ...string) bool {
				for _, n := range names {
					if fs.Changed(n) {
						return true
					}
				}
				return false
			}
			if !changed(append(append([]string{"task-queue"}, scheduleSettingNames...), jobFlagNames...)...) {
				return errors.New("nothing to change: give the settings (--cron, --time-zone, --overlap, ...) or job flags to change")
			}
			var (
				cs      *platform.CronSpec
				overlap enumspb.ScheduleOverlapPolicy
				err     error
			)
			if changed("time-zone") {
				if _, err := platform.LoadTimeZone(sf.timeZone); err != nil {
					return err
				}
			}
			if changed("overlap") {
				if overlap, err = platform.ParseOverlap(sf.overlap); err != nil {
					return fmt.Errorf("--overlap: %w", err)
				}
			}
			if sf.jitter < 0 || sf.catchup < 0 {
				return errors.New("--jitter and --catchup-window must not be negative")
			}
			if job.job != "" && job.job != sf.id {
				return fmt.Errorf("--job %q: a schedule's job is its --id (%q)", job.job, sf.id)
			}
			c, err := conn.dial()
			if err != nil {
				return err
			}
			defer c.Close()
			h := c.ScheduleClient().GetHandle(ctx, sf.id)
			desc, err := h.Describe(ctx)
			if err != nil {
				return scheduleErr(sf.id, "describing", err)
			}
			tz := desc.Schedule.Spec.TimeZoneName
			if changed("time-zone") {
				tz = sf.timeZone
			}
			if changed("cron") {
				if cs, err = platform.ParseCron(sf.cron, tz); err != nil {
					return err
				}
			}
			var action *client.ScheduleWorkflowAction
			if changed(jobFlagNames...) || changed("task-queue") {
				current, err := scheduleInput(desc)
				if err != nil {
					return err
				}
				keep := inputSpec(current)
				if changed("dataset", "inline-sample", "feature-columns") {
					delete(keep, "dataset")
				}
				delete(keep, "job")
				if err := setUnchangedFlags(fs, keep, false); err != nil {
					return fmt.Errorf("keeping the schedule's job values: %w", err)
				}
				job.job = sf.id
				in, err := job.input(ctx)
				if err != nil {
					return err
				}
				taskQueue := conn.taskQueue
				if cur, ok := desc.Schedule.Action.(*client.ScheduleWorkflowAction); ok && !changed("task-queue") {
					taskQueue = cur.TaskQueue
				}
				action = platform.ScheduleAction(sf.id, taskQueue, in)
			}
			err = h.Update(ctx, client.ScheduleUpdateOptions{DoUpdate: func(u client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
				s := u.Description.Schedule
				if s.Spec == nil {
					s.Spec = &client.ScheduleSpec{}
				}
				if s.Policy == nil {
					s.Policy = &client.SchedulePolicies{}
				}
				if s.State == nil {
					s.State = &client.ScheduleState{}
				}
				if cs != nil {
					spec := cs.Spec(s.Spec.Jitter)
					spec.StartAt, spec.EndAt, spec.Skip = s.Spec.StartAt, s.Spec.EndAt, s.Spec.Skip
					s.Spec = &spec
					if !changed("catchup-window") {
						s.Policy.CatchupWindow = max(cs.Interval(time.Now()), 10*time.Second)
					}
				}
				if changed("time-zone") {
					s.Spec.TimeZoneName = sf.timeZone
					if sf.timeZone == "UTC" {
						s.Spec.TimeZoneName = ""
					}
				}
				if changed("jitter") {
					s.Spec.Jitter = sf.jitter
				}
				if changed("overlap") {
					s.Policy.Overlap = overlap
				}
				if changed("catchup-window") {
					s.Policy.CatchupWindow = sf.catchup
				}
				if changed("pause-on-failure") {
					s.Policy.PauseOnFailure = sf.pauseOnFailure
				}
				if changed("note") {
					s.State.Note = sf.note
				}
				if action != nil {
					s.Action = action
				}
				return &client.ScheduleUpdate{Schedule: &s}, nil
			}})
			if err != nil {
				return scheduleErr(sf.id, "updating", platform.HintSearchAttributes(err))
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Updated schedule %s.\n", sf.id)
			return nil
		},
	}
	cmd.Flags().StringVar(&sf.id, "id", "", "schedule ID (required)")
	sf.register(cmd, false)
	job.register(cmd)
	conn.register(cmd)
	registerSpecFlag(cmd, &spec)
	return cmd
}

// scheduleErr turns "not found" into a message naming the schedule.
func scheduleErr(id, doing string, err error) error {
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return fmt.Errorf("schedule %q not found (starter schedule list shows the schedules)", id)
	}
	return fmt.Errorf("%s schedule %s: %w", doing, id, err)
}

// scheduleInput decodes the job input of a schedule's action.
func scheduleInput(desc *client.ScheduleDescription) (workflows.BatchPredictInput, error) {
	var in workflows.BatchPredictInput
	a, ok := desc.Schedule.Action.(*client.ScheduleWorkflowAction)
	if !ok || len(a.Args) != 1 {
		return in, errors.New("the schedule's action is not a BatchPredict start")
	}
	switch arg := a.Args[0].(type) {
	case *commonpb.Payload:
		if err := converter.GetDefaultDataConverter().FromPayload(arg, &in); err != nil {
			return in, fmt.Errorf("decoding the schedule's job: %w", err)
		}
	case workflows.BatchPredictInput:
		in = arg
	default:
		return in, fmt.Errorf("the schedule's job has type %T", arg)
	}
	return in, nil
}

// scheduleView is what describe and list print.
type scheduleView struct {
	ID             string         `json:"id"`
	Paused         bool           `json:"paused"`
	Note           string         `json:"note,omitempty"`
	Spec           []string       `json:"spec"`
	TimeZone       string         `json:"time_zone"`
	Jitter         string         `json:"jitter,omitempty"`
	Overlap        string         `json:"overlap,omitempty"`
	CatchupWindow  string         `json:"catchup_window,omitempty"`
	PauseOnFailure bool           `json:"pause_on_failure"`
	WorkflowID     string         `json:"workflow_id,omitempty"`
	TaskQueue      string         `json:"task_queue,omitempty"`
	Job            map[string]any `json:"job,omitempty"`
	NextRuns       []time.Time    `json:"next_runs"`
	RecentRuns     []recentRun    `json:"recent_runs"`
	Running        []string       `json:"running,omitempty"`
	Actions        int            `json:"actions"`
	MissedCatchup  int            `json:"missed_catchup_window"`
	SkippedOverlap int            `json:"skipped_overlap"`
}

type recentRun struct {
	Slot       time.Time `json:"slot"`
	StartedAt  time.Time `json:"started_at"`
	WorkflowID string    `json:"workflow_id,omitempty"`
	RunID      string    `json:"run_id,omitempty"`
}

func recentRuns(rs []client.ScheduleActionResult) []recentRun {
	out := make([]recentRun, 0, len(rs))
	for _, r := range rs {
		v := recentRun{Slot: r.ScheduleTime.UTC(), StartedAt: r.ActualTime.UTC()}
		if r.StartWorkflowResult != nil {
			v.WorkflowID, v.RunID = r.StartWorkflowResult.WorkflowID, r.StartWorkflowResult.FirstExecutionRunID
		}
		out = append(out, v)
	}
	return out
}

func describeView(id string, d *client.ScheduleDescription) scheduleView {
	v := scheduleView{ID: id, NextRuns: d.Info.NextActionTimes, RecentRuns: recentRuns(d.Info.RecentActions),
		Actions: d.Info.NumActions, MissedCatchup: d.Info.NumActionsMissedCatchupWindow, SkippedOverlap: d.Info.NumActionsSkippedOverlap}
	if v.NextRuns == nil {
		v.NextRuns = []time.Time{}
	}
	s := d.Schedule
	if s.State != nil {
		v.Paused, v.Note = s.State.Paused, s.State.Note
	}
	if s.Spec != nil {
		v.Spec = platform.FormatSpec(s.Spec)
		v.TimeZone = s.Spec.TimeZoneName
		if s.Spec.Jitter > 0 {
			v.Jitter = s.Spec.Jitter.String()
		}
	}
	if v.TimeZone == "" {
		v.TimeZone = "UTC"
	}
	if s.Policy != nil {
		v.Overlap = platform.OverlapName(s.Policy.Overlap)
		if v.Overlap == "" {
			v.Overlap = "skip"
		}
		v.CatchupWindow = s.Policy.CatchupWindow.String()
		v.PauseOnFailure = s.Policy.PauseOnFailure
	}
	if a, ok := s.Action.(*client.ScheduleWorkflowAction); ok {
		v.WorkflowID, v.TaskQueue = a.ID, a.TaskQueue
	}
	if in, err := scheduleInput(d); err == nil {
		v.Job = inputSpec(in)
	}
	for _, w := range d.Info.RunningWorkflows {
		v.Running = append(v.Running, w.WorkflowID)
	}
	return v
}

func newScheduleDescribeCmd() *cobra.Command {
	var (
		id     string
		conn   connFlags
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "describe --id ID",
		Short: "Show a schedule: times, policies, job, next and recent runs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if err := checkScheduleID(id); err != nil {
				return err
			}
			c, err := conn.dial()
			if err != nil {
				return err
			}
			defer c.Close()
			d, err := c.ScheduleClient().GetHandle(ctx, id).Describe(ctx)
			if err != nil {
				return scheduleErr(id, "describing", err)
			}
			v := describeView(id, d)
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), v)
			}
			printScheduleView(cmd.OutOrStdout(), v)
			return nil
		},
	}
	cmd.Flags().StringVar(&id, "id", "", "schedule ID (required)")
	conn.register(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	return cmd
}

func printScheduleView(out io.Writer, v scheduleView) {
	state := "active"
	if v.Paused {
		state = "paused"
	}
	fmt.Fprintf(out, "Schedule %s (%s)\n", v.ID, state)
	if v.Note != "" {
		fmt.Fprintf(out, "  note:             %s\n", v.Note)
	}
	for _, s := range v.Spec {
		fmt.Fprintf(out, "  when:             %s\n", s)
	}
	fmt.Fprintf(out, "  time zone:        %s\n", v.TimeZone)
	if v.Jitter != "" {
		fmt.Fprintf(out, "  jitter:           %s\n", v.Jitter)
	}
	fmt.Fprintf(out, "  overlap:          %s\n", v.Overlap)
	fmt.Fprintf(out, "  catch-up window:  %s\n", v.CatchupWindow)
	fmt.Fprintf(out, "  pause on failure: %v\n", v.PauseOnFailure)
	fmt.Fprintf(out, "  workflow ID:      %s-<slot>\n", v.WorkflowID)
	fmt.Fprintf(out, "  task queue:       %s\n", v.TaskQueue)
	fmt.Fprintf(out, "  actions:          %d taken, %d missed (catch-up window), %d skipped (overlap)\n", v.Actions, v.MissedCatchup, v.SkippedOverlap)
	if len(v.Job) > 0 {
		fmt.Fprintln(out, "\nJob (a --spec file of these keys recreates it):")
		var b strings.Builder
		enc := yaml.NewEncoder(&b)
		enc.SetIndent(2)
		_ = enc.Encode(v.Job)
		for _, l := range strings.Split(strings.TrimRight(b.String(), "\n"), "\n") {
			fmt.Fprintf(out, "  %s\n", l)
		}
	}
	if len(v.NextRuns) > 0 && !v.Paused {
		loc, err := time.LoadLocation(v.TimeZone)
		if err != nil {
			loc = time.UTC
		}
		fmt.Fprintln(out, "\nNext runs:")
		for _, t := range v.NextRuns[:min(5, len(v.NextRuns))] {
			fmt.Fprintf(out, "  %s\n", t.In(loc).Format(time.RFC3339))
		}
	}
	if len(v.RecentRuns) > 0 {
		fmt.Fprintln(out, "\nRecent runs:")
		tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  SLOT\tSTARTED\tWORKFLOW ID")
		for _, r := range v.RecentRuns {
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", r.Slot.Format(time.RFC3339), r.StartedAt.Format(time.RFC3339), r.WorkflowID)
		}
		_ = tw.Flush()
	}
	if len(v.Running) > 0 {
		fmt.Fprintf(out, "\nRunning: %s\n", strings.Join(v.Running, ", "))
	}
}

func newScheduleListCmd() *cobra.Command {
	var (
		conn   connFlags
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the schedules of BatchPredict runs in the namespace",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			c, err := conn.dial()
			if err != nil {
				return err
			}
			defer c.Close()
			it, err := c.ScheduleClient().List(ctx, client.ScheduleListOptions{PageSize: 100})
			if err != nil {
				return fmt.Errorf("listing schedules: %w", err)
			}
			views := []scheduleView{}
			for it.HasNext() {
				e, err := it.Next()
				if err != nil {
					return fmt.Errorf("listing schedules: %w", err)
				}
				if e.WorkflowType.Name != "" && e.WorkflowType.Name != "BatchPredict" {
					continue
				}
				v := scheduleView{ID: e.ID, Paused: e.Paused, Note: e.Note, Spec: platform.FormatSpec(e.Spec),
					NextRuns: e.NextActionTimes, RecentRuns: recentRuns(e.RecentActions)}
				if e.Spec != nil {
					v.TimeZone = e.Spec.TimeZoneName
				}
				if v.TimeZone == "" {
					v.TimeZone = "UTC"
				}
				if v.NextRuns == nil {
					v.NextRuns = []time.Time{}
				}
				views = append(views, v)
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), views)
			}
			out := cmd.OutOrStdout()
			if len(views) == 0 {
				fmt.Fprintln(out, "No schedules.")
				return nil
			}
			tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tSTATE\tWHEN\tTIME ZONE\tNEXT RUN\tLAST RUN\tNOTE")
			for _, v := range views {
				state, next, last := "active", "-", "-"
				if v.Paused {
					state = "paused"
				}
				if len(v.NextRuns) > 0 && !v.Paused {
					next = v.NextRuns[0].Format(time.RFC3339)
				}
				if n := len(v.RecentRuns); n > 0 {
					last = v.RecentRuns[n-1].WorkflowID
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", v.ID, state, strings.Join(v.Spec, "; "), v.TimeZone, next, last, v.Note)
			}
			return tw.Flush()
		},
	}
	conn.register(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON array")
	return cmd
}

func newSchedulePauseCmd(pause bool) *cobra.Command {
	var (
		id   string
		note string
		conn connFlags
	)
	use, short := "unpause", "Resume a paused schedule"
	if pause {
		use, short = "pause", "Pause a schedule: no runs start until unpause (trigger and backfill still run)"
	}
	cmd := &cobra.Command{
		Use:   use + " --id ID [--note TEXT]",
		Short: short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if err := checkScheduleID(id); err != nil {
				return err
			}
			c, err := conn.dial()
			if err != nil {
				return err
			}
			defer c.Close()
			h := c.ScheduleClient().GetHandle(ctx, id)
			if pause {
				if note == "" {
					note = "paused with starter schedule pause"
				}
				err = h.Pause(ctx, client.SchedulePauseOptions{Note: note})
			} else {
				if note == "" {
					note = "unpaused with starter schedule unpause"
				}
				err = h.Unpause(ctx, client.ScheduleUnpauseOptions{Note: note})
			}
			if err != nil {
				return scheduleErr(id, use+"ing", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Schedule %s %sd.\n", id, use)
			return nil
		},
	}
	cmd.Flags().StringVar(&id, "id", "", "schedule ID (required)")
	cmd.Flags().StringVar(&note, "note", "", "why (shown with the schedule)")
	conn.register(cmd)
	return cmd
}

func newScheduleTriggerCmd() *cobra.Command {
	var (
		id      string
		overlap string
		conn    connFlags
		asJSON  bool
	)
	cmd := &cobra.Command{
		Use:   "trigger --id ID",
		Short: "Start a run of the schedule now (its slot is now)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if err := checkScheduleID(id); err != nil {
				return err
			}
			var policy enumspb.ScheduleOverlapPolicy
			if overlap != "" {
				var err error
				if policy, err = platform.ParseOverlap(overlap); err != nil {
					return fmt.Errorf("--overlap: %w", err)
				}
			}
			c, err := conn.dial()
			if err != nil {
				return err
			}
			defer c.Close()
			h := c.ScheduleClient().GetHandle(ctx, id)
			before, err := h.Describe(ctx)
			if err != nil {
				return scheduleErr(id, "describing", err)
			}
			if err := h.Trigger(ctx, client.ScheduleTriggerOptions{Overlap: policy}); err != nil {
				return scheduleErr(id, "triggering", err)
			}
			run := waitNewAction(ctx, h, before.Info.NumActions)
			out := cmd.OutOrStdout()
			if asJSON {
				return writeJSON(out, map[string]any{"schedule_id": id, "workflow_id": run.WorkflowID, "run_id": run.RunID})
			}
			if run.WorkflowID == "" {
				fmt.Fprintf(out, "Triggered schedule %s; its run appears in 'starter list --job %s'.\n", id, id)
				return nil
			}
			fmt.Fprintf(out, "Triggered schedule %s: started workflow %s (run %s).\nFollow it with: starter status %s\n", id, run.WorkflowID, run.RunID, run.WorkflowID)
			return nil
		},
	}
	cmd.Flags().StringVar(&id, "id", "", "schedule ID (required)")
	cmd.Flags().StringVar(&overlap, "overlap", "", "overlap policy for this run (default: the schedule's): "+platform.OverlapPolicyNames)
	conn.register(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the started workflow's IDs as JSON")
	return cmd
}

// waitNewAction polls the schedule briefly for the run a trigger started
// (the schedule starts it asynchronously); zero when not seen in time or
// skipped by the overlap policy.
func waitNewAction(ctx context.Context, h client.ScheduleHandle, before int) recentRun {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		d, err := h.Describe(ctx)
		if err == nil && d.Info.NumActions > before && len(d.Info.RecentActions) > 0 {
			rs := recentRuns(d.Info.RecentActions)
			return rs[len(rs)-1]
		}
		select {
		case <-ctx.Done():
			return recentRun{}
		case <-t.C:
		}
	}
}

// parseTimeFlag reads RFC 3339, or a date / date-time in UTC.
func parseTimeFlag(name, s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("--%s %q: want RFC 3339 (2026-11-25T02:00:00Z) or a UTC date (2026-11-25)", name, s)
}

func newScheduleBackfillCmd() *cobra.Command {
	var (
		id         string
		start, end string
		overlap    string
		conn       connFlags
	)
	cmd := &cobra.Command{
		Use:   "backfill --id ID --start TIME --end TIME",
		Short: "Run the schedule's slots of a past (or future) time range now",
		Long: `Take the actions of every slot of the schedule between --start and --end
now, as if that time were passing. Each run knows its slot, reads the
dataset of its slot (templated URIs) and writes under its own prefix, so the
runs do not collide; by default they all start at once (--overlap allow-all);
the workers' concurrency bounds the load.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if err := checkScheduleID(id); err != nil {
				return err
			}
			from, err := parseTimeFlag("start", start)
			if err != nil {
				return err
			}
			to, err := parseTimeFlag("end", end)
			if err != nil {
				return err
			}
			if !to.After(from) {
				return fmt.Errorf("--end (%s) must be after --start (%s)", to.Format(time.RFC3339), from.Format(time.RFC3339))
			}
			policy, err := platform.ParseOverlap(overlap)
			if err != nil {
				return fmt.Errorf("--overlap: %w", err)
			}
			c, err := conn.dial()
			if err != nil {
				return err
			}
			defer c.Close()
			h := c.ScheduleClient().GetHandle(ctx, id)
			if err := h.Backfill(ctx, client.ScheduleBackfillOptions{Backfill: []client.ScheduleBackfill{{Start: from, End: to, Overlap: policy}}}); err != nil {
				return scheduleErr(id, "backfilling", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Backfill of schedule %s from %s to %s requested (overlap %s); its runs are batchpredict/%s-<slot>: 'starter list --job %s'.\n",
				id, from.Format(time.RFC3339), to.Format(time.RFC3339), overlap, id, id)
			return nil
		},
	}
	cmd.Flags().StringVar(&id, "id", "", "schedule ID (required)")
	cmd.Flags().StringVar(&start, "start", "", "start of the range, RFC 3339 or a UTC date (required)")
	cmd.Flags().StringVar(&end, "end", "", "end of the range, RFC 3339 or a UTC date (required)")
	cmd.Flags().StringVar(&overlap, "overlap", "allow-all", "overlap policy of the backfilled runs: "+platform.OverlapPolicyNames)
	conn.register(cmd)
	return cmd
}

func newScheduleDeleteCmd() *cobra.Command {
	var (
		id   string
		conn connFlags
	)
	cmd := &cobra.Command{
		Use:   "delete --id ID",
		Short: "Delete a schedule (its runs and their artifacts stay)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if err := checkScheduleID(id); err != nil {
				return err
			}
			c, err := conn.dial()
			if err != nil {
				return err
			}
			defer c.Close()
			if err := c.ScheduleClient().GetHandle(ctx, id).Delete(ctx); err != nil {
				return scheduleErr(id, "deleting", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Deleted schedule %s.\n", id)
			return nil
		},
	}
	cmd.Flags().StringVar(&id, "id", "", "schedule ID (required)")
	conn.register(cmd)
	return cmd
}

func writeJSON(out io.Writer, v any) error {
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
