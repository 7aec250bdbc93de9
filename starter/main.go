// Command starter is batchinfer's CLI: run batch inference jobs on Temporal
// (remote cluster or embedded), run the demo, run a local development
// server, and register models with their reference statistics.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // --time-zone works without the system's zoneinfo (distroless images)

	"github.com/spf13/cobra"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newRootCmd().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "starter",
		Short: "batchinfer: batch inference of tree models with drift analysis, on Temporal",
		Long: `batchinfer scores a dataset (CSV, Parquet, JSON Lines) with a tree model
(XGBoost), computes the result set's statistics and compares them with the
model's training-set statistics (MLRun's drift numbers), as a durable
Temporal workflow.

Quick start:
  starter demo                   bundled example on a local server with Web UI
  starter run --local --dataset data.csv --model bundle/
  starter model register --model model.json --training-set train.csv --label-columns y --to bundle/

On a cluster (flags --address, --namespace, TLS and --api-key, or Temporal's
TEMPORAL_* environment variables):
  starter setup                  register the search attributes (once per namespace)
  starter run --spec job.yaml --wait
  starter schedule create --id nightly --cron "0 2 * * *" --spec job.yaml
  starter list --job nightly --drift-detected
  starter status RUN / starter results RUN`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newRunCmd(), newDemoCmd(), newDevCmd(), newModelCmd(), newScheduleCmd(),
		newListCmd(), newStatusCmd(), newResultsCmd(), newSetupCmd())
	return root
}
