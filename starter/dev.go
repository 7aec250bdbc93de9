package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/batchinfer/batchinfer/activities"
	"github.com/batchinfer/batchinfer/examples"
	"github.com/batchinfer/batchinfer/platform"
	"github.com/batchinfer/batchinfer/platform/devserver"
	"github.com/batchinfer/batchinfer/workflows"
)

type devFlags struct {
	port     int
	uiPort   int
	dbFile   string
	noWorker bool // dev only: no in-process worker
}

func (d *devFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.IntVar(&d.port, "port", 7233, "Temporal frontend port on 127.0.0.1 (-1: any free port)")
	f.IntVar(&d.uiPort, "ui-port", 8233, "Temporal Web UI port on 127.0.0.1 (-1: any free port)")
	f.StringVar(&d.dbFile, "db-file", "", "SQLite file that keeps runs and schedules across restarts (default: in memory)")
}

// devEnv is a running embedded server with UI and an in-process worker
// (w is nil with --no-worker).
type devEnv struct {
	srv *devserver.Server
	c   client.Client
	w   worker.Worker
}

func startDev(ctx context.Context, d devFlags, out io.Writer) (*devEnv, error) {
	if d.dbFile != "" {
		abs, err := filepath.Abs(d.dbFile)
		if err != nil {
			return nil, err
		}
		d.dbFile = abs
	}
	fmt.Fprintln(out, "Starting the embedded Temporal server and Web UI...")
	srv, err := devserver.Start(ctx, devserver.Options{
		Port: d.port, UIPort: d.uiPort, DBFile: d.dbFile,
		SearchAttributes: workflows.SearchAttributes(),
	})
	if err != nil {
		return nil, err
	}
	c, err := srv.Dial(client.Options{Logger: sdkLogger()})
	if err != nil {
		srv.Stop()
		return nil, err
	}
	fmt.Fprintf(out, "Temporal server: %s (namespace %s)\nWeb UI:          %s\n", srv.HostPort(), srv.Namespace(), srv.UIURL())
	var w worker.Worker
	if d.noWorker {
		fmt.Fprintln(out, "Worker:          none (--no-worker); start them with 'go run ./worker --address "+srv.HostPort()+"'")
	} else {
		w = platform.NewWorker(c, activities.TaskQueue, activities.New(), worker.Options{})
		if err := w.Start(); err != nil {
			c.Close()
			srv.Stop()
			return nil, fmt.Errorf("starting worker: %w", err)
		}
		fmt.Fprintf(out, "Worker:          polling task queue %q\n", activities.TaskQueue)
	}
	if d.dbFile != "" {
		fmt.Fprintf(out, "Database:        %s\n", d.dbFile)
	}
	return &devEnv{srv: srv, c: c, w: w}, nil
}

func (e *devEnv) stop() {
	if e.w != nil {
		e.w.Stop()
	}
	e.c.Close()
	e.srv.Stop()
}

func waitForInterrupt(ctx context.Context, out io.Writer) {
	fmt.Fprintln(out, "\nThe server stays up for inspection; press Ctrl-C to stop.")
	<-ctx.Done()
	fmt.Fprintln(out, "\nStopping.")
}

func newDevCmd() *cobra.Command {
	var d devFlags
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run a local Temporal server with Web UI and a worker, for development",
		Long: `Start, inside this process, a Temporal server (namespace "default"), the
Temporal Web UI and a batchinfer worker; then wait until Ctrl-C. Point
'starter run' (without --local) and extra workers at it with --address.
Runs are kept in memory unless --db-file names a SQLite file. --no-worker
leaves the work to workers you start yourself.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			env, err := startDev(cmd.Context(), d, cmd.OutOrStdout())
			if err != nil {
				return err
			}
			defer env.stop()
			waitForInterrupt(cmd.Context(), cmd.OutOrStdout())
			return nil
		},
	}
	d.register(cmd)
	cmd.Flags().BoolVar(&d.noWorker, "no-worker", false, "run no worker in this process (start your own with 'go run ./worker --address ...')")
	return cmd
}

func newDemoCmd() *cobra.Command {
	var (
		d            devFlags
		exit         bool
		asJSON       bool
		artifactPath string
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the bundled example on a local Temporal server with Web UI",
		Long: `Start a local Temporal server with Web UI and a worker (as 'starter dev'),
then run the bundled example: a binary classifier trained with XGBoost over
10,000 x 5 numeric rows (feat_0..feat_4, label 'labels'), shipped with its
reference statistics. The batch drifts on feat_1 and feat_3. Prints the run's
summary, the artifact paths and the Web UI link, then keeps the server up
until Ctrl-C (--exit stops after the run).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			out := cmd.OutOrStdout()
			if err := os.MkdirAll(artifactPath, 0o755); err != nil {
				return fmt.Errorf("--artifact-path: %w", err)
			}
			demo, err := examples.WriteDemo(filepath.Join(artifactPath, "_example"))
			if err != nil {
				return err
			}
			job := jobFlags{
				datasets: []string{demo.Dataset}, model: demo.Model,
				resultSet: workflows.DefaultResultSet, resultFormat: workflows.DefaultResultFormat,
				artifactPath: artifactPath, performDrift: "true",
				driftThreshold: workflows.DefaultDriftThreshold, possibleDrift: workflows.DefaultPossibleDriftThreshold,
				job: "demo",
			}
			in, err := job.input(ctx)
			if err != nil {
				return err
			}
			env, err := startDev(ctx, d, out)
			if err != nil {
				return err
			}
			defer env.stop()
			fmt.Fprintf(out, "\nScoring %s with the bundled XGBoost model...\n", demo.Dataset)
			run, err := platform.StartJob(ctx, env.c, activities.TaskQueue, in)
			if err != nil {
				return err
			}
			w := waitOpts{
				out: out, errOut: cmd.ErrOrStderr(), asJSON: asJSON,
				progress: showProgress(cmd, out, false, asJSON),
				uiURL:    env.srv.WorkflowURL(run.GetID(), run.GetRunID()),
			}
			if err := waitAndPrint(ctx, env.c, run, w); err != nil {
				return err
			}
			if exit {
				return nil
			}
			waitForInterrupt(ctx, out)
			return nil
		},
	}
	d.register(cmd)
	cmd.Flags().BoolVar(&exit, "exit", false, "stop the server once the run is done")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the run's summary as one JSON object")
	cmd.Flags().StringVar(&artifactPath, "artifact-path", "./artifacts", "artifact store root (a local folder)")
	return cmd
}
