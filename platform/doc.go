// Package platform holds the Temporal-facing plumbing shared by the worker and
// starter mains: connection options that follow Temporal's conventions
// (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TLS, mTLS and API keys); business
// workflow IDs and the start of a job with its summary, details and search
// attributes; schedules (cron parsing and validation, the schedule action);
// registration of the search attributes through the OperatorService; the
// worker's Prometheus metrics (Temporal SDK metrics and batchinfer's own)
// and structured logger. The embedded development server is in the
// subpackage devserver, which only the starter and tests link.
//
// Domain code lives under internal/ and never imports this package.
package platform
