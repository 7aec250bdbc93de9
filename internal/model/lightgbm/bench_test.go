package lightgbm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// lightGBMCLIRowsPerSec is LightGBM 4.6.0's own predictor on speed_large,
// one thread (fixtures README: 500,000 rows in 18.8 s on 1 thread).
const lightGBMCLIRowsPerSec = 27_000

// speedRows makes rows x 28 synthetic inputs shaped like speed_large's
// training data (feature_infos: f2 and f5 integers 0..9, f3 and f7 on a 0.1
// grid, the rest standard normal), 2% NaN, from a fixed seed.
func speedRows(rows int) []float64 {
	const nf = 28
	rng := rand.New(rand.NewPCG(42, 7))
	x := make([]float64, rows*nf)
	for i := range x {
		var v float64
		switch i % nf {
		case 2, 5:
			v = float64(rng.IntN(10))
		case 3, 7:
			v = math.Round(rng.NormFloat64()*10) / 10
		default:
			v = rng.NormFloat64()
		}
		if rng.Float64() < 0.02 {
			v = math.NaN()
		}
		x[i] = v
	}
	return x
}

func loadSpeedLarge(b testing.TB) *Model {
	data, err := os.ReadFile(filepath.Join(fixtureDir, "speed_large", "model.txt"))
	if err != nil {
		b.Skipf("speed_large model not available: %v", err)
	}
	m, err := Load(data)
	if err != nil {
		b.Fatal(err)
	}
	return m
}

// BenchmarkSpeedLarge scores 100,000 synthetic rows with the speed_large
// model (500 trees, 63 leaves, 28 features) on one goroutine and reports
// rows/s (wall clock) and its ratio to LightGBM's CLI predictor per thread
// (27,000 rows/s). On a shared machine the wall clock includes time other
// processes held the CPU, so it also reports rows per CPU-second of this
// process (getrusage user+system time; includes the GC's) and that ratio.
func BenchmarkSpeedLarge(b *testing.B) {
	m := loadSpeedLarge(b)
	const rows = 100_000
	x := speedRows(rows)
	out := make([]float64, rows)
	b.ReportAllocs()
	cpu0 := cpuSeconds()
	for b.Loop() {
		m.PredictRaw(x, rows, out)
	}
	cpu := cpuSeconds() - cpu0
	total := float64(rows) * float64(b.N)
	rps := total / b.Elapsed().Seconds()
	b.ReportMetric(rps, "rows/s")
	b.ReportMetric(rps/lightGBMCLIRowsPerSec, "x_lightgbm_cli")
	if cpu > 0 {
		b.ReportMetric(total/cpu, "rows/cpu-s")
		b.ReportMetric(total/cpu/lightGBMCLIRowsPerSec, "x_lightgbm_cli_cpu")
	}
}

// cpuSeconds is this process's user+system CPU time.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// BenchmarkPredictRaw runs speed_large over a ladder of batch sizes (small
// batches pay the per-call buffer set-up and the lock-step remainder).
func BenchmarkPredictRaw(b *testing.B) {
	m := loadSpeedLarge(b)
	for _, rows := range []int{1, 8, 64, 1024, 16384} {
		b.Run(fmt.Sprintf("rows=%d", rows), func(b *testing.B) {
			x := speedRows(rows)
			out := make([]float64, rows)
			b.ReportAllocs()
			cpu0 := cpuSeconds()
			for b.Loop() {
				m.PredictRaw(x, rows, out)
			}
			cpu := cpuSeconds() - cpu0
			b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
			if cpu > 0 {
				b.ReportMetric(float64(rows)*float64(b.N)/cpu, "rows/cpu-s")
			}
		})
	}
}

// BenchmarkTransformRaw measures the sigmoid transform (correctly rounded
// exp) per row, against which PredictRaw's cost per row can be weighed.
func BenchmarkTransformRaw(b *testing.B) {
	m := loadSpeedLarge(b)
	const rows = 100_000
	x := speedRows(rows)
	raw := make([]float64, rows)
	m.PredictRaw(x, rows, raw)
	out := make([]float64, rows)
	b.ReportAllocs()
	for b.Loop() {
		m.TransformRaw(raw, rows, out)
	}
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
