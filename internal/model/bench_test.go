package model

import (
	"fmt"
	"math"
	"runtime"
	"testing"
	"time"
)

func float32NaN() float32 { return float32(math.NaN()) }

// BenchmarkPredictMargin scores synthetic binary:logistic models over 28
// features (100 trees of depth 6, and 1000 of depth 8) over a ladder of batch
// sizes, on the fast path and, for comparison, on the general path alone.
// rows/s is per goroutine; cpu-rows/s divides by the thread's CPU time
// instead of wall time, which is steadier on a shared machine. The hot loop
// allocates nothing.
func BenchmarkPredictMargin(b *testing.B) {
	const nf = 28
	for _, mc := range []struct{ trees, depth int }{{100, 6}, {1000, 8}} {
		m, err := Load(synthModel(1, mc.trees, mc.depth, nf, "binary:logistic", "[5E-1]", 0))
		if err != nil {
			b.Fatal(err)
		}
		for _, rows := range []int{1, 64, 1024, 16384} {
			if mc.trees > 100 && rows < 1024 {
				continue
			}
			for _, path := range []string{"fast", "general"} {
				name := fmt.Sprintf("trees=%d/depth=%d/rows=%d/path=%s", mc.trees, mc.depth, rows, path)
				b.Run(name, func(b *testing.B) {
					x := synthRows(2, rows, nf)
					out := make([]float32, rows)
					predict := m.PredictMargin
					if path == "general" {
						predict = m.predictGeneral
					}
					b.ReportAllocs()
					runtime.LockOSThread()
					defer runtime.UnlockOSThread()
					c0 := threadCPU()
					for b.Loop() {
						predict(x, rows, out)
					}
					reportRows(b, rows, threadCPU()-c0)
				})
			}
		}
	}
}

// BenchmarkPredictRaw is the float64 Predictor path (conversion, margins,
// widening) on the 100-tree depth-6 model.
func BenchmarkPredictRaw(b *testing.B) {
	const nf, rows = 28, 16384
	m, err := Load(synthModel(1, 100, 6, nf, "binary:logistic", "[5E-1]", 0))
	if err != nil {
		b.Fatal(err)
	}
	x32 := synthRows(2, rows, nf)
	x := make([]float64, len(x32))
	for i, v := range x32 {
		x[i] = float64(v)
	}
	out := make([]float64, rows)
	b.ReportAllocs()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	c0 := threadCPU()
	for b.Loop() {
		m.PredictRaw(x, rows, out)
		m.TransformRaw(out, rows, out)
	}
	reportRows(b, rows, threadCPU()-c0)
}

// reportRows reports rows/s over wall time and, where the thread's CPU time
// is available, cpu-rows/s over CPU time (steadier on a loaded machine).
func reportRows(b *testing.B, rows int, cpu time.Duration) {
	n := float64(rows) * float64(b.N)
	b.ReportMetric(n/b.Elapsed().Seconds(), "rows/s")
	if cpu > 0 {
		b.ReportMetric(n/cpu.Seconds(), "cpu-rows/s")
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
