// Package report renders drift analysis results for people: Render writes the
// drift_table_plot artifact, one self-contained HTML page (inline CSS, JS and
// SVG; no network access needed to open it), and Table writes the same summary
// as a plain-text table for terminals and logs.
package report
