package scoring

import (
	"encoding/binary"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/batchinfer/batchinfer/internal/bundle"
	"github.com/batchinfer/batchinfer/internal/dataset"
)

// Models of every framework go through the pipeline (content detection,
// feature mapping, label columns, probabilities) and give the library's own
// predictions. Tolerances: LightGBM transformed outputs 1e-14 relative (libm
// exp), scikit-learn and raw regressions exact.
func TestPipelineMatchesEachLibrary(t *testing.T) {
	const lgb = "../../../shared/fixtures/lightgbm-4"
	const skl = "../model/sklearn/testdata/sklearn-1.2"
	cases := []struct {
		name, model, data string
		drop              []string
		proba             bool
		expected          func(t *testing.T) (labels []float64, proba [][]float64)
		probaNames        []string
		tol               float64
	}{
		{name: "lightgbm binary", model: lgb + "/binary_nan/model.txt", data: lgb + "/binary_nan/eval.csv",
			drop: []string{"label"}, proba: true, tol: 1e-14,
			probaNames: []string{"predicted_label_proba_0", "predicted_label_proba_1"},
			expected: func(t *testing.T) ([]float64, [][]float64) {
				p := readCSVColumn(t, lgb+"/binary_nan/expected_pred.csv", 0)
				labels := make([]float64, len(p))
				pr := make([][]float64, len(p))
				for i, v := range p {
					if v > 0.5 {
						labels[i] = 1
					}
					pr[i] = []float64{1 - v, v}
				}
				return labels, pr
			}},
		{name: "lightgbm regression", model: lgb + "/regression_l2/model.txt", data: lgb + "/regression_l2/eval.csv",
			drop: []string{"label"}, tol: 0,
			expected: func(t *testing.T) ([]float64, [][]float64) {
				return readCSVColumn(t, lgb+"/regression_l2/expected_pred.csv", 0), nil
			}},
		{name: "sklearn random forest, classes 3 5 7 9", model: skl + "/rf_clf_multi/model.p5.pkl", data: skl + "/rf_clf_multi/eval.csv",
			proba: true, tol: 0,
			probaNames: []string{"predicted_label_proba_3", "predicted_label_proba_5", "predicted_label_proba_7", "predicted_label_proba_9"},
			expected: func(t *testing.T) ([]float64, [][]float64) {
				classes := []float64{3, 5, 7, 9}
				idx := readI32(t, skl+"/rf_clf_multi/expected_class.i32")
				p := readF64(t, skl+"/rf_clf_multi/expected_pred.f64")
				labels := make([]float64, len(idx))
				pr := make([][]float64, len(idx))
				for i, c := range idx {
					labels[i] = classes[c]
					pr[i] = p[4*i : 4*i+4]
				}
				return labels, pr
			}},
		{name: "sklearn gradient boosting regressor, joblib zlib", model: skl + "/gb_reg/model.joblib.z", data: skl + "/gb_reg/eval.csv", tol: 0,
			expected: func(t *testing.T) ([]float64, [][]float64) {
				return readF64(t, skl+"/gb_reg/expected_pred.f64"), nil
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := os.Stat(tc.model); err != nil {
				t.Skipf("fixture missing: %v", err)
			}
			l, err := bundle.Load(t.Context(), tc.model)
			if err != nil {
				t.Fatal(err)
			}
			m, err := NewModel(l)
			if err != nil {
				t.Fatal(err)
			}
			man := plan(t, []string{tc.data}, 1<<40)
			dir := t.TempDir()
			res, err := ScoreShard(t.Context(), ShardInput{Manifest: man, Shard: 0, Model: m, DropColumns: tc.drop,
				PredictProba: tc.proba, ResultSet: filepath.Join(dir, "p"), Partials: filepath.Join(dir, "s")})
			if err != nil {
				t.Fatal(err)
			}
			wantLabels, wantProba := tc.expected(t)
			r, err := dataset.Open(t.Context(), dataset.File{URI: filepath.Join(dir, "p", ChunkPartName(0, 0, FormatParquet)), Format: dataset.Parquet, Size: -1}, dataset.Options{BatchRows: 1 << 20})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			rec, err := r.Next()
			if err != nil {
				t.Fatal(err)
			}
			rec.Retain() // Next releases the record it returned before
			defer rec.Release()
			if _, err := r.Next(); !errors.Is(err, io.EOF) || res.Rows != int64(len(wantLabels)) || rec.NumRows() != res.Rows {
				t.Fatalf("rows: result %d, record %d, expected %d", res.Rows, rec.NumRows(), len(wantLabels))
			}
			sch := rec.Schema()
			li := sch.FieldIndices("predicted_label")
			if len(li) != 1 {
				t.Fatalf("no predicted_label column in %v", sch)
			}
			lab, _ := dataset.Float64s(rec.Column(li[0]), nil)
			for i, want := range wantLabels {
				if !closeRel(lab[i], want, tc.tol) {
					t.Fatalf("row %d: label %v, library %v", i, lab[i], want)
				}
			}
			for k, name := range tc.probaNames {
				ci := sch.FieldIndices(name)
				if len(ci) != 1 {
					t.Fatalf("no %s column in %v", name, sch)
				}
				col := rec.Column(ci[0]).(*array.Float64)
				for i := range wantProba {
					if !closeRel(col.Value(i), wantProba[i][k], tc.tol) {
						t.Fatalf("row %d %s: %v, library %v", i, name, col.Value(i), wantProba[i][k])
					}
				}
			}
			for _, d := range tc.drop {
				if len(sch.FieldIndices(d)) != 0 {
					t.Errorf("dropped column %s in the result set", d)
				}
			}
		})
	}
}

func closeRel(a, b, tol float64) bool {
	if a == b {
		return true
	}
	return math.Abs(a-b) <= tol*math.Max(math.Abs(a), math.Abs(b))
}

func readCSVColumn(t *testing.T, path string, col int) []float64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []float64
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		v, err := strconv.ParseFloat(strings.Split(line, ",")[col], 64)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

func readF64(t *testing.T, path string) []float64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float64, len(b)/8)
	for i := range out {
		out[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
	}
	return out
}

func readI32(t *testing.T, path string) []int32 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]int32, len(b)/4)
	for i := range out {
		out[i] = int32(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}
