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
	"github.com/batchinfer/batchinfer/workflows"
)

type connFlags struct {
	address   string
	namespace string
	taskQueue string
}

func (c *connFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&c.address, "address", platform.EnvOr(platform.EnvAddress, platform.DefaultAddress), "Temporal frontend host:port (env "+platform.EnvAddress+")")
	f.StringVar(&c.namespace, "namespace", platform.EnvOr(platform.EnvNamespace, platform.DefaultNamespace), "Temporal namespace (env "+platform.EnvNamespace+")")
	f.StringVar(&c.taskQueue, "task-queue", platform.EnvOr(platform.EnvTaskQueue, activities.TaskQueue), "task queue the workers poll (env "+platform.EnvTaskQueue+")")
}

func newRunCmd() *cobra.Command {
	var (
		job    jobFlags
		conn   connFlags
		local  bool
		wait   bool
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "run --dataset URI --model URI [flags]",
		Short: "Run one batch inference job (predict, statistics, drift)",
		Long: `Run one BatchPredict workflow: load the dataset, score it with the model,
compute statistics of the result set and compare them with the model's
reference statistics. Artifacts go under {artifact-path}/{run_id}/: the result
set, dataset_statistics.json, drift_results.json, features_drift_results.json,
drift_table_plot.html and run.json (written last).

By default the job is started on the Temporal cluster at --address, where
workers (go run ./worker) must be running; local paths are made absolute and
must be readable by those workers. With --local the job runs on an
ephemeral Temporal server and worker inside this process and the command
exits when the run is done (MLRun's local=True).`,
		Example: `  starter run --local --dataset data.csv --model ./model-bundle
  starter run --dataset s3-mounted/folder/ --model model.json --sample-set-statistics ref.json --wait --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			in, err := job.input(ctx)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if local {
				return runLocal(ctx, in, out, asJSON)
			}
			c, err := platform.ConnectOptions{Address: conn.address, Namespace: conn.namespace}.Dial(nil)
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
				return nil
			}
			if !asJSON {
				fmt.Fprintf(out, "Started workflow %s (run %s); waiting for it to finish...\n", run.GetID(), run.GetRunID())
			}
			return waitAndPrint(ctx, run, out, asJSON, "")
		},
	}
	job.register(cmd)
	conn.register(cmd)
	cmd.Flags().BoolVar(&local, "local", false, "run on an ephemeral embedded Temporal server and in-process worker, then exit")
	cmd.Flags().BoolVar(&wait, "wait", false, "wait for the run to finish and print its summary (always on with --local)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object (run_id, batch_id, rows, result_set, artifacts, drift_status, drift_metric, feature_status)")
	return cmd
}

// runLocal runs one job on an embedded server and in-process worker.
func runLocal(ctx context.Context, in workflows.BatchPredictInput, out io.Writer, asJSON bool) error {
	srv, err := platform.StartDevServer(ctx, platform.DevServerOptions{Port: -1, DisableUI: true})
	if err != nil {
		return err
	}
	defer srv.Stop()
	c, err := srv.Dial(client.Options{Logger: sdkLogger()})
	if err != nil {
		return err
	}
	defer c.Close()
	w := platform.NewWorker(c, activities.TaskQueue, activities.New(), worker.Options{})
	if err := w.Start(); err != nil {
		return fmt.Errorf("starting worker: %w", err)
	}
	defer w.Stop()
	run, err := platform.StartJob(ctx, c, activities.TaskQueue, in)
	if err != nil {
		return err
	}
	return waitAndPrint(ctx, run, out, asJSON, "")
}

func waitAndPrint(ctx context.Context, run client.WorkflowRun, out io.Writer, asJSON bool, uiURL string) error {
	var res workflows.BatchPredictResult
	if err := run.Get(ctx, &res); err != nil {
		return fmt.Errorf("workflow %s failed: %w", run.GetID(), unwrapApplicationError(err))
	}
	if asJSON {
		return printJSON(out, &res)
	}
	printSummary(out, run.GetID(), &res, uiURL)
	return nil
}

// sdkLogger keeps the SDK quiet but for warnings and errors.
func sdkLogger() sdklog.Logger {
	return sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
}
