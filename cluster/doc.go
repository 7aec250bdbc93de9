// Package cluster runs batchinfer as separate processes on one machine, for
// the end-to-end tests (e2e/) and the end-to-end benchmark (bench/e2e): it
// builds the worker and starter commands, starts a Temporal dev server with
// `starter dev` and worker processes on a task queue, and waits until each
// is ready. The processes are internal/procs's, as is the S3 server
// (procs.StartS3). It lives outside internal/ because it talks to Temporal.
package cluster
