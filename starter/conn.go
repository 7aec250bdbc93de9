package main

import (
	"flag"
	"log/slog"
	"os"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"

	"github.com/batchinfer/batchinfer/activities"
	"github.com/batchinfer/batchinfer/platform"
)

// connFlags are the cluster connection flags, Temporal's conventions: the
// same flags and environment variables as the worker (platform.ConnectOptions).
type connFlags struct {
	opts      platform.ConnectOptions
	envErr    error
	taskQueue string
}

func (c *connFlags) register(cmd *cobra.Command) {
	c.opts, c.envErr = platform.ConnectOptionsFromEnv()
	gfs := flag.NewFlagSet(cmd.Name(), flag.ContinueOnError)
	c.opts.RegisterFlags(gfs)
	cmd.Flags().AddGoFlagSet(gfs)
	cmd.Flags().StringVar(&c.taskQueue, "task-queue", platform.EnvOr(platform.EnvTaskQueue, activities.TaskQueue), "task queue the workers poll (env "+platform.EnvTaskQueue+")")
}

// dial connects to the cluster.
func (c *connFlags) dial() (client.Client, error) {
	if c.envErr != nil {
		return nil, c.envErr
	}
	return c.opts.Dial(quietLogger())
}

// quietLogger passes the SDK's warnings and errors to stderr.
func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}
