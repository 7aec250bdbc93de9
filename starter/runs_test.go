package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"

	"github.com/batchinfer/batchinfer/activities"
	"github.com/batchinfer/batchinfer/platform"
	"github.com/batchinfer/batchinfer/platform/devserver"
	"github.com/batchinfer/batchinfer/workflows"
)

func cliJSONString(t *testing.T, out string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
}

// specInput runs a command with the job flags and --spec, and returns the
// job input it builds.
func specInput(t *testing.T, args ...string) (workflows.BatchPredictInput, error) {
	t.Helper()
	var (
		job  jobFlags
		spec string
		in   workflows.BatchPredictInput
	)
	cmd := &cobra.Command{Use: "x", SilenceErrors: true, SilenceUsage: true, RunE: func(cmd *cobra.Command, _ []string) error {
		if err := applySpec(cmd, spec); err != nil {
			return err
		}
		var err error
		in, err = job.input(cmd.Context())
		return err
	}}
	job.register(cmd)
	registerSpecFlag(cmd, &spec)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(t.Context())
	return in, err
}

func TestSpecFileYAMLAndJSON(t *testing.T) {
	dir := t.TempDir()
	arts := filepath.Join(dir, "arts")
	model, _ := filepath.Abs(filepath.Join(demoDir, "model"))
	yml := filepath.Join(dir, "job.yaml")
	if err := os.WriteFile(yml, []byte(`# a nightly churn job
dataset:
  - /data/a.csv
  - /data/b.csv
model: `+model+`
label-columns: [churn, churn_b]
drop-columns: "0,customer_id"
artifact-path: `+arts+`
drift-threshold: 0.6
possible-drift-threshold: 0.4
predict-proba: true
job: churn
shard-bytes: 1000000
max-parallel: 4
categorical-columns: [feat_4, labels]
`), 0o644); err != nil {
		t.Fatal(err)
	}
	in, err := specInput(t, "--spec", yml, "--drift-threshold", "0.65")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(in.Dataset, []string{"/data/a.csv", "/data/b.csv"}) || in.Model != model ||
		!slices.Equal(in.LabelColumns, []string{"churn", "churn_b"}) || !slices.Equal(in.DropColumns, []string{"0", "customer_id"}) ||
		in.ArtifactPath != arts || in.PossibleDriftThreshold != 0.4 || !in.PredictProba || in.Job != "churn" ||
		in.ShardBytes != 1000000 || in.MaxParallel != 4 || !slices.Equal(in.CategoricalColumns, []string{"feat_4", "labels"}) {
		t.Errorf("from YAML: %+v", in)
	}
	if spec := inputSpec(in); !slices.Equal(spec["categorical-columns"].([]any), []any{"feat_4", "labels"}) {
		t.Errorf("inputSpec (kept by schedule update) categorical-columns = %v", spec["categorical-columns"])
	}
	if in.DriftThreshold != 0.65 {
		t.Errorf("drift threshold %v: the command line must win over the spec", in.DriftThreshold)
	}
	// Comma-separated and repeated on the command line.
	in, err = specInput(t, "--dataset", "/data/a.csv", "--model", model, "--artifact-path", arts,
		"--categorical-columns", "store,rating", "--categorical-columns", "region")
	if err != nil || !slices.Equal(in.CategoricalColumns, []string{"store", "rating", "region"}) {
		t.Errorf("--categorical-columns: %v, %v", in.CategoricalColumns, err)
	}

	// Chunking and the heartbeat timeout, from the command line and a spec.
	in, err = specInput(t, "--dataset", "/data/a.csv", "--model", model, "--artifact-path", arts,
		"--chunk-rows", "1000", "--heartbeat-timeout", "30s")
	if err != nil || in.ChunkRows != 1000 || in.HeartbeatTimeout != 30*time.Second {
		t.Errorf("--chunk-rows/--heartbeat-timeout: %d, %v, %v", in.ChunkRows, in.HeartbeatTimeout, err)
	}
	if _, err := specInput(t, "--dataset", "/data/a.csv", "--model", model, "--artifact-path", arts,
		"--heartbeat-timeout", "10ms"); err == nil || !strings.Contains(err.Error(), "at least 1s") {
		t.Errorf("--heartbeat-timeout 10ms: want an error, got %v", err)
	}
	hb := filepath.Join(dir, "hb.yaml")
	if err := os.WriteFile(hb, []byte("dataset: /data/a.csv\nmodel: "+model+"\nartifact-path: "+arts+"\nheartbeat-timeout: 45s\nchunk-rows: 2048\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if in, err = specInput(t, "--spec", hb); err != nil || in.HeartbeatTimeout != 45*time.Second || in.ChunkRows != 2048 {
		t.Errorf("spec heartbeat-timeout/chunk-rows: %v, %d, %v", in.HeartbeatTimeout, in.ChunkRows, err)
	}

	js := filepath.Join(dir, "job.json")
	if err := os.WriteFile(js, []byte(`{"dataset": "/data/{{ .ScheduledTime.Format \"2006\" }}.csv", "model": "`+model+`", "artifact-path": "`+arts+`", "shard-rows": 5000, "batch-id": "b1"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	in, err = specInput(t, "--spec", js)
	if err != nil {
		t.Fatal(err)
	}
	if len(in.Dataset) != 1 || in.Dataset[0] != `/data/{{ .ScheduledTime.Format "2006" }}.csv` || in.ShardRows != 5000 || in.BatchID != "b1" {
		t.Errorf("from JSON: %+v", in)
	}

	for name, tc := range map[string]struct{ body, want string }{
		"unknown key":     {"modle: x\n", `unknown key "modle"`},
		"list for scalar": {"model: [a, b]\n", `key "model": takes one value`},
		"bad number":      {"model: m\nmax-parallel: many\n", `max-parallel`},
		"map value":       {"model: {a: 1}\n", `key "model"`},
		"not a mapping":   {"- a\n- b\n", "not a YAML mapping"},
	} {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "bad.yaml")
			_ = os.WriteFile(p, []byte(tc.body), 0o644)
			_, err := specInput(t, "--spec", p)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want error mentioning %q, got %v", tc.want, err)
			}
		})
	}
	if _, err := specInput(t, "--spec", filepath.Join(dir, "missing.yaml")); err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("missing spec file: %v", err)
	}
}

// `run --spec --wait` against a cluster: the business workflow ID, a
// progress bar on stderr when asked for, and the summary on stdout.
func TestRunSpecWaitWithProgressBar(t *testing.T) {
	tc := sharedCluster(t)
	dir := t.TempDir()
	spec := filepath.Join(dir, "job.yaml")
	model, _ := filepath.Abs(filepath.Join(demoDir, "model"))
	data, _ := filepath.Abs(filepath.Join(demoDir, "batch.csv"))
	job := uniqueID("spec")
	if err := os.WriteFile(spec, []byte("dataset: ["+data+"]\nmodel: "+model+"\nartifact-path: "+dir+"\njob: "+job+"\nbatch-id: b-1\nshard-bytes: 32768\nmax-parallel: 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, err := runCLIErr(t, tc.args("run", "--spec", spec, "--wait", "--progress")...)
	if err != nil {
		t.Fatalf("run: %v\n%s\n%s", err, out, errOut)
	}
	if !strings.Contains(out, "batchpredict/"+job+"/b-1") || !strings.Contains(out, "rows scored:   10000") {
		t.Errorf("run output:\n%s", out)
	}
	if !strings.Contains(errOut, "rows") || !strings.Contains(errOut, "10000/10000") {
		t.Errorf("progress bar on stderr:\n%q", errOut)
	}
	// --json: no bar even when asked for.
	out, errOut, err = runCLIErr(t, tc.args("run", "--spec", spec, "--batch-id", "b-2", "--wait", "--json", "--progress")...)
	if err != nil {
		t.Fatalf("run --json: %v\n%s", err, out)
	}
	var res jsonResult
	cliJSONString(t, out, &res)
	if res.Rows != 10000 || errOut != "" {
		t.Errorf("--json: rows %d, stderr %q", res.Rows, errOut)
	}
	// Without --wait: the IDs, and the run is found by job.
	var started map[string]string
	cliJSON(t, &started, tc.args("run", "--spec", spec, "--batch-id", "b-3", "--json")...)
	if started["workflow_id"] != "batchpredict/"+job+"/b-3" || started["run_id"] == "" {
		t.Errorf("started %v", started)
	}
	runs := tc.completedRuns(t, job, 3)
	if len(runs) != 3 {
		t.Errorf("runs of %s: %d", job, len(runs))
	}
}

// The progress query reports monotonic progress over a run: stages in
// order, rows and shards never going back, ending at the total.
func TestProgressQueryIsMonotonic(t *testing.T) {
	tc := sharedCluster(t)
	data, _ := filepath.Abs(filepath.Join(demoDir, "batch.csv"))
	model, _ := filepath.Abs(filepath.Join(demoDir, "model"))
	in := workflows.BatchPredictInput{
		Dataset: []string{data}, Model: model, ArtifactPath: t.TempDir(), Job: uniqueID("progress"),
		ShardBytes: 8 << 10, MaxParallel: 1,
	}
	if err := workflows.Validate(&in); err != nil {
		t.Fatal(err)
	}
	run, err := platform.StartJob(t.Context(), tc.c, activities.TaskQueue, in)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- run.Get(t.Context(), nil) }()
	stages := []string{workflows.StageLoading, workflows.StagePredicting, workflows.StageStatistics, workflows.StageDrift, workflows.StageManifest, workflows.StageDone}
	var seen []workflows.Progress
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
poll:
	for {
		if p, err := queryProgress(t.Context(), tc.c, run.GetID(), run.GetRunID()); err == nil {
			seen = append(seen, p)
		}
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("run: %v", err)
			}
			break poll
		case <-tick.C:
		}
	}
	final, err := queryProgress(t.Context(), tc.c, run.GetID(), run.GetRunID())
	if err != nil {
		t.Fatalf("query after completion: %v", err)
	}
	seen = append(seen, final)
	if final.Stage != workflows.StageDone || final.Rows != 10000 || final.ShardsDone != final.ShardsTotal || final.ShardsTotal < 10 {
		t.Errorf("final progress %+v", final)
	}
	intermediate := 0
	for i, p := range seen {
		if slices.Index(stages, p.Stage) < 0 {
			t.Fatalf("unknown stage %q", p.Stage)
		}
		if p.Rows > 0 && p.Rows < 10000 {
			intermediate++
		}
		if i == 0 {
			continue
		}
		q := seen[i-1]
		if slices.Index(stages, p.Stage) < slices.Index(stages, q.Stage) || p.Rows < q.Rows || p.ShardsDone < q.ShardsDone {
			t.Fatalf("progress went back: %+v then %+v", q, p)
		}
		if q.RowsTotal > 0 && p.RowsTotal != q.RowsTotal {
			t.Fatalf("rows total changed: %+v then %+v", q, p)
		}
	}
	if intermediate == 0 {
		t.Errorf("never saw a run part-way (%d samples): %+v", len(seen), seen)
	}
	t.Logf("%d progress samples, %d part-way", len(seen), intermediate)
}

// After a run, the worker's metrics endpoint has the rows-scored counter
// (and the shard durations, the drift of the job, the SDK's metrics).
func TestMetricsEndpointAfterRun(t *testing.T) {
	tc := sharedCluster(t)
	data, _ := filepath.Abs(filepath.Join(demoDir, "batch.csv"))
	model, _ := filepath.Abs(filepath.Join(demoDir, "model"))
	job := uniqueID("metrics")
	in := workflows.BatchPredictInput{Dataset: []string{data}, Model: model, ArtifactPath: t.TempDir(), Job: job}
	if err := workflows.Validate(&in); err != nil {
		t.Fatal(err)
	}
	run, err := platform.StartJob(t.Context(), tc.c, activities.TaskQueue, in)
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Get(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	text := tc.scrape(t)
	rows := regexp.MustCompile(`(?m)^batchinfer_rows_scored_total\{model="` + regexp.QuoteMeta(model) + `"\} (\S+)$`).FindStringSubmatch(text)
	if rows == nil {
		t.Fatalf("no %s for %s:\n%s", platform.MetricRowsScored, model, text)
	}
	if v, _ := strconv.ParseFloat(rows[1], 64); v < 10000 {
		t.Errorf("rows scored %v, want at least this run's 10000", v)
	}
	for _, want := range []string{
		`batchinfer_shard_duration_seconds_count{model="` + model + `"}`,
		`batchinfer_drift_metric{job="` + job + `"} 0.3018`,
		`batchinfer_drift_detected{job="` + job + `"} 0`,
		`temporal_workflow_completed_total`,
		`temporal_activity_execution_latency_seconds_bucket`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// starter setup registers the search attributes on a namespace that lacks
// them, and is idempotent.
func TestSetupRegistersSearchAttributes(t *testing.T) {
	srv, err := devserver.Start(t.Context(), devserver.Options{Port: -1, DisableUI: true})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	conn := []string{"--address", srv.HostPort(), "--namespace", srv.Namespace()}
	c, err := srv.Dial(client.Options{Logger: sdkLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	in := workflows.BatchPredictInput{Dataset: []string{"/x.csv"}, Model: "/m", ArtifactPath: t.TempDir(), Job: "setup"}
	// Before setup: the start fails, and the error says what to do.
	if _, err := platform.StartJob(t.Context(), c, "nobody-polls", in); err == nil || !strings.Contains(err.Error(), "starter setup") {
		t.Errorf("start before setup: want a hint to run starter setup, got %v", err)
	}
	var st []platform.SearchAttributeStatus
	cliJSON(t, &st, append([]string{"setup", "--json"}, conn...)...)
	if len(st) != len(workflows.SearchAttributes()) {
		t.Fatalf("setup: %+v", st)
	}
	for _, s := range st {
		if !s.Created {
			t.Errorf("%s: want created on a bare namespace", s.Name)
		}
	}
	out, err := runCLI(t, append([]string{"setup"}, conn...)...)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(out, "already registered") != len(workflows.SearchAttributes()) || !regexp.MustCompile(`BatchinferDriftMetric +Double`).MatchString(out) {
		t.Errorf("second setup:\n%s", out)
	}
	// The attributes work: a run can be started with them.
	run, err := platform.StartJob(t.Context(), c, "nobody-polls", in)
	if err != nil {
		t.Fatalf("start with search attributes after setup: %v", err)
	}
	_ = c.TerminateWorkflow(t.Context(), run.GetID(), run.GetRunID(), "test done")
}
