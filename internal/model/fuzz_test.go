package model

import (
	"math"
	"os"
	"strings"
	"testing"
)

// FuzzLoad asserts that Load returns an error rather than panicking, hanging
// or exhausting memory on any input, and that whatever loads can be evaluated
// on arbitrary rows without indexing out of range.
func FuzzLoad(f *testing.F) {
	good := tinyModel("binary:logistic", "")
	f.Add([]byte(good))
	f.Add([]byte(synthModel(3, 3, 3, 4, "multi:softprob", "[1E-1,2E-1,3E-1]", 3)))
	f.Add(randomModel(8, 3, 4, 3, 0, 0.1))
	f.Add([]byte(strings.Replace(good, `"left_children":[1,-1,-1]`, `"left_children":[1,0,-1]`, 1)))
	f.Add([]byte(strings.Replace(good, `"split_indices":[1,0,0]`, `"split_indices":[99,0,0]`, 1)))
	f.Add([]byte("{L\x00\x00\x00\x00\x00\x00\x00\x07learner[$d#L\x7f\xff\xff\xff\xff\xff\xff\xff}"))
	f.Add([]byte("binf"))
	f.Add([]byte("{\"learner\":NaN}"))
	for _, path := range fixtureModelFiles() {
		// Keep the corpus small: only the smaller fixture files.
		if st, err := os.Stat(path); err == nil && st.Size() < 200_000 {
			if data, err := os.ReadFile(path); err == nil {
				f.Add(data)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Load(data)
		if err != nil {
			return
		}
		info := m.Info()
		if info.NumFeatures > 1<<16 || info.NumOutputs > 1<<10 {
			return // valid but too wide to evaluate cheaply here
		}
		const rows = 9 // one lock-step group plus a remainder row
		x := make([]float32, rows*info.NumFeatures)
		vals := []float32{0, -1, 1, 0.5, 3, 1e30, -1e30, float32NaN(), 16777216, -0.5, 2.5, 40}
		for i := range x {
			x[i] = vals[(i*7+i/3)%len(vals)]
		}
		margin := make([]float32, rows*info.NumOutputs)
		m.PredictMargin(x, rows, margin)
		// The fast path (unchecked indexing) must agree with the general one.
		general := make([]float32, rows*info.NumOutputs)
		if m.bias == nil {
			m.predictGeneral(x, rows, general)
			for i := range general {
				if math.Float32bits(general[i]) != math.Float32bits(margin[i]) {
					t.Fatalf("output %d: fast path %v, general path %v", i, margin[i], general[i])
				}
			}
		}
		pred := make([]float32, rows*info.NumOutputs)
		m.Transform(margin, rows, pred)
		if info.NumClasses > 0 {
			m.Classes(pred, rows, make([]int32, rows))
		}
	})
}
