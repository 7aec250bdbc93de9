package platform

import (
	"fmt"
	"log/slog"
	"os"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
)

// Environment variables read by ConnectOptions.FromEnv, Temporal's names.
const (
	EnvAddress   = "TEMPORAL_ADDRESS"
	EnvNamespace = "TEMPORAL_NAMESPACE"
	EnvTaskQueue = "BATCHINFER_TASK_QUEUE"
)

// Defaults for ConnectOptions.
const (
	DefaultAddress   = "127.0.0.1:7233"
	DefaultNamespace = "default"
)

// ConnectOptions says which Temporal cluster to talk to.
type ConnectOptions struct {
	// Address of the frontend, host:port. Default 127.0.0.1:7233 or $TEMPORAL_ADDRESS.
	Address string
	// Namespace. Default "default" or $TEMPORAL_NAMESPACE.
	Namespace string
}

// EnvOr returns the environment variable's value, or def when unset or empty.
func EnvOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// Dial connects to the cluster; logger may be nil (SDK messages discarded).
func (o ConnectOptions) Dial(logger *slog.Logger) (client.Client, error) {
	opts := client.Options{HostPort: o.Address, Namespace: o.Namespace, Logger: quietSDKLogger()}
	if logger != nil {
		opts.Logger = sdklog.NewStructuredLogger(logger)
	}
	c, err := client.Dial(opts)
	if err != nil {
		return nil, fmt.Errorf("connecting to temporal at %s (namespace %s): %w", o.Address, o.Namespace, err)
	}
	return c, nil
}

// quietSDKLogger drops the SDK's info chatter; warnings and errors go to stderr.
func quietSDKLogger() sdklog.Logger {
	return sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
}

func describeNamespace(ns string) *workflowservice.DescribeNamespaceRequest {
	return &workflowservice.DescribeNamespaceRequest{Namespace: ns}
}
