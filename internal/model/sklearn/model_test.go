package sklearn

import (
	"math"
	"path/filepath"
	"strconv"
	"testing"
)

// Prediction allocates nothing per call and TransformRaw may write over its
// input when the widths agree.
func TestPredictNoAllocAndAlias(t *testing.T) {
	for _, f := range loadFixtures(t) {
		m, err := LoadFile(filepath.Join(f.dir, f.params.Files[0]))
		if err != nil {
			t.Fatal(err)
		}
		rows := f.params.Rows
		raw := make([]float64, rows*f.params.NumOutputs)
		pred := make([]float64, rows*f.params.PredColumns)
		cls := make([]int32, rows)
		allocs := testing.AllocsPerRun(5, func() {
			m.PredictRaw(f.x, rows, raw)
			m.TransformRaw(raw, rows, pred)
			if f.params.NumClasses > 0 {
				m.ClassesOf(pred, rows, cls)
			}
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations per call", f.name, allocs)
		}
		if f.params.NumOutputs == f.params.PredColumns {
			inPlace := append([]float64(nil), raw...)
			m.TransformRaw(inPlace, rows, inPlace)
			for i := range pred {
				if math.Float64bits(pred[i]) != math.Float64bits(inPlace[i]) {
					t.Fatalf("%s: in-place TransformRaw differs at %d", f.name, i)
				}
			}
		}
		// Rows one at a time give the same results as all at once.
		one := make([]float64, f.params.NumOutputs)
		nf, no := f.params.NumFeatures, f.params.NumOutputs
		for r := range rows {
			m.PredictRaw(f.x[r*nf:(r+1)*nf], 1, one)
			for j := range one {
				if math.Float64bits(one[j]) != math.Float64bits(raw[r*no+j]) {
					t.Fatalf("%s: row %d alone differs", f.name, r)
				}
			}
		}
	}
}

// pairwiseSum against np.sum(np.arange(n) * 0.1 + 1e16 * (np.arange(n) % 3 == 0))
// from numpy 1.24.2 (a plain loop differs from n = 16 on).
func TestPairwiseSum(t *testing.T) {
	cases := []struct {
		n    int
		want string
	}{
		{0, "0x0.0p+0"}, {1, "0x1.1c37937e08000p+53"}, {7, "0x1.aa535d3d0c000p+54"},
		{8, "0x1.aa535d3d0c000p+54"}, {9, "0x1.aa535d3d0c000p+54"}, {15, "0x1.6345785d8a000p+55"},
		{16, "0x1.aa535d3d0c002p+55"}, {17, "0x1.aa535d3d0c002p+55"}, {128, "0x1.7deaae315ac0cp+58"},
		{129, "0x1.7deaae315ac0cp+58"}, {1000, "0x1.72d0826e6e762p+61"},
	}
	for _, c := range cases {
		a := make([]float64, c.n)
		for i := range a {
			a[i] = float64(i) * 0.1
			if i%3 == 0 {
				a[i] += 1e16
			}
		}
		want, _ := strconv.ParseFloat(c.want, 64)
		if got := pairwiseSum(a); got != want {
			t.Errorf("n=%d: %x, want %x", c.n, got, want)
		}
	}
}

// One model serves several goroutines (run with -race).
func TestConcurrentPredict(t *testing.T) {
	f := loadFixtures(t)[0]
	m, err := LoadFile(filepath.Join(f.dir, f.params.Files[0]))
	if err != nil {
		t.Fatal(err)
	}
	rows, no := f.params.Rows, f.params.NumOutputs
	want := make([]float64, rows*no)
	m.PredictRaw(f.x, rows, want)
	done := make(chan []float64)
	for range 4 {
		go func() {
			out := make([]float64, rows*no)
			m.PredictRaw(f.x, rows, out)
			done <- out
		}()
	}
	for range 4 {
		out := <-done
		for i := range out {
			if math.Float64bits(out[i]) != math.Float64bits(want[i]) {
				t.Fatalf("concurrent result differs at %d", i)
			}
		}
	}
}
