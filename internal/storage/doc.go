// Package storage reads and writes artifacts by URI: local paths and file://
// URIs, s3://bucket/key objects (AWS S3 or an S3-compatible store, configured
// from the environment: see [S3Options] and [EnvRegion]), and http(s):// URLs
// for reading. Writes are atomic: an object appears under its final name only
// once it is complete, so a reader never sees half an artifact. Transient S3
// failures (5xx, throttling, reset connections, a body broken mid-read) are
// retried inside the package; [ErrNotFound] and [ErrAccessDenied] mark the
// conditions a retry cannot fix.
package storage
