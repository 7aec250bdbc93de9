package platform

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// Environment variables of the worker's logging and metrics flags.
const (
	EnvLogFormat   = "BATCHINFER_LOG_FORMAT"
	EnvLogLevel    = "BATCHINFER_LOG_LEVEL"
	EnvMetricsAddr = "BATCHINFER_METRICS_ADDR"
)

// NewLogger returns a structured logger writing to w: format "text"
// (logfmt-style key=value, the default) or "json" (one object a line);
// level "debug", "info" (default), "warn" or "error".
func NewLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	switch strings.ToLower(level) {
	case "debug":
		lv = slog.LevelDebug
	case "", "info":
		lv = slog.LevelInfo
	case "warn", "warning":
		lv = slog.LevelWarn
	case "error":
		lv = slog.LevelError
	default:
		return nil, fmt.Errorf("log level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch strings.ToLower(format) {
	case "", "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	default:
		return nil, fmt.Errorf("log format %q: want json or text", format)
	}
}
