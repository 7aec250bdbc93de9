// Package platform holds the Temporal-facing plumbing shared by the worker and
// starter mains: connection options that follow Temporal's conventions
// (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE), and an embedded development server
// (Temporal frontend/history/matching/worker services on SQLite plus the
// Temporal Web UI) that runs inside the calling process.
//
// Domain code lives under internal/ and never imports this package.
package platform
