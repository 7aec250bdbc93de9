package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"go.temporal.io/sdk/temporal"

	"github.com/batchinfer/batchinfer/workflows"
)

// jsonResult is what --json prints: one object.
type jsonResult struct {
	RunID          string            `json:"run_id"`
	BatchID        string            `json:"batch_id"`
	Rows           int64             `json:"rows"`
	ResultSet      string            `json:"result_set"`
	Artifacts      map[string]string `json:"artifacts"`
	DriftStatus    bool              `json:"drift_status"`
	DriftMetric    float64           `json:"drift_metric"`
	DriftPerformed bool              `json:"drift_performed"`
	DriftNote      string            `json:"drift_note,omitempty"`
	FeatureStatus  map[string]string `json:"feature_status"`
	RunManifest    string            `json:"run_manifest"`
}

func printJSON(out io.Writer, r *workflows.BatchPredictResult) error {
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(jsonResult{
		RunID: r.RunID, BatchID: r.BatchID, Rows: r.Rows, ResultSet: r.ResultSet,
		Artifacts: r.Artifacts, DriftStatus: r.DriftStatus, DriftMetric: r.DriftMetric,
		DriftPerformed: r.DriftPerformed, DriftNote: r.DriftNote,
		FeatureStatus: r.FeatureStatus, RunManifest: r.RunManifest,
	})
}

// printSummary writes the run's summary: rows, drift, a per-feature table,
// the artifact paths and (when known) the Web UI link.
func printSummary(out io.Writer, workflowID string, r *workflows.BatchPredictResult, uiURL string) {
	fmt.Fprintf(out, "\nRun %s (workflow %s, batch %s)\n", r.RunID, workflowID, r.BatchID)
	fmt.Fprintf(out, "  rows scored:   %d\n", r.Rows)
	if r.DriftPerformed {
		fmt.Fprintf(out, "  drift_status:  %v\n", r.DriftStatus)
		fmt.Fprintf(out, "  drift_metric:  %.6f\n", r.DriftMetric)
		fmt.Fprintln(out)
		tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  FEATURE\tTVD\tHELLINGER\tKLD\tDRIFT\tSTATUS")
		for _, f := range r.Features {
			if !f.Compared {
				fmt.Fprintf(tw, "  %s\t-\t-\t-\t-\t%s\n", f.Name, f.Note)
				continue
			}
			fmt.Fprintf(tw, "  %s\t%.4f\t%.4f\t%.4f\t%.4f\t%s\n", f.Name, f.TVD, f.Hellinger, f.KLD, f.Value, f.Status)
		}
		_ = tw.Flush()
	} else {
		fmt.Fprintf(out, "  drift analysis skipped: %s\n", r.DriftNote)
	}
	fmt.Fprintln(out, "\nArtifacts:")
	fmt.Fprintf(out, "  %-23s %s\n", "result_set", r.ResultSet)
	printArtifacts(out, r.Artifacts)
	fmt.Fprintf(out, "  %-23s %s\n", "run_manifest", r.RunManifest)
	if uiURL != "" {
		fmt.Fprintf(out, "\nWeb UI: %s\n", uiURL)
	}
}

// unwrapApplicationError reduces a workflow failure to its root cause, e.g.
// "LoadDataset: BadDataset: data.csv:17: column ...".
func unwrapApplicationError(err error) error {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		msg := appErr.Message()
		var actErr *temporal.ActivityError
		if errors.As(err, &actErr) {
			name := actErr.ActivityType().GetName()
			return fmt.Errorf("%s: %s (%s)", name, strings.TrimSpace(msg), appErr.Type())
		}
		return fmt.Errorf("%s (%s)", msg, appErr.Type())
	}
	return err
}

// printArtifacts writes "  name  URI" lines in name order.
func printArtifacts(out io.Writer, artifacts map[string]string) {
	keys := make([]string, 0, len(artifacts))
	for k := range artifacts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(out, "  %-23s %s\n", k, artifacts[k])
	}
}
