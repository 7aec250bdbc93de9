package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/batchinfer/batchinfer/internal/dataset"
	"github.com/batchinfer/batchinfer/internal/stats"
)

const demoDir = "../examples/demo"

// runCLI runs the starter in-process and returns its standard output.
func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := newRootCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(io.Discard)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(t.Context())
	return out.String(), err
}

func readF32(t *testing.T, path string) []float32 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

// expectedDrift is examples/demo/expected_drift.json: MLRun's numbers for
// the demo, computed by generate.py with pandas/numpy.
type expectedDrift struct {
	Reference map[string]map[string]any `json:"reference_statistics"`
	Dataset   map[string]map[string]any `json:"dataset_statistics"`
	Features  map[string]struct {
		TVD       float64 `json:"tvd"`
		Hellinger float64 `json:"hellinger"`
		KLD       float64 `json:"kld"`
		Value     float64 `json:"drift_value"`
		Status    string  `json:"status"`
	} `json:"features"`
	DriftMetric float64 `json:"drift_metric"`
	DriftStatus bool    `json:"drift_status"`
}

// close1e12 compares to 1e-12, relative for large magnitudes (drift-spec
// section 5: numpy sums pairwise, we sum in order).
func close1e12(a, b float64) bool {
	return math.Abs(a-b) <= 1e-12*math.Max(1, math.Max(math.Abs(a), math.Abs(b)))
}

// ulps32 is the distance in float32 units in the last place.
func ulps32(a, b float32) int64 {
	ia, ib := int64(int32(math.Float32bits(a))), int64(int32(math.Float32bits(b)))
	if ia > ib {
		return ia - ib
	}
	return ib - ia
}

func TestRunLocalDemoMatchesXGBoostAndPandas(t *testing.T) {
	arts := t.TempDir()
	out, err := runCLI(t, "run", "--local", "--json", "--predict-proba",
		"--dataset", filepath.Join(demoDir, "batch.csv"),
		"--model", filepath.Join(demoDir, "model"),
		"--artifact-path", arts)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out)
	}
	var res jsonResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("--json output is not one JSON object: %v\n%s", err, out)
	}
	if res.Rows != 10000 || res.RunID == "" || res.BatchID == "" {
		t.Fatalf("summary %+v", res)
	}
	runDir := filepath.Join(arts, res.RunID)
	for _, name := range []string{"dataset_statistics", "drift_results", "features_drift_results", "drift_table_plot", "drift_extended_results"} {
		if p := res.Artifacts[name]; !strings.HasPrefix(p, runDir) {
			t.Errorf("artifact %s = %q, want under %s", name, p, runDir)
		} else if _, err := os.Stat(p); err != nil {
			t.Errorf("artifact %s: %v", name, err)
		}
	}
	if _, err := os.Stat(filepath.Join(runDir, "run.json")); err != nil {
		t.Errorf("run.json: %v", err)
	}

	// Predictions: classes and probabilities against XGBoost 1.7.4's own.
	proba := readF32(t, filepath.Join(demoDir, "expected_proba.f32"))
	files, err := dataset.Resolve(t.Context(), []string{res.ResultSet})
	if err != nil {
		t.Fatal(err)
	}
	r, err := dataset.OpenAll(t.Context(), files, dataset.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	wantCols := []string{"feat_0", "feat_1", "feat_2", "feat_3", "feat_4", "labels", "labels_proba_0", "labels_proba_1"}
	var gotCols []string
	for _, f := range r.Schema().Fields() {
		gotCols = append(gotCols, f.Name)
	}
	if strings.Join(gotCols, ",") != strings.Join(wantCols, ",") {
		t.Fatalf("result set columns %v, want %v", gotCols, wantCols)
	}
	row := 0
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		labels := rec.Column(5).(*array.Int64)
		p1 := rec.Column(7).(*array.Float64)
		for i := 0; i < int(rec.NumRows()); i++ {
			want := proba[row]
			got := float32(p1.Value(i))
			if float64(got) != p1.Value(i) {
				t.Fatalf("row %d: probability %v is not a float32 value", row, p1.Value(i))
			}
			if ulps32(got, want) > 2 {
				t.Fatalf("row %d: probability %v, XGBoost %v (more than 2 ulp)", row, got, want)
			}
			wantClass := int64(0)
			if want > 0.5 {
				wantClass = 1
			}
			if labels.Value(i) != wantClass {
				t.Fatalf("row %d: class %d, XGBoost %d", row, labels.Value(i), wantClass)
			}
			row++
		}
	}
	if row != 10000 {
		t.Fatalf("result set has %d rows", row)
	}

	// Statistics and drift against pandas/numpy (MLRun's method).
	var exp expectedDrift
	b, err := os.ReadFile(filepath.Join(demoDir, "expected_drift.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &exp); err != nil {
		t.Fatal(err)
	}
	b, err = os.ReadFile(res.Artifacts["dataset_statistics"])
	if err != nil {
		t.Fatal(err)
	}
	ds, err := stats.ParseDataset(b)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range exp.Dataset {
		got, ok := ds.Get(name)
		if !ok {
			t.Errorf("dataset_statistics lacks %s", name)
			continue
		}
		for key, gotV := range map[string]float64{"count": got.Count, "mean": got.Mean, "std": got.Std, "min": got.Min,
			"25%": got.Q25, "50%": got.Q50, "75%": got.Q75, "max": got.Max} {
			if w := want[key].(float64); !close1e12(gotV, w) {
				t.Errorf("%s %s = %v, pandas %v", name, key, gotV, w)
			}
		}
		hist := want["hist"].([]any)
		counts, edges := hist[0].([]any), hist[1].([]any)
		for i := range counts {
			if got.Hist.Counts[i] != int64(counts[i].(float64)) {
				t.Errorf("%s hist[%d] = %d, numpy %v", name, i, got.Hist.Counts[i], counts[i])
			}
		}
		for i := range edges {
			if got.Hist.Edges[i] != edges[i].(float64) {
				t.Errorf("%s edge[%d] = %v, want %v exactly", name, i, got.Hist.Edges[i], edges[i])
			}
		}
	}
	var driftResults map[string]any
	b, _ = os.ReadFile(res.Artifacts["drift_results"])
	if err := json.Unmarshal(b, &driftResults); err != nil {
		t.Fatal(err)
	}
	var featuresDrift map[string]float64
	b, _ = os.ReadFile(res.Artifacts["features_drift_results"])
	if err := json.Unmarshal(b, &featuresDrift); err != nil {
		t.Fatal(err)
	}
	for name, want := range exp.Features {
		got, ok := driftResults[name].(map[string]any)
		if !ok {
			t.Errorf("drift_results lacks %s", name)
			continue
		}
		if !close1e12(got["tvd"].(float64), want.TVD) || !close1e12(got["hellinger"].(float64), want.Hellinger) || !close1e12(got["kld"].(float64), want.KLD) {
			t.Errorf("%s: drift %v, numpy %+v", name, got, want)
		}
		if !close1e12(featuresDrift[name], want.Value) {
			t.Errorf("%s: features_drift %v, numpy %v", name, featuresDrift[name], want.Value)
		}
		if res.FeatureStatus[name] != want.Status {
			t.Errorf("%s: status %s, want %s", name, res.FeatureStatus[name], want.Status)
		}
	}
	// The probability columns have no reference: reported, not compared.
	if _, ok := res.FeatureStatus["labels_proba_1"]; ok {
		t.Error("a column without reference statistics must not get a drift status")
	}
	if !close1e12(res.DriftMetric, exp.DriftMetric) || res.DriftStatus != exp.DriftStatus {
		t.Errorf("drift_metric %v status %v, numpy %v %v", res.DriftMetric, res.DriftStatus, exp.DriftMetric, exp.DriftStatus)
	}
	// MLRun's drift_results has exactly its keys: features and the six aggregates.
	if len(driftResults) != len(exp.Features)+6 {
		t.Errorf("drift_results has %d keys, want %d features + 6 aggregates", len(driftResults), len(exp.Features))
	}
	ext, _ := os.ReadFile(res.Artifacts["drift_extended_results"])
	for _, s := range []string{"psi", "feat_1"} {
		if !bytes.Contains(ext, []byte(s)) {
			t.Errorf("drift_extended_results lacks %q", s)
		}
	}
	html, _ := os.ReadFile(res.Artifacts["drift_table_plot"])
	for _, s := range []string{"feat_1", "DRIFT_DETECTED", "POSSIBLE_DRIFT"} {
		if !bytes.Contains(html, []byte(s)) {
			t.Errorf("drift_table_plot lacks %q", s)
		}
	}
}

// withID writes the demo batch with two extra leading columns, id and
// region, which are not model features.
func withID(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(demoDir, "batch.csv"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	var sb strings.Builder
	for i, l := range lines {
		if i == 0 {
			sb.WriteString("id,region," + l + "\n")
			continue
		}
		fmt.Fprintf(&sb, "%d,r%d,%s\n", i, i%3, l)
	}
	p := filepath.Join(t.TempDir(), "batch_with_id.csv")
	if err := os.WriteFile(p, []byte(sb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRunLocalHumanSummaryAndCSVResult(t *testing.T) {
	arts := t.TempDir()
	out, err := runCLI(t, "run", "--local", "--result-format", "csv", "--result-set", "scored",
		"--dataset", withID(t), "--model", filepath.Join(demoDir, "model"),
		"--drop-columns", "0", "--label-columns", "churn", "--batch-id", "b-42",
		"--artifact-path", arts)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out)
	}
	for _, s := range []string{"rows scored:   10000", "drift_status:", "feat_1", "DRIFT_DETECTED", "result_set", "scored"} {
		if !strings.Contains(out, s) {
			t.Errorf("summary lacks %q:\n%s", s, out)
		}
	}
	parts, _ := filepath.Glob(filepath.Join(arts, "*", "scored", "part-00000-0000.csv"))
	if len(parts) != 1 {
		t.Fatalf("csv part: %v", parts)
	}
	b, _ := os.ReadFile(parts[0])
	if !strings.HasPrefix(string(b), "region,feat_0,feat_1,feat_2,feat_3,feat_4,churn\n") {
		t.Errorf("csv header: %q", strings.SplitN(string(b), "\n", 2)[0])
	}
}

func TestRunRejectsBadFlagsBeforeStarting(t *testing.T) {
	dir := t.TempDir()
	big := "[" + strings.Repeat(`{"feat_0":1.5},`, 100000) + `{"feat_0":1}]`
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no dataset", []string{"run", "--local", "--model", "m"}, "--dataset"},
		{"no model", []string{"run", "--local", "--dataset", "d.csv"}, "--model"},
		{"bad format", []string{"run", "--local", "--dataset", "d.csv", "--model", "m", "--result-format", "xlsx", "--artifact-path", dir}, "xlsx"},
		{"oversize inline sample", []string{"run", "--local", "--inline-sample", big, "--model", "m", "--artifact-path", dir}, "limit"},
		{"rows without columns", []string{"run", "--local", "--inline-sample", "[[1,2]]", "--model", "m", "--artifact-path", dir}, "feature"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := runCLI(t, tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("want error mentioning %q, got %v", tt.want, err)
			}
		})
	}
}

func TestRunLocalInlineSample(t *testing.T) {
	arts := t.TempDir()
	out, err := runCLI(t, "run", "--local", "--json", "--artifact-path", arts,
		"--model", filepath.Join(demoDir, "model"),
		"--feature-columns", "feat_0,feat_1,feat_2,feat_3,feat_4",
		"--inline-sample", "[[0.1,2.0,0.5,3.0,4],[1.5,-1.0,2.5,0.5,9]]")
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out)
	}
	var res jsonResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	if res.Rows != 2 || !res.DriftPerformed {
		t.Errorf("summary %+v", res)
	}
	inline, _ := filepath.Glob(filepath.Join(arts, "inline", "*.jsonl"))
	if len(inline) != 1 {
		t.Errorf("inline sample not written to the artifact store: %v", inline)
	}
}

func TestModelRegisterRoundTrip(t *testing.T) {
	dir := t.TempDir()
	bundleDir := filepath.Join(dir, "bundle")
	out, err := runCLI(t, "model", "register", "--model", filepath.Join(demoDir, "model", "model.json"),
		"--training-set", filepath.Join(demoDir, "train.csv"), "--label-columns", "labels", "--to", bundleDir)
	if err != nil {
		t.Fatalf("register: %v\n%s", err, out)
	}
	got, err := os.ReadFile(filepath.Join(bundleDir, "bundle.json"))
	if err != nil {
		t.Fatal(err)
	}
	var spec map[string]json.RawMessage
	if err := json.Unmarshal(got, &spec); err != nil {
		t.Fatal(err)
	}
	ref, err := stats.ParseDataset(spec["feature_stats"])
	if err != nil {
		t.Fatal(err)
	}
	var exp expectedDrift
	b, _ := os.ReadFile(filepath.Join(demoDir, "expected_drift.json"))
	_ = json.Unmarshal(b, &exp)
	if ref.Len() != len(exp.Reference) {
		t.Fatalf("feature_stats has %d columns, pandas %d", ref.Len(), len(exp.Reference))
	}
	for name, want := range exp.Reference {
		c, ok := ref.Get(name)
		if !ok {
			t.Fatalf("feature_stats lacks %s", name)
		}
		if !close1e12(c.Mean, want["mean"].(float64)) || !close1e12(c.Std, want["std"].(float64)) ||
			c.Q25 != want["25%"].(float64) || c.Q75 != want["75%"].(float64) {
			t.Errorf("%s: %+v, pandas %v", name, c, want)
		}
	}
	if _, err := runCLI(t, "model", "register", "--model", filepath.Join(demoDir, "model", "model.json"),
		"--training-set", filepath.Join(demoDir, "train.csv"), "--label-columns", "nope", "--to", filepath.Join(dir, "x")); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("unknown label column: %v", err)
	}
}

// TestModelRegisterCategoricalColumns: --categorical-columns (comma-separated
// and repeated) is recorded in bundle.json as categorical_columns, in
// training-column order, and those columns' feature_stats are pandas' value
// counts (pandas 1.5.3: pd.read_csv(train.csv).feat_4.value_counts()); a
// float column with fractions, or an unknown name, is refused.
func TestModelRegisterCategoricalColumns(t *testing.T) {
	dir := t.TempDir()
	bundleDir := filepath.Join(dir, "bundle")
	register := func(to string, extra ...string) (string, error) {
		return runCLI(t, append([]string{"model", "register", "--model", filepath.Join(demoDir, "model", "model.json"),
			"--training-set", filepath.Join(demoDir, "train.csv"), "--label-columns", "labels", "--to", to}, extra...)...)
	}
	out, err := register(bundleDir, "--categorical-columns", "labels,feat_4", "--categorical-columns", "feat_4")
	if err != nil {
		t.Fatalf("register: %v\n%s", err, out)
	}
	if !strings.Contains(out, "categorical columns [feat_4 labels]") {
		t.Errorf("output does not list the categorical columns:\n%s", out)
	}
	got, err := os.ReadFile(filepath.Join(bundleDir, "bundle.json"))
	if err != nil {
		t.Fatal(err)
	}
	var spec struct {
		CategoricalColumns []string        `json:"categorical_columns"`
		FeatureStats       json.RawMessage `json:"feature_stats"`
	}
	if err := json.Unmarshal(got, &spec); err != nil {
		t.Fatal(err)
	}
	if strings.Join(spec.CategoricalColumns, ",") != "feat_4,labels" {
		t.Errorf("categorical_columns %v, want [feat_4 labels]", spec.CategoricalColumns)
	}
	ref, err := stats.ParseDataset(spec.FeatureStats)
	if err != nil {
		t.Fatal(err)
	}
	feat4, _ := ref.Get("feat_4")
	want := map[string]int64{"0": 984, "1": 993, "2": 961, "3": 975, "4": 1024, "5": 1008, "6": 1031, "7": 1004, "8": 993, "9": 1027}
	if feat4.Kind != stats.KindCategorical || feat4.Hist != nil || feat4.Freqs == nil || len(feat4.Freqs.Values) != len(want) {
		t.Fatalf("feat_4 statistics %+v", feat4)
	}
	for v, n := range want {
		if c, ok := feat4.Freqs.Count(v); !ok || c != n {
			t.Errorf("feat_4 %q: count %d, pandas %d", v, c, n)
		}
	}
	if c, _ := ref.Get("feat_3"); c.Kind != stats.KindNumeric || c.Hist == nil {
		t.Errorf("feat_3 must stay numeric: %+v", c)
	}

	for _, tc := range []struct {
		flag string
		want []string
	}{
		{"feat_2", []string{"feat_2", "non-integral", "row 0"}},
		{"feat_9", []string{"feat_9", "not in the training set"}},
	} {
		if _, err := register(filepath.Join(dir, tc.flag), "--categorical-columns", tc.flag); err == nil {
			t.Errorf("--categorical-columns %s: no error", tc.flag)
		} else {
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("--categorical-columns %s: error %q does not mention %q", tc.flag, err, w)
				}
			}
		}
	}
}
