// Package testenv starts real servers for tests: an S3-compatible object
// store (versitygw serving a temporary folder, started by internal/procs)
// and a fault-injecting proxy to put in front of it. It is imported by
// tests only.
package testenv
