// Command worker runs a batchinfer worker against a Temporal cluster: it
// polls the task queue and executes BatchPredict workflows and their
// activities until interrupted.
package main

import (
	"flag"
	"fmt"
	"log/slog"
	"os"

	"go.temporal.io/sdk/worker"

	"github.com/batchinfer/batchinfer/activities"
	"github.com/batchinfer/batchinfer/platform"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: worker [flags]\n\nRun a batchinfer worker against a Temporal cluster until interrupted.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	address := fs.String("address", platform.EnvOr(platform.EnvAddress, platform.DefaultAddress), "Temporal frontend host:port (env "+platform.EnvAddress+")")
	namespace := fs.String("namespace", platform.EnvOr(platform.EnvNamespace, platform.DefaultNamespace), "Temporal namespace (env "+platform.EnvNamespace+")")
	taskQueue := fs.String("task-queue", platform.EnvOr(platform.EnvTaskQueue, activities.TaskQueue), "task queue to poll (env "+platform.EnvTaskQueue+")")
	maxActivities := fs.Int("max-concurrent-activities", 2, "activities run at once by this worker")
	if err := fs.Parse(args); err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	c, err := platform.ConnectOptions{Address: *address, Namespace: *namespace}.Dial(logger)
	if err != nil {
		return err
	}
	defer c.Close()
	w := platform.NewWorker(c, *taskQueue, activities.New(), worker.Options{MaxConcurrentActivityExecutionSize: *maxActivities})
	logger.Info("worker starting", "address", *address, "namespace", *namespace, "task_queue", *taskQueue)
	if err := w.Run(worker.InterruptCh()); err != nil {
		return fmt.Errorf("running worker: %w", err)
	}
	return nil
}
