// Package devserver runs an embedded Temporal development server (frontend,
// history, matching and worker services on SQLite, plus the Temporal Web
// UI) inside the calling process, for `starter dev`, `starter run --local`
// and tests.
//
// It is a package of its own, not part of platform, so that the worker
// binary does not link the Temporal server: that code, paged in at start,
// made up about 90 MiB of every worker's resident memory (measured: 137 MiB
// idle before, 45 MiB after).
package devserver
