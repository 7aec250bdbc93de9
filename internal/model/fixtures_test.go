package model

import (
	"encoding/binary"
	"encoding/csv"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// fixtureCase is one directory of reference predictions: model.json,
// model.ubj, eval.csv, expected_margin.f32, expected_pred.f32.
type fixtureCase struct {
	dir       string
	objective string
	features  int
	outputs   int
	classes   int
}

// Shared XGBoost 3.4.1 fixtures (see /work/shared/fixtures/README.md).
const xgb3Dir = "../../../shared/fixtures/xgboost-3"

var xgb3Cases = []fixtureCase{
	{dir: "binary_categorical", objective: "binary:logistic", features: 8, outputs: 1, classes: 2},
	{dir: "binary_logistic_nan", objective: "binary:logistic", features: 20, outputs: 1, classes: 2},
	{dir: "count_poisson", objective: "count:poisson", features: 10, outputs: 1},
	{dir: "multi_softprob", objective: "multi:softprob", features: 10, outputs: 3, classes: 3},
	{dir: "reg_absoluteerror", objective: "reg:absoluteerror", features: 10, outputs: 1},
	{dir: "reg_quantileerror_multi", objective: "reg:quantileerror", features: 10, outputs: 3},
	{dir: "reg_squarederror", objective: "reg:squarederror", features: 10, outputs: 1},
}

func TestXGBoost3Fixtures(t *testing.T) {
	if _, err := os.Stat(xgb3Dir); err != nil {
		t.Skipf("shared fixtures not present: %v", err)
	}
	runFixtureCases(t, xgb3Dir, xgb3Cases)
}

func runFixtureCases(t *testing.T, root string, cases []fixtureCase) {
	t.Helper()
	for _, c := range cases {
		dir := filepath.Join(root, c.dir)
		x, x64, rows, nf := readEvalCSV(t, filepath.Join(dir, "eval.csv"))
		wantMargin := readF32(t, filepath.Join(dir, "expected_margin.f32"))
		wantPred := readF32(t, filepath.Join(dir, "expected_pred.f32"))
		for _, file := range []string{"model.json", "model.ubj"} {
			t.Run(c.dir+"/"+file, func(t *testing.T) {
				m, err := LoadFile(filepath.Join(dir, file))
				if err != nil {
					t.Fatal(err)
				}
				info := m.Info()
				if info.Objective != c.objective || info.NumFeatures != c.features ||
					info.NumOutputs != c.outputs || info.NumClasses != c.classes {
					t.Fatalf("Info() = objective %q features %d outputs %d classes %d; want %q %d %d %d",
						info.Objective, info.NumFeatures, info.NumOutputs, info.NumClasses,
						c.objective, c.features, c.outputs, c.classes)
				}
				if want := strings.TrimPrefix(filepath.Ext(file), "."); info.Format != want {
					t.Errorf("Format = %q, want %q", info.Format, want)
				}
				if nf != info.NumFeatures {
					t.Fatalf("eval.csv has %d feature columns, model %d", nf, info.NumFeatures)
				}
				k := info.NumOutputs
				if len(wantMargin) != rows*k {
					t.Fatalf("expected_margin.f32 has %d values, want %d", len(wantMargin), rows*k)
				}
				margin := make([]float32, rows*k)
				m.PredictMargin(x, rows, margin)
				// Margins: bit-identical (float32 accumulation in tree order).
				bad := 0
				for i := range margin {
					if math.Float32bits(margin[i]) != math.Float32bits(wantMargin[i]) {
						if bad < 5 {
							t.Errorf("margin row %d col %d = %.9g, want %.9g", i/k, i%k, margin[i], wantMargin[i])
						}
						bad++
					}
				}
				if bad > 0 {
					t.Fatalf("%d of %d margins differ", bad, len(margin))
				}
				// Batch-size independence: row by row equals the batch.
				one := make([]float32, k)
				for r := 0; r < rows; r += 97 {
					m.PredictMargin(x[r*nf:(r+1)*nf], 1, one)
					for j := range one {
						if math.Float32bits(one[j]) != math.Float32bits(margin[r*k+j]) {
							t.Fatalf("row %d predicted alone differs from batch", r)
						}
					}
				}
				pc := info.PredColumns
				pred := make([]float32, rows*pc)
				m.Transform(margin, rows, pred)
				if len(wantPred) != rows*pc {
					t.Fatalf("expected_pred.f32 has %d values, want %d", len(wantPred), rows*pc)
				}
				// Transformed outputs: within 2 ulp (exp differs across libms).
				bad = 0
				var maxUlp int64
				for i := range pred {
					d := ulpDiff(pred[i], wantPred[i])
					maxUlp = max(maxUlp, d)
					if d > 2 {
						if bad < 5 {
							t.Errorf("pred row %d col %d = %.9g, want %.9g (%d ulp)", i/pc, i%pc, pred[i], wantPred[i], d)
						}
						bad++
					}
				}
				if bad > 0 {
					t.Fatalf("%d of %d preds beyond 2 ulp", bad, len(pred))
				}
				t.Logf("%d rows: margins bit-identical, preds max %d ulp", rows, maxUlp)
				// In-place Transform gives the same result.
				inplace := append([]float32(nil), margin...)
				m.Transform(inplace, rows, inplace)
				for i := range pred {
					if math.Float32bits(inplace[i]) != math.Float32bits(pred[i]) {
						t.Fatalf("in-place Transform differs at %d", i)
					}
				}
				if info.NumClasses > 0 {
					cls := make([]int32, rows)
					m.Classes(pred, rows, cls)
					for r := 0; r < rows; r++ {
						if want := refClass(wantPred[r*pc:(r+1)*pc], info); cls[r] != want {
							t.Fatalf("class row %d = %d, want %d", r, cls[r], want)
						}
					}
				}
				checkFloat64API(t, m, x64, rows, margin, pred)
			})
		}
	}
}

// checkFloat64API runs the Predictor (float64) methods on the float64 inputs
// and checks them bit for bit against the float32 methods' results (margin,
// pred), which the caller has checked against XGBoost.
func checkFloat64API(t *testing.T, m *Model, x64 []float64, rows int, margin, pred []float32) {
	t.Helper()
	var p Predictor = m
	info := p.Info()
	k, pc := info.NumOutputs, info.PredColumns
	raw := make([]float64, rows*k)
	p.PredictRaw(x64, rows, raw)
	for i := range raw {
		if math.Float64bits(raw[i]) != math.Float64bits(float64(margin[i])) {
			t.Fatalf("PredictRaw row %d col %d = %v, want %v", i/k, i%k, raw[i], margin[i])
		}
	}
	out := make([]float64, rows*pc)
	p.TransformRaw(raw, rows, out)
	for i := range out {
		if math.Float64bits(out[i]) != math.Float64bits(float64(pred[i])) {
			t.Fatalf("TransformRaw row %d col %d = %v, want %v", i/pc, i%pc, out[i], pred[i])
		}
	}
	// In place, as the pipeline may call it.
	p.TransformRaw(raw, rows, raw)
	for i := range out {
		if math.Float64bits(raw[i]) != math.Float64bits(out[i]) {
			t.Fatalf("in-place TransformRaw differs at %d", i)
		}
	}
	if info.NumClasses > 0 {
		want := make([]int32, rows)
		m.Classes(pred, rows, want)
		got := make([]int32, rows)
		p.ClassesOf(out, rows, got)
		for r := range got {
			if got[r] != want[r] {
				t.Fatalf("ClassesOf row %d = %d, Classes %d", r, got[r], want[r])
			}
		}
	}
}

// refClass is the sklearn rule applied to the reference predictions.
func refClass(p []float32, info Info) int32 {
	if info.Objective == "multi:softmax" {
		return int32(p[0])
	}
	if len(p) == 1 {
		if info.Objective == "binary:logitraw" {
			if p[0] > 0 {
				return 1
			}
			return 0
		}
		if p[0] > 0.5 {
			return 1
		}
		return 0
	}
	best := 0
	for j := range p {
		if p[j] > p[best] {
			best = j
		}
	}
	return int32(best)
}

// ulpDiff is the distance in units of last place between two float32 values
// (NaN equals NaN; +0 equals -0).
func ulpDiff(a, b float32) int64 {
	if a != a || b != b {
		if a != a && b != b {
			return 0
		}
		return math.MaxInt64
	}
	key := func(f float32) int64 {
		u := int64(math.Float32bits(f))
		if u&(1<<31) != 0 {
			return -(u &^ (1 << 31))
		}
		return u
	}
	d := key(a) - key(b)
	if d < 0 {
		d = -d
	}
	return d
}

// readEvalCSV reads eval.csv: header, label column(s) named label*, then the
// features; values parsed as float64 (x64) and converted to float32 (x).
func readEvalCSV(t *testing.T, path string) (x []float32, x64 []float64, rows, nf int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	header := recs[0]
	first := 0
	for first < len(header) && strings.HasPrefix(header[first], "label") {
		first++
	}
	nf = len(header) - first
	for _, rec := range recs[1:] {
		for _, s := range rec[first:] {
			v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			x = append(x, float32(v))
			x64 = append(x64, v)
		}
	}
	return x, x64, len(recs) - 1, nf
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

// fixtureParams is the subset of a generated params.json the tests read.
type fixtureParams struct {
	Objective string `json:"objective"`
	Features  int    `json:"num_features"`
	Outputs   int    `json:"num_outputs"`
	Classes   int    `json:"num_classes"`
}

func readParams(t *testing.T, path string) fixtureParams {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var p fixtureParams
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return p
}

// XGBoost 1.7.4 fixtures generated by testdata/gen_xgboost.py.
func TestXGBoost17Fixtures(t *testing.T) {
	root := filepath.Join("testdata", "xgboost-1.7")
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Skipf("no generated fixtures: %v", err)
	}
	var cases []fixtureCase
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		p := readParams(t, filepath.Join(root, e.Name(), "params.json"))
		cases = append(cases, fixtureCase{
			dir: e.Name(), objective: p.Objective, features: p.Features,
			outputs: p.Outputs, classes: p.Classes,
		})
	}
	if len(cases) == 0 {
		t.Skip("no generated fixtures")
	}
	runFixtureCases(t, root, cases)
}
