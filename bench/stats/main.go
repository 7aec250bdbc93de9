// Command stats benchmarks statistics + drift analysis (internal/stats,
// internal/drift) against MLRun's method on the same data in the same
// invocation:
//
//	go run ./bench/stats [-rows 1000000] [-cols 28] [-python /usr/bin/python3]
//
// It generates a seeded reference (own edges, not timed) and a batch of
// rows x cols float64 values (mixed distributions, some columns shifted,
// some with 0.5% NaN), writes the batch once, column-major raw float64, to a
// temporary file, then:
//
//  1. times our statistics (Numeric.Add over 65,536-row chunks, Column) and
//     drift (drift.Analyze with the extended metrics) with GOMAXPROCS=1;
//  2. runs mlrun_method.py under Debian's python3 (pandas describe +
//     np.histogram on the reference edges + MLRun's TVD/Hellinger/KLD) on
//     the same file, loading not timed;
//  3. prints rows/s of both, the ratio, the largest differences between the
//     two sides' drift numbers and quartiles;
//  4. streams 1M and 4M generated rows through fresh accumulators and prints
//     the peak heap (runtime.MemStats.HeapAlloc, sampled after every column
//     chunk) to show memory independent of the row count.
package main

import (
	_ "embed"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"time"

	"github.com/batchinfer/batchinfer/internal/drift"
	"github.com/batchinfer/batchinfer/internal/stats"
)

//go:embed mlrun_method.py
var mlrunMethod []byte

const chunk = 1 << 16

func main() {
	rows := flag.Int("rows", 1_000_000, "batch rows")
	cols := flag.Int("cols", 28, "columns")
	refRows := flag.Int("ref-rows", 200_000, "reference rows")
	python := flag.String("python", "/usr/bin/python3", "python with pandas and numpy (Debian's)")
	reps := flag.Int("reps", 3, "timed repetitions per side (best is reported)")
	memRows := flag.String("mem-rows", "1000000,4000000", "row counts for the peak-heap runs")
	exact := flag.Bool("exact", true, "also time with ExactCap = rows (pandas-identical quartiles)")
	flag.Parse()
	runtime.GOMAXPROCS(1)
	log.SetFlags(0)

	names := make([]string, *cols)
	for c := range names {
		names[c] = fmt.Sprintf("f%02d", c)
	}
	ref := reference(names, *refRows)

	dir, err := os.MkdirTemp("", "bench-stats-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	data := make([][]float64, *cols)
	for c := range data {
		data[c] = make([]float64, *rows)
		g := newGen(c, true)
		g.fill(data[c])
	}
	dataPath, refPath := filepath.Join(dir, "batch.f64"), filepath.Join(dir, "reference.json")
	if err := writeColumns(dataPath, data); err != nil {
		log.Fatal(err)
	}
	rb, err := ref.MarshalJSON()
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(refPath, rb, 0o644); err != nil {
		log.Fatal(err)
	}

	fmt.Printf("data: %d rows x %d float64 columns (batch), reference %d rows; GOMAXPROCS=%d, %s\n",
		*rows, *cols, *refRows, runtime.GOMAXPROCS(0), runtime.Version())

	// 1. Ours, default options (quartiles from the sketch beyond 65,536 values).
	var res drift.Result
	var batch *stats.Dataset
	ours := best(*reps, func() { batch, res = ourMethod(ref, data, names, stats.NumericOptions{}) })
	fmt.Printf("ours  (default ExactCap %d): %8.3f s  %12.0f rows/s\n", stats.DefaultExactCap, ours.Seconds(), float64(*rows)/ours.Seconds())
	var oursExact time.Duration
	var batchExact *stats.Dataset
	if *exact {
		oursExact = best(*reps, func() {
			batchExact, _ = ourMethod(ref, data, names, stats.NumericOptions{ExactCap: *rows})
		})
		fmt.Printf("ours  (ExactCap = rows):     %8.3f s  %12.0f rows/s\n", oursExact.Seconds(), float64(*rows)/oursExact.Seconds())
	}
	data = nil
	runtime.GC()

	// 2. MLRun's method.
	script := filepath.Join(dir, "mlrun_method.py")
	outPath := filepath.Join(dir, "mlrun.json")
	if err := os.WriteFile(script, mlrunMethod, 0o644); err != nil {
		log.Fatal(err)
	}
	cmd := exec.Command(*python, script, dataPath, fmt.Sprint(*rows), fmt.Sprint(*cols), refPath, outPath, fmt.Sprint(*reps))
	cmd.Env = append(os.Environ(), "OMP_NUM_THREADS=1", "OPENBLAS_NUM_THREADS=1", "MKL_NUM_THREADS=1")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		log.Fatalf("running %s: %v", *python, err)
	}
	var py struct {
		Seconds     float64                       `json:"seconds"`
		Features    map[string]map[string]float64 `json:"features"`
		DriftMetric float64                       `json:"drift_metric"`
		Pandas      string                        `json:"pandas"`
		Numpy       string                        `json:"numpy"`
	}
	ob, err := os.ReadFile(outPath)
	if err != nil {
		log.Fatal(err)
	}
	if err := json.Unmarshal(ob, &py); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("MLRun (pandas %s, numpy %s): %8.3f s  %12.0f rows/s\n", py.Pandas, py.Numpy, py.Seconds, float64(*rows)/py.Seconds)
	fmt.Printf("ratio (MLRun time / ours): %.1fx default, ", py.Seconds/ours.Seconds())
	if *exact {
		fmt.Printf("%.1fx with exact quartiles\n", py.Seconds/oursExact.Seconds())
	} else {
		fmt.Println()
	}

	// 3. Agreement.
	var dDrift, dQ, dQExact, dMean float64
	for _, f := range res.Features {
		p := py.Features[f.Name]
		dDrift = math.Max(dDrift, math.Max(math.Abs(f.TVD-p["tvd"]), math.Max(math.Abs(f.Hellinger-p["hellinger"]), math.Abs(f.KLD-p["kld"]))))
		c, _ := batch.Get(f.Name)
		dMean = math.Max(dMean, relDiff(c.Mean, p["mean"]))
		for _, q := range []struct {
			k string
			v float64
		}{{"25%", c.Q25}, {"50%", c.Q50}, {"75%", c.Q75}} {
			dQ = math.Max(dQ, relDiff(q.v, p[q.k]))
		}
		if batchExact != nil {
			ce, _ := batchExact.Get(f.Name)
			for _, q := range []struct {
				k string
				v float64
			}{{"25%", ce.Q25}, {"50%", ce.Q50}, {"75%", ce.Q75}} {
				dQExact = math.Max(dQExact, relDiff(q.v, p[q.k]))
			}
		}
	}
	fmt.Printf("agreement with MLRun: max |d| tvd/hellinger/kld %.3g, drift_metric %.3g; max rel d mean %.3g;\n"+
		"  quartiles max rel d %.3g (sketch, bound %.4g), %.3g (exact)\n",
		dDrift, math.Abs(res.DriftMetric-py.DriftMetric), dMean, dQ, stats.SketchRelativeAccuracy, dQExact)
	fmt.Printf("drift: metric %.6f status %v, drifted %d of %d (%.1f%%), psi mean %.4f, ks mean %.4f\n",
		res.DriftMetric, res.DriftStatus, res.Drifted, res.Assessed, 100*res.DriftedShare, res.PSIMean, res.KSMean)

	// 4. Memory against row count.
	for _, n := range parseInts(*memRows) {
		peak, secs := streamed(ref, names, n)
		fmt.Printf("streamed %9d rows: peak heap %6.1f MiB (incl. %.1f MiB chunk buffers), %.0f rows/s\n",
			n, float64(peak)/(1<<20), float64(len(names)*chunk*8)/(1<<20), float64(n)/secs)
	}
}

// ourMethod computes the batch statistics over the reference edges, one
// chunk of rows at a time, then the drift analysis.
func ourMethod(ref *stats.Dataset, data [][]float64, names []string, opt stats.NumericOptions) (*stats.Dataset, drift.Result) {
	accs := make([]*stats.Numeric, len(names))
	for c, n := range names {
		accs[c] = stats.NewNumericWith(drift.EdgesFor(ref, n), opt)
	}
	rows := len(data[0])
	for lo := 0; lo < rows; lo += chunk {
		hi := min(lo+chunk, rows)
		for c := range accs {
			accs[c].Add(data[c][lo:hi])
		}
	}
	batch := &stats.Dataset{}
	for c, n := range names {
		col := accs[c].Column()
		batch.Set(n, &col)
	}
	return batch, drift.Analyze(ref, batch, drift.DefaultThresholds())
}

// streamed generates n rows chunk by chunk into fresh accumulators and
// returns the peak HeapAlloc and the elapsed seconds.
func streamed(ref *stats.Dataset, names []string, n int) (uint64, float64) {
	runtime.GC()
	var ms runtime.MemStats
	var peak uint64
	sample := func() {
		runtime.ReadMemStats(&ms)
		peak = max(peak, ms.HeapAlloc)
	}
	start := time.Now()
	gens := make([]*gen, len(names))
	bufs := make([][]float64, len(names))
	accs := make([]*stats.Numeric, len(names))
	for c, name := range names {
		gens[c] = newGen(c, true)
		bufs[c] = make([]float64, chunk)
		accs[c] = stats.NewNumeric(drift.EdgesFor(ref, name), 0)
	}
	for lo := 0; lo < n; lo += chunk {
		k := min(chunk, n-lo)
		for c := range accs {
			gens[c].fill(bufs[c][:k])
			accs[c].Add(bufs[c][:k])
			sample()
		}
	}
	batch := &stats.Dataset{}
	for c, name := range names {
		col := accs[c].Column()
		batch.Set(name, &col)
	}
	_ = drift.Analyze(ref, batch, drift.DefaultThresholds())
	sample()
	return peak, time.Since(start).Seconds()
}

func reference(names []string, rows int) *stats.Dataset {
	ref := &stats.Dataset{}
	buf := make([]float64, rows)
	for c, n := range names {
		newGen(c, false).fill(buf)
		acc := stats.NewNumericWith(nil, stats.NumericOptions{ExactCap: rows}) // exact own edges, as MLRun's
		acc.Add(buf)
		col := acc.Column()
		ref.Set(n, &col)
	}
	return ref
}

// gen draws one column's values: a distribution chosen by the column index,
// shifted in the batch for every 7th column, with 0.5% NaN in every 5th.
type gen struct {
	rng   *rand.Rand
	kind  int
	shift float64
	nan   bool
	c     int
}

func newGen(c int, batch bool) *gen {
	seed := uint64(1)
	if batch {
		seed = 2
	}
	g := &gen{rng: rand.New(rand.NewPCG(seed, uint64(c))), kind: c % 4, nan: c%5 == 0, c: c}
	if batch && c%7 == 0 {
		g.shift = 0.5 + float64(c)/20
	}
	return g
}

func (g *gen) fill(xs []float64) {
	for i := range xs {
		var x float64
		switch g.kind {
		case 0:
			x = float64(g.c) + (1+float64(g.c%5))*(g.rng.NormFloat64()+g.shift)
		case 1:
			x = math.Exp(g.rng.NormFloat64() + g.shift)
		case 2:
			x = math.Round(50 + 10*(g.rng.NormFloat64()+g.shift))
		default:
			x = (g.rng.Float64()*2 - 1 + g.shift) * math.Pow(10, float64(g.c%3))
		}
		if g.nan && g.rng.IntN(200) == 0 {
			x = math.NaN()
		}
		xs[i] = x
	}
}

func writeColumns(path string, data [][]float64) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("creating %s: %w", path, err)
	}
	buf := make([]byte, 8*chunk)
	for _, col := range data {
		for lo := 0; lo < len(col); lo += chunk {
			part := col[lo:min(lo+chunk, len(col))]
			for i, x := range part {
				binary.LittleEndian.PutUint64(buf[8*i:], math.Float64bits(x))
			}
			if _, err := f.Write(buf[:8*len(part)]); err != nil {
				f.Close()
				return fmt.Errorf("writing %s: %w", path, err)
			}
		}
	}
	return f.Close()
}

func best(reps int, fn func()) time.Duration {
	var b time.Duration
	for i := range max(reps, 1) {
		runtime.GC()
		start := time.Now()
		fn()
		if d := time.Since(start); i == 0 || d < b {
			b = d
		}
	}
	return b
}

func relDiff(a, b float64) float64 {
	if a == b {
		return 0
	}
	return math.Abs(a-b) / math.Max(math.Abs(a), math.Abs(b))
}

func parseInts(s string) []int {
	var out []int
	var n int
	for _, f := range append([]byte(s), ',') {
		if f == ',' {
			if n > 0 {
				out = append(out, n)
			}
			n = 0
			continue
		}
		if f >= '0' && f <= '9' {
			n = n*10 + int(f-'0')
		}
	}
	return out
}
