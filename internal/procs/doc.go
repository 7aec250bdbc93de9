// Package procs starts and manages real child processes for multi-process
// runs (end-to-end tests, benchmarks, test servers): each in its own process
// group with its output in a log file, bounded polling for readiness,
// SIGTERM-then-SIGKILL stops, peak RSS and CPU time from /proc, log tails
// for error messages; and a versitygw S3 server over a folder. It imports
// neither testing nor Temporal, so plain mains and internal/testenv can use
// it; the Temporal side of a local cluster is in package cluster.
package procs
