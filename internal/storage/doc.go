// Package storage reads and writes artifacts by URI. Local paths and file://
// URIs are supported for writing; http(s):// URIs for reading. Writes are
// atomic: a file appears under its final name only once it is complete, so a
// reader never sees half an artifact.
package storage
