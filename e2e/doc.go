// Package e2e holds batchinfer's end-to-end tests: real processes (a
// Temporal dev server started with `starter dev`, several `worker`
// processes, a versitygw S3 server, optionally behind a fault-injecting
// proxy) running BatchPredict over datasets in S3, with a worker killed
// mid-Predict. Run them with `go test -v ./e2e/` (about three minutes:
// the killed worker's activities are retried only after the workflow's
// two-minute heartbeat timeout); `-short` skips them.
package e2e
