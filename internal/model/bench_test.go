package model

import (
	"fmt"
	"math"
	"testing"
)

func float32NaN() float32 { return float32(math.NaN()) }

// BenchmarkPredictMargin scores a synthetic 100-tree, depth-6, 28-feature
// binary:logistic model over a ladder of batch sizes. rows/s is reported per
// goroutine; the hot loop allocates nothing.
func BenchmarkPredictMargin(b *testing.B) {
	const nf = 28
	m, err := Load(synthModel(1, 100, 6, nf, "binary:logistic", "[5E-1]", 0))
	if err != nil {
		b.Fatal(err)
	}
	for _, rows := range []int{1, 64, 1024, 16384} {
		b.Run(fmt.Sprintf("rows=%d", rows), func(b *testing.B) {
			x := synthRows(2, rows, nf)
			out := make([]float32, rows)
			b.ReportAllocs()
			for b.Loop() {
				m.PredictMargin(x, rows, out)
			}
			b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// TestConcurrentPredict runs PredictMargin from several goroutines on
// disjoint buffers (meaningful under -race) and checks they agree.
func TestConcurrentPredict(t *testing.T) {
	const nf, rows = 10, 257
	m, err := Load(synthModel(5, 30, 5, nf, "multi:softprob", "[1E-1,-2E-1,3E-1]", 3))
	if err != nil {
		t.Fatal(err)
	}
	x := synthRows(6, rows, nf)
	want := make([]float32, rows*3)
	m.PredictMargin(x, rows, want)
	done := make(chan []float32)
	for g := 0; g < 4; g++ {
		go func() {
			out := make([]float32, rows*3)
			m.PredictMargin(x, rows, out)
			done <- out
		}()
	}
	for g := 0; g < 4; g++ {
		got := <-done
		for i := range got {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("goroutine result differs at %d", i)
			}
		}
	}
	// Batch-size independence on the lock-step path: every split of the
	// rows gives the same margins.
	for _, chunk := range []int{1, 7, 8, 9, 64, 129} {
		got := make([]float32, rows*3)
		for r := 0; r < rows; r += chunk {
			n := min(chunk, rows-r)
			m.PredictMargin(x[r*nf:(r+n)*nf], n, got[r*3:(r+n)*3])
		}
		for i := range got {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("chunk %d: margin %d differs", chunk, i)
			}
		}
	}
}
