package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	"github.com/batchinfer/batchinfer/activities"
	"github.com/batchinfer/batchinfer/platform"
	"github.com/batchinfer/batchinfer/platform/devserver"
	"github.com/batchinfer/batchinfer/workflows"
)

func newRunCmd() *cobra.Command {
	var (
		job      jobFlags
		conn     connFlags
		spec     string
		local    bool
		wait     bool
		asJSON   bool
		progress bool
	)
	cmd := &cobra.Command{
		Use:   "run --dataset URI --model URI [flags]",
		Short: "Run one batch inference job (predict, statistics, drift)",
		Long: `Run one BatchPredict workflow: load the dataset, score it with the model,
compute statistics of the result set and compare them with the model's
reference statistics. Artifacts go under {artifact-path}/{run_id}/: the result
set, dataset_statistics.json, drift_results.json, features_drift_results.json,
drift_table_plot.html and run.json (written last).

The job comes from flags, or from a --spec file (YAML or JSON) whose keys are
the flag names; flags given on the command line win.

By default the job is started on the Temporal cluster at --address, where
workers (go run ./worker) must be running; local paths are made absolute and
must be readable by those workers. With --local the job runs on an
ephemeral Temporal server and worker inside this process and the command
exits when the run is done (MLRun's local=True). While waiting, a progress
bar (rows scored of total, rate, ETA) is shown on stderr when stdout is a
terminal, or with --progress.`,
		Example: `  starter run --local --dataset data.csv --model ./model-bundle
  starter run --spec job.yaml --job churn-daily --wait
  starter run --dataset s3-mounted/folder/ --model model.json --sample-set-statistics ref.json --wait --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if err := applySpec(cmd, spec); err != nil {
				return err
			}
			in, err := job.input(ctx)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			w := waitOpts{out: out, errOut: cmd.ErrOrStderr(), asJSON: asJSON, progress: showProgress(cmd, out, progress, asJSON)}
			if local {
				return runLocal(ctx, in, w)
			}
			c, err := conn.dial()
			if err != nil {
				return err
			}
			defer c.Close()
			run, err := platform.StartJob(ctx, c, conn.taskQueue, in)
			if err != nil {
				return err
			}
			if !wait {
				if asJSON {
					return json.NewEncoder(out).Encode(map[string]string{"workflow_id": run.GetID(), "run_id": run.GetRunID()})
				}
				fmt.Fprintf(out, "Started workflow %s (run %s) on task queue %s.\n", run.GetID(), run.GetRunID(), conn.taskQueue)
				fmt.Fprintf(out, "Follow it with: starter status %s\n", run.GetID())
				return nil
			}
			if !asJSON {
				fmt.Fprintf(out, "Started workflow %s (run %s); waiting for it to finish...\n", run.GetID(), run.GetRunID())
			}
			return waitAndPrint(ctx, c, run, w)
		},
	}
	job.register(cmd)
	conn.register(cmd)
	registerSpecFlag(cmd, &spec)
	cmd.Flags().BoolVar(&local, "local", false, "run on an ephemeral embedded Temporal server and in-process worker, then exit")
	cmd.Flags().BoolVar(&wait, "wait", false, "wait for the run to finish and print its summary (always on with --local)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object (run_id, batch_id, rows, result_set, artifacts, drift_status, drift_metric, feature_status)")
	cmd.Flags().BoolVar(&progress, "progress", false, "show a progress bar on stderr while waiting (default: when stdout is a terminal; never with --json)")
	return cmd
}

// runLocal runs one job on an embedded server and in-process worker.
func runLocal(ctx context.Context, in workflows.BatchPredictInput, w waitOpts) error {
	srv, err := devserver.Start(ctx, devserver.Options{Port: -1, DisableUI: true, SearchAttributes: workflows.SearchAttributes()})
	if err != nil {
		return err
	}
	defer srv.Stop()
	c, err := srv.Dial(client.Options{Logger: sdkLogger()})
	if err != nil {
		return err
	}
	defer c.Close()
	wk := platform.NewWorker(c, activities.TaskQueue, activities.New(), worker.Options{})
	if err := wk.Start(); err != nil {
		return fmt.Errorf("starting worker: %w", err)
	}
	defer wk.Stop()
	run, err := platform.StartJob(ctx, c, activities.TaskQueue, in)
	if err != nil {
		return err
	}
	return waitAndPrint(ctx, c, run, w)
}

// waitOpts says how to wait for a run and print its outcome.
type waitOpts struct {
	out, errOut io.Writer
	asJSON      bool
	progress    bool   // progress bar on errOut
	uiURL       string // Web UI link of the run, when known
}

func waitAndPrint(ctx context.Context, c client.Client, run client.WorkflowRun, w waitOpts) error {
	var stop func(ok bool, rows int64)
	if w.progress {
		stop = watchProgress(ctx, c, run.GetID(), run.GetRunID(), w.errOut)
	}
	var res workflows.BatchPredictResult
	err := run.Get(ctx, &res)
	if stop != nil {
		stop(err == nil, res.Rows)
	}
	if err != nil {
		return fmt.Errorf("workflow %s failed: %w", run.GetID(), unwrapApplicationError(err))
	}
	if w.asJSON {
		return printJSON(w.out, &res)
	}
	printSummary(w.out, run.GetID(), &res, w.uiURL)
	return nil
}

// sdkLogger keeps the SDK quiet but for warnings and errors.
func sdkLogger() sdklog.Logger {
	return sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
}
