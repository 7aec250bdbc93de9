package sklearn

import (
	"math"
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad asserts that Load returns an error rather than panicking, hanging
// or exhausting memory on any input, and that whatever loads can be evaluated
// on arbitrary rows without indexing out of range.
func FuzzLoad(f *testing.F) {
	// The smaller fixture files of each kind keep the corpus quick to mutate.
	for _, pattern := range []string{"dt_*/model.p4.pkl", "gb_clf_zero/model.p2.pkl", "hgb_clf_cat/model.p5.pkl",
		"dt_reg/model.joblib", "dt_clf_multi/model.joblib.*", "gb_clf_multi/model.joblib.z", "hgb_reg_poisson/model.p4.pkl"} {
		paths, _ := filepath.Glob(filepath.Join(fixtureRoot, pattern))
		for _, p := range paths {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b)
			}
		}
	}
	f.Add([]byte("\x80\x02cos\nsystem\nX\x02\x00\x00\x00idq\x01\x85R."))
	f.Add([]byte("\x80\x02csklearn.tree._classes\nDecisionTreeRegressor\n)\x81}b."))
	f.Fuzz(func(t *testing.T, data []byte) {
		IsSklearn(data)
		m, err := LoadWithOptions(data, Options{MaxDecompressed: 16 << 20, MaxObjects: 1 << 18})
		if err != nil {
			return
		}
		info := m.Info()
		if info.NumFeatures > 1<<12 || info.NumOutputs > 1<<10 || info.PredColumns > 1<<10 {
			return // valid but too wide to evaluate cheaply here
		}
		const rows = 5
		vals := []float64{0, -1, 1, 0.5, 3, 1e30, -1e30, math.NaN(), math.Inf(1), 16777217, -0.5, 2.5, 300}
		x := make([]float64, rows*info.NumFeatures)
		for i := range x {
			x[i] = vals[(i*7+i/3)%len(vals)]
		}
		raw := make([]float64, rows*info.NumOutputs)
		m.PredictRaw(x, rows, raw)
		pred := make([]float64, rows*info.PredColumns)
		m.TransformRaw(raw, rows, pred)
		if info.NumClasses > 0 {
			m.ClassesOf(pred, rows, make([]int32, rows))
		}
	})
}
