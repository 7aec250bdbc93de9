package main

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/batchinfer/batchinfer/workflows"
)

// uniqueID names a schedule or job so tests sharing the cluster do not meet.
func uniqueID(prefix string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return prefix + "-" + hex.EncodeToString(b[:])
}

// demoJob is the bundled example as job flags, with thresholds low enough
// that its drift (metric 0.30) is detected.
func demoJob(arts string, dataset string) []string {
	if dataset == "" {
		dataset = filepath.Join(demoDir, "batch.csv")
	}
	return []string{"--dataset", dataset, "--model", filepath.Join(demoDir, "model"), "--artifact-path", arts,
		"--drift-threshold", "0.3", "--possible-drift-threshold", "0.2"}
}

func TestScheduleRejectsBadSettingsBeforeConnecting(t *testing.T) {
	arts := t.TempDir()
	// Nothing listens here: every case must fail before dialing.
	conn := []string{"--address", "127.0.0.1:1"}
	job := demoJob(arts, "")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no id", []string{"--cron", "@daily"}, "--id is required"},
		{"id with slash", []string{"--id", "a/b", "--cron", "@daily"}, "plain name"},
		{"no cron", []string{"--id", "x"}, "--cron is required"},
		{"minute 61", []string{"--id", "x", "--cron", "61 * * * *"}, `--cron "61 * * * *"`},
		{"four fields", []string{"--id", "x", "--cron", "0 * * *"}, "want 5 fields"},
		{"unknown shortcut", []string{"--id", "x", "--cron", "@fortnightly"}, "unknown shortcut"},
		{"unknown time zone", []string{"--id", "x", "--cron", "@daily", "--time-zone", "Europe/Atlantis"}, `unknown time zone`},
		{"bad overlap", []string{"--id", "x", "--cron", "@daily", "--overlap", "sometimes"}, "buffer-one"},
		{"job is the id", []string{"--id", "x", "--cron", "@daily", "--job", "y"}, "a schedule's job is its --id"},
		{"bad template", []string{"--id", "x", "--cron", "@daily", "--dataset", "/d/{{ .Slot }}.csv"}, "Slot"},
		{"negative jitter", []string{"--id", "x", "--cron", "@daily", "--jitter", "-1m"}, "must not be negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append(append([]string{"schedule", "create"}, tc.args...), conn...)
			if !containsFlag(tc.args, "--dataset") {
				args = append(args, job...)
			} else {
				args = append(args, "--model", filepath.Join(demoDir, "model"), "--artifact-path", arts)
			}
			_, err := runCLI(t, args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want error mentioning %q, got %v", tc.want, err)
			}
			if strings.Contains(err.Error(), "connecting") {
				t.Fatalf("validated after dialing: %v", err)
			}
		})
	}
	// Settings from a spec file are validated the same way.
	spec := filepath.Join(t.TempDir(), "s.yaml")
	if err := os.WriteFile(spec, []byte("id: from-spec\ncron: \"0 25 * * *\"\ndataset: [a.csv]\nmodel: m\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := runCLI(t, "schedule", "create", "--spec", spec, "--address", "127.0.0.1:1"); err == nil || !strings.Contains(err.Error(), `--cron "0 25 * * *"`) {
		t.Errorf("bad cron from a spec file: %v", err)
	}
	_, err := runCLI(t, "schedule", "backfill", "--id", "x", "--start", "2026-01-03", "--end", "2026-01-01", "--address", "127.0.0.1:1")
	if err == nil || !strings.Contains(err.Error(), "must be after") {
		t.Errorf("backfill end before start: %v", err)
	}
	_, err = runCLI(t, "schedule", "backfill", "--id", "x", "--start", "yesterday", "--end", "2026-01-01", "--address", "127.0.0.1:1")
	if err == nil || !strings.Contains(err.Error(), "RFC 3339") {
		t.Errorf("backfill bad time: %v", err)
	}
}

func containsFlag(args []string, f string) bool {
	for _, a := range args {
		if a == f {
			return true
		}
	}
	return false
}

// A schedule is created (a second create fails clearly), triggered; the
// run completes, is found by its BatchinferJob search attribute (and by
// drift), writes under {artifact-path}/{job}/{slot}/, and status and
// results read it.
func TestScheduleCreateTriggerFindResults(t *testing.T) {
	tc := sharedCluster(t)
	arts := t.TempDir()
	id := uniqueID("trig")
	// Once a year on Jan 1st: only the trigger starts a run during the test.
	create := tc.args(append([]string{"schedule", "create", "--id", id, "--cron", "0 0 1 1 *", "--note", "test schedule"}, demoJob(arts, "")...)...)
	if out, err := runCLI(t, create...); err != nil {
		t.Fatalf("create: %v\n%s", err, out)
	} else if !strings.Contains(out, "Created schedule "+id) {
		t.Errorf("create output:\n%s", out)
	}
	t.Cleanup(func() { _, _ = runCLI(t, tc.args("schedule", "delete", "--id", id)...) })
	_, err := runCLI(t, create...)
	if err == nil || !strings.Contains(err.Error(), "already exists") || !strings.Contains(err.Error(), "schedule update --id "+id) {
		t.Fatalf("second create: want a clear 'already exists', got %v", err)
	}

	var trig struct {
		WorkflowID string `json:"workflow_id"`
	}
	cliJSON(t, &trig, tc.args("schedule", "trigger", "--id", id, "--json")...)
	if !strings.HasPrefix(trig.WorkflowID, "batchpredict/"+id+"-") {
		t.Errorf("triggered workflow ID %q, want batchpredict/%s-<slot>", trig.WorkflowID, id)
	}

	runs := tc.completedRuns(t, id, 1)
	if len(runs) != 1 {
		t.Fatalf("want 1 run of %s, got %+v", id, runs)
	}
	r := runs[0]
	if r.WorkflowID != trig.WorkflowID || r.Job != id || r.Rows == nil || *r.Rows != 10000 || r.ScheduledAt == nil {
		t.Errorf("run %+v", r)
	}

	// Filtering by drift status: the demo's metric 0.30 is over 0.3.
	var drifted []runView
	cliJSON(t, &drifted, tc.args("list", "--job", id, "--drift-detected", "--json")...)
	if len(drifted) != 1 || drifted[0].DriftDetected == nil || !*drifted[0].DriftDetected || drifted[0].DriftMetric == nil {
		t.Errorf("list --drift-detected: %+v", drifted)
	}
	var clean []runView
	cliJSON(t, &clean, tc.args("list", "--job", id, "--drift-detected=false", "--json")...)
	if len(clean) != 0 {
		t.Errorf("list --drift-detected=false: %+v", clean)
	}

	var res jsonResult
	cliJSON(t, &res, tc.args("results", r.WorkflowID, "--json")...)
	slotDir := filepath.Join(arts, id, r.ScheduledAt.Format(workflows.SlotLayout))
	if res.Rows != 10000 || !res.DriftStatus {
		t.Errorf("results: %+v", res)
	}
	for name, uri := range res.Artifacts {
		if !strings.HasPrefix(uri, slotDir+"/") {
			t.Errorf("artifact %s = %s, want under the slot's prefix %s", name, uri, slotDir)
		}
	}
	if _, err := os.Stat(filepath.Join(slotDir, "run.json")); err != nil {
		t.Errorf("run.json of the slot: %v", err)
	}

	out, err := runCLI(t, tc.args("status", r.WorkflowID)...)
	if err != nil {
		t.Fatalf("status: %v", err)
	}
	for _, s := range []string{"Completed", "job:           " + id, "drift_status:  true", "drift_table_plot"} {
		if !strings.Contains(out, s) {
			t.Errorf("status lacks %q:\n%s", s, out)
		}
	}
	out, err = runCLI(t, tc.args("results", r.WorkflowID)...)
	if err != nil || !strings.Contains(out, "FEATURE") || !strings.Contains(out, "feat_1") {
		t.Errorf("results table: %v\n%s", err, out)
	}

	var desc scheduleView
	cliJSON(t, &desc, tc.args("schedule", "describe", "--id", id, "--json")...)
	if desc.Note != "test schedule" || desc.Overlap != "skip" || len(desc.RecentRuns) != 1 || desc.RecentRuns[0].WorkflowID != r.WorkflowID {
		t.Errorf("describe: %+v", desc)
	}
	if len(desc.Spec) != 1 || desc.Spec[0] != "0 0 1 1 *" {
		t.Errorf("describe spec %q, want the cron expression back", desc.Spec)
	}
	if desc.CatchupWindow != (365 * 24 * time.Hour).String() {
		t.Errorf("catch-up window %s, want one interval (a year)", desc.CatchupWindow)
	}
	if desc.Job["model"] == nil || desc.Job["job"] != id {
		t.Errorf("describe job spec: %v", desc.Job)
	}
	if _, err := runCLI(t, tc.args("status", "batchpredict/none/such")...); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("status of an unknown run: %v", err)
	}
}

// A backfill of three slots starts three runs, each reading the dataset
// of its slot (a templated URI) and writing under its own prefix.
func TestScheduleBackfillThreeSlots(t *testing.T) {
	tc := sharedCluster(t)
	arts := t.TempDir()
	data := t.TempDir()
	batch, err := os.ReadFile(filepath.Join(demoDir, "batch.csv"))
	if err != nil {
		t.Fatal(err)
	}
	days := []string{"2026-01-01", "2026-01-02", "2026-01-03"}
	for _, d := range days {
		dir := filepath.Join(data, "date="+d)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "batch.csv"), batch, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	id := uniqueID("bf")
	dataset := filepath.Join(data, `date={{ .ScheduledTime.Format "2006-01-02" }}`, "batch.csv")
	// Paused: only the backfill starts runs.
	args := tc.args(append([]string{"schedule", "create", "--id", id, "--cron", "@daily", "--paused"}, demoJob(arts, dataset)...)...)
	if out, err := runCLI(t, args...); err != nil {
		t.Fatalf("create: %v\n%s", err, out)
	}
	t.Cleanup(func() { _, _ = runCLI(t, tc.args("schedule", "delete", "--id", id)...) })
	if out, err := runCLI(t, tc.args("schedule", "backfill", "--id", id, "--start", "2025-12-31T12:00:00Z", "--end", "2026-01-03T12:00:00Z")...); err != nil {
		t.Fatalf("backfill: %v\n%s", err, out)
	}
	runs := tc.completedRuns(t, id, 3)
	if len(runs) != 3 {
		t.Fatalf("want 3 runs, got %d", len(runs))
	}
	var prefixes []string
	seen := map[string]bool{}
	for _, r := range runs {
		var res jsonResult
		cliJSON(t, &res, tc.args("results", r.WorkflowID, "--json")...)
		prefix := filepath.Dir(res.RunManifest)
		if seen[prefix] {
			t.Errorf("two runs write under %s", prefix)
		}
		seen[prefix] = true
		prefixes = append(prefixes, prefix)
		if r.ScheduledAt == nil {
			t.Fatalf("run %s has no slot", r.WorkflowID)
		}
		if want := filepath.Join(arts, id, r.ScheduledAt.Format(workflows.SlotLayout)); prefix != want {
			t.Errorf("run %s writes under %s, want %s", r.WorkflowID, prefix, want)
		}
		if !strings.HasSuffix(r.WorkflowID, r.ScheduledAt.Format(time.RFC3339)) {
			t.Errorf("workflow ID %s does not end with its slot %s", r.WorkflowID, r.ScheduledAt.Format(time.RFC3339))
		}
		// The run read its own day's file.
		manifest, err := os.ReadFile(res.RunManifest)
		if err != nil {
			t.Fatal(err)
		}
		if day := r.ScheduledAt.Format("2006-01-02"); !strings.Contains(string(manifest), "date="+day) {
			t.Errorf("run of slot %s did not read date=%s:\n%s", r.ScheduledAt, day, manifest)
		}
	}
	sort.Strings(prefixes)
	for i, d := range days {
		if want := strings.ReplaceAll(d, "-", "") + "T000000Z"; filepath.Base(prefixes[i]) != want {
			t.Errorf("slot prefixes %v, want %s", prefixes, want)
		}
	}
	var desc scheduleView
	cliJSON(t, &desc, tc.args("schedule", "describe", "--id", id, "--json")...)
	if !desc.Paused {
		t.Error("the backfill unpaused the schedule")
	}
}

// Pause, unpause, update in place and delete.
func TestSchedulePauseUnpauseUpdateDelete(t *testing.T) {
	tc := sharedCluster(t)
	arts := t.TempDir()
	id := uniqueID("pz")
	if out, err := runCLI(t, tc.args(append([]string{"schedule", "create", "--id", id, "--cron", "0 3 * * *", "--time-zone", "Asia/Tokyo"}, demoJob(arts, "")...)...)...); err != nil {
		t.Fatalf("create: %v\n%s", err, out)
	}
	describe := func() scheduleView {
		var v scheduleView
		cliJSON(t, &v, tc.args("schedule", "describe", "--id", id, "--json")...)
		return v
	}
	if v := describe(); v.Paused || v.TimeZone != "Asia/Tokyo" || v.CatchupWindow != (24*time.Hour).String() {
		t.Errorf("after create: %+v", v)
	}
	if _, err := runCLI(t, tc.args("schedule", "pause", "--id", id, "--note", "retraining the model")...); err != nil {
		t.Fatal(err)
	}
	if v := describe(); !v.Paused || v.Note != "retraining the model" {
		t.Errorf("after pause: paused %v note %q", v.Paused, v.Note)
	}
	eventually(t, time.Minute, "the paused schedule in schedule list", func() (bool, string) {
		var list []scheduleView
		out, err := runCLI(t, tc.args("schedule", "list", "--json")...)
		if err != nil {
			return false, err.Error()
		}
		cliJSONString(t, out, &list)
		for _, v := range list {
			if v.ID == id {
				return v.Paused, out
			}
		}
		return false, out
	})
	if _, err := runCLI(t, tc.args("schedule", "unpause", "--id", id)...); err != nil {
		t.Fatal(err)
	}
	if v := describe(); v.Paused {
		t.Error("still paused after unpause")
	}

	// Update in place: settings and one job flag; the rest is kept.
	out, err := runCLI(t, tc.args("schedule", "update", "--id", id, "--overlap", "buffer-one", "--cron", "@hourly", "--drift-threshold", "0.6", "--note", "updated")...)
	if err != nil {
		t.Fatalf("update: %v\n%s", err, out)
	}
	v := describe()
	if v.Overlap != "buffer-one" || v.Note != "updated" || v.CatchupWindow != time.Hour.String() || v.TimeZone != "Asia/Tokyo" {
		t.Errorf("after update: %+v", v)
	}
	if len(v.Spec) != 1 || v.Spec[0] != "0 * * * *" {
		t.Errorf("spec after update: %q", v.Spec)
	}
	if v.Job["drift-threshold"] != 0.6 || v.Job["possible-drift-threshold"] != 0.2 || v.Job["job"] != id ||
		!strings.HasSuffix(v.Job["model"].(string), "model") || len(v.Job["dataset"].([]any)) != 1 {
		t.Errorf("job after update: %v", v.Job)
	}
	if _, err := runCLI(t, tc.args("schedule", "update", "--id", id)...); err == nil || !strings.Contains(err.Error(), "nothing to change") {
		t.Errorf("empty update: %v", err)
	}
	if _, err := runCLI(t, tc.args("schedule", "update", "--id", id+"-missing", "--note", "x")...); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("update of a missing schedule: %v", err)
	}

	if _, err := runCLI(t, tc.args("schedule", "delete", "--id", id)...); err != nil {
		t.Fatal(err)
	}
	if _, err := runCLI(t, tc.args("schedule", "describe", "--id", id)...); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("describe after delete: %v", err)
	}
	if _, err := runCLI(t, tc.args("schedule", "delete", "--id", id)...); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("second delete: %v", err)
	}
}
