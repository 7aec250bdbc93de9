package lightgbm

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// nthIndex returns the index of the n-th (0-based) occurrence of sep in s,
// or -1.
func nthIndex(s, sep string, n int) int {
	off := 0
	for ; n >= 0; n-- {
		i := strings.Index(s[off:], sep)
		if i < 0 {
			return -1
		}
		if n == 0 {
			return off + i
		}
		off += i + len(sep)
	}
	return -1
}

// FuzzLoad asserts that Load returns an error rather than panicking, hanging
// or exhausting memory on any input, and that whatever loads can be
// evaluated (raw scores, transform, classes, leaf indices) on rows of edge
// values without indexing out of range.
func FuzzLoad(f *testing.F) {
	small := modelText("binary sigmoid:1", 2, 1, []treeSpec{{
		feat: []int{0, 1}, thr: []float64{0.5, 1}, dt: []int{2, 8}, left: []int{1, -1}, right: []int{-3, -2}, vals: []float64{1, 2, 3},
	}}, "")
	cat := treeSpec{
		feat: []int{0}, thr: []float64{0}, dt: []int{1}, left: []int{-1}, right: []int{-2}, vals: []float64{-1, 1},
		catBounds: []int{0, 2}, catWords: []uint32{9, 2},
	}
	lin := stump(0, 4)
	lin.linConst = []float64{1, 2}
	lin.linFeats = [][]int{{0}, {}}
	lin.linCoeffs = [][]float64{{0.5}, {}}
	seeds := []string{
		small,
		modelText("multiclass num_class:2", 1, 2, []treeSpec{cat, lin}, ""),
		modelText("regression", 1, 1, []treeSpec{{vals: []float64{1}}, stump(math.NaN(), 6)}, "average_output\n"),
		strings.Replace(small, "left_child=1 -1", "left_child=1 1", 1),
		strings.Replace(small, "left_child=1 -1", "left_child=0 -1", 1),
		strings.Replace(small, "split_feature=0 1", "split_feature=0 9", 1),
		strings.Replace(small, "num_leaves=3", "num_leaves=99999999", 1),
		strings.Replace(small, "num_cat=0", "num_cat=1\ncat_boundaries=0 99\ncat_threshold=1", 1),
		small[:len(small)/3],
		"tree\nversion=v4\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	paths, _ := filepath.Glob(filepath.Join(fixtureDir, "*", "model.txt"))
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil || len(data) > 400_000 {
			continue // keep the corpus small: skip speed_large
		}
		f.Add(data)
		f.Add(data[:len(data)*2/3]) // truncated
		// The header and first three trees (a multiple of every fixture's
		// trees per iteration): small real-world seeds that mutate fast.
		s := string(data)
		head := s
		if i := nthIndex(s, "\nTree=", 3); i > 0 {
			head = s[:i+1] + "end of trees\n"
		}
		f.Add([]byte(head))
		f.Add([]byte(strings.Replace(head, "left_child=", "left_child=0 ", 1)))
		f.Add([]byte(strings.Replace(head, "decision_type=", "decision_type=1 ", 1)))
		f.Add([]byte(strings.Replace(head, "num_leaves=", "num_leaves=1", 1)))
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
		const rows = 11 // one lock-step group plus a partial one
		x := make([]float64, rows*info.NumFeatures)
		for i := range x {
			x[i] = specialValues[(i*7+i/3)%len(specialValues)]
		}
		raw := make([]float64, rows*info.NumOutputs)
		m.PredictRaw(x, rows, raw)
		pred := make([]float64, len(raw))
		m.TransformRaw(raw, rows, pred)
		if info.NumClasses > 0 {
			m.ClassesOf(pred, rows, make([]int32, rows))
		}
		leaves := make([]int32, rows*info.NumTrees)
		m.predictLeaf(x, rows, leaves)
	})
}
