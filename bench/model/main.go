// Command model benchmarks the XGBoost engine (internal/model) against
// XGBoost's own predictor in the same invocation:
//
//	go run ./bench/model [--rows 1000000] [--quick] [--runs 3]
//
// It generates a seeded rows x 28 float32 matrix (mixed distributions, 2%
// NaN) with binary labels, writes it once as raw little-endian float32 to a
// temporary file, then:
//
//  1. trains with Debian's XGBoost (xgb_helper.py under /usr/bin/python3) a
//     100-tree depth-6 and a 1,000-tree depth-8 binary:logistic model on the
//     first --train-rows rows, cached under os.UserCacheDir()/batchinfer-bench
//     by parameters, so reruns skip training;
//  2. times XGBoost's Booster.inplace_predict (probabilities) at nthread 1
//     and 2 over the matrix, best of --runs, and saves its margins
//     (Booster.predict(output_margin=True));
//  3. times the engine at 1 and 2 goroutines (GOMAXPROCS set to match): rows
//     split into contiguous chunks, one per goroutine, each scoring its chunk
//     in --batch-row batches into its own buffers with PredictMargin +
//     Transform (what inplace_predict returns), best of --runs; and the same
//     through the float64 Predictor API (PredictRaw + TransformRaw) on a
//     float64 copy of the matrix, as the pipeline calls it;
//  4. checks the engine's margins against XGBoost's bit for bit on the whole
//     matrix, at 1 and 2 goroutines and through both APIs;
//  5. prints rows/s, the ratio to XGBoost, the engine's heap allocations
//     per 1M rows (runtime.MemStats.Mallocs delta around the engine calls
//     over all rows, on one goroutine) and the allocations of the best timed
//     run (which include starting its goroutines).
//
// The deep model is timed on the first --deep-rows rows (default 200,000)
// to keep the run short. The machine's load average is printed before and
// after; on a shared machine rerun when it is low.
package main

import (
	"bufio"
	"bytes"
	_ "embed"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/batchinfer/batchinfer/internal/model"
)

//go:embed xgb_helper.py
var helperScript []byte

// dataVersion changes whenever generate changes, so cached models trained
// on older data are not reused.
const dataVersion = 1

const features = 28

type config struct {
	rows, deepRows, trainRows, runs, batch int
	seed                                   uint64
	python, cacheDir                       string
	threads                                []int
}

// modelSpec is one benchmarked model.
type modelSpec struct {
	name         string
	trees, depth int
	rows         int // rows timed
}

// result is one (model, threads) row of the table.
type result struct {
	spec            modelSpec
	threads         int
	xgbSec          float64
	engSec, eng64Sc float64
	allocs          uint64 // mallocs of the engine calls over all rows (float32 API)
	allocs64        uint64 // same, float64 API
	runAllocs       uint64 // mallocs of the best timed float32 run, goroutines included
}

func main() {
	log.SetFlags(0)
	var c config
	quick := flag.Bool("quick", false, "100,000 rows (CI smoke run)")
	flag.IntVar(&c.rows, "rows", 1_000_000, "rows scored")
	flag.IntVar(&c.deepRows, "deep-rows", 200_000, "rows scored with the 1,000-tree depth-8 model (at most --rows)")
	flag.IntVar(&c.trainRows, "train-rows", 100_000, "training rows (the first rows of the matrix)")
	flag.IntVar(&c.runs, "runs", 3, "timed runs per measurement; the best is reported")
	flag.IntVar(&c.batch, "batch", 65536, "rows per engine call within a goroutine's chunk")
	seed := flag.Uint64("seed", 1, "data seed")
	flag.StringVar(&c.python, "python", "/usr/bin/python3", "python with xgboost and numpy (Debian's python3-xgboost)")
	flag.StringVar(&c.cacheDir, "cache", "", "model cache folder (default os.UserCacheDir()/batchinfer-bench)")
	flag.Parse()
	c.seed = *seed
	if *quick {
		c.rows = 100_000
	}
	c.deepRows = min(c.deepRows, c.rows)
	c.trainRows = min(c.trainRows, c.rows)
	c.threads = []int{1, 2}
	if c.cacheDir == "" {
		dir, err := os.UserCacheDir()
		if err != nil {
			log.Fatalf("locating the cache folder: %v (set --cache)", err)
		}
		c.cacheDir = filepath.Join(dir, "batchinfer-bench")
	}
	if err := run(c); err != nil {
		log.Fatal(err)
	}
}

func run(c config) error {
	fmt.Printf("load average before: %s\n", loadAvg())
	fmt.Printf("%s, %d CPUs, %s/%s\n", runtime.Version(), runtime.NumCPU(), runtime.GOOS, runtime.GOARCH)

	tmp, err := os.MkdirTemp("", "batchinfer-bench-model-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	helper := filepath.Join(tmp, "xgb_helper.py")
	if err := os.WriteFile(helper, helperScript, 0o644); err != nil {
		return err
	}
	if err := os.MkdirAll(c.cacheDir, 0o755); err != nil {
		return fmt.Errorf("creating cache folder: %w", err)
	}

	t0 := time.Now()
	x, y := generate(c.seed, c.rows)
	xPath, yPath := filepath.Join(tmp, "x.f32"), filepath.Join(tmp, "y.f32")
	if err := writeF32(xPath, x); err != nil {
		return err
	}
	if err := writeF32(yPath, y[:c.trainRows]); err != nil {
		return err
	}
	fmt.Printf("data: %d x %d float32, %.1f%% NaN, generated in %v\n",
		c.rows, features, nanPercent(x), time.Since(t0).Round(time.Millisecond))

	version, err := pythonOutput(c.python, helper, "version")
	if err != nil {
		return err
	}
	version = strings.TrimSpace(version)
	fmt.Printf("xgboost %s (%s)\n", version, c.python)

	specs := []modelSpec{
		{name: "100 trees, depth 6", trees: 100, depth: 6, rows: c.rows},
		{name: "1000 trees, depth 8", trees: 1000, depth: 8, rows: c.deepRows},
	}
	x64 := make([]float64, len(x))
	for i, v := range x {
		x64[i] = float64(v)
	}
	var results []result
	for _, s := range specs {
		path, err := trainCached(c, helper, version, xPath, yPath, s)
		if err != nil {
			return err
		}
		m, err := model.LoadFile(path)
		if err != nil {
			return err
		}
		rs, err := benchModel(c, helper, xPath, tmp, path, s, m, x[:s.rows*features], x64[:s.rows*features])
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		results = append(results, rs...)
	}
	printTable(results)
	fmt.Printf("load average after: %s\n", loadAvg())
	return nil
}

// trainCached returns the path of the model for s, training it if the cache
// does not have it.
func trainCached(c config, helper, version, xPath, yPath string, s modelSpec) (string, error) {
	name := fmt.Sprintf("xgb%s-binary-logistic-t%d-d%d-train%d-seed%d-data%d.json",
		version, s.trees, s.depth, c.trainRows, c.seed, dataVersion)
	path := filepath.Join(c.cacheDir, name)
	if _, err := os.Stat(path); err == nil {
		fmt.Printf("model %s: cached %s\n", s.name, path)
		return path, nil
	}
	t0 := time.Now()
	tmp := strings.TrimSuffix(path, ".json") + ".partial.json" // XGBoost picks the format from the extension
	_, err := pythonOutput(c.python, helper, "train", "--x", xPath, "--y", yPath,
		"--features", fmt.Sprint(features), "--rows", fmt.Sprint(c.trainRows),
		"--trees", fmt.Sprint(s.trees), "--depth", fmt.Sprint(s.depth), "--out", tmp)
	if err != nil {
		return "", fmt.Errorf("training %s: %w", s.name, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", err
	}
	fmt.Printf("model %s: trained in %v, cached %s\n", s.name, time.Since(t0).Round(time.Second), path)
	return path, nil
}

// xgbTimes is the helper's predict output.
type xgbTimes struct {
	Version     string             `json:"xgboost"`
	Rows        int                `json:"rows"`
	BestSeconds map[string]float64 `json:"best_seconds"`
}

func benchModel(c config, helper, xPath, tmp, modelPath string, s modelSpec, m *model.Model, x []float32, x64 []float64) ([]result, error) {
	fmt.Printf("\n== %s: %d rows\n", s.name, s.rows)
	marginPath := filepath.Join(tmp, "margin.f32")
	threads := make([]string, len(c.threads))
	for i, t := range c.threads {
		threads[i] = fmt.Sprint(t)
	}
	out, err := pythonOutput(c.python, helper, "predict", "--x", xPath, "--features", fmt.Sprint(features),
		"--rows", fmt.Sprint(s.rows), "--model", modelPath, "--threads", strings.Join(threads, ","),
		"--runs", fmt.Sprint(c.runs), "--margin-out", marginPath)
	if err != nil {
		return nil, err
	}
	var xt xgbTimes
	if err := json.Unmarshal([]byte(out), &xt); err != nil {
		return nil, fmt.Errorf("reading the helper's timings %q: %w", out, err)
	}
	want, err := readF32(marginPath)
	if err != nil {
		return nil, err
	}
	if len(want) != s.rows {
		return nil, fmt.Errorf("xgboost wrote %d margins, want %d", len(want), s.rows)
	}

	// Per-goroutine batch buffers, allocated once so that the timed runs
	// count the engine's allocations only.
	nt := max(c.threads[0], c.threads[len(c.threads)-1])
	out32 := make([][]float32, nt)
	out64 := make([][]float64, nt)
	for i := range out32 {
		out32[i] = make([]float32, c.batch)
		out64[i] = make([]float64, c.batch)
	}
	var rs []result
	for _, t := range c.threads {
		r := result{spec: s, threads: t, xgbSec: xt.BestSeconds[fmt.Sprint(t)]}
		f32 := func(g, lo, hi int) {
			buf := out32[g][:hi-lo]
			m.PredictMargin(x[lo*features:hi*features], hi-lo, buf)
			m.Transform(buf, hi-lo, buf)
		}
		f64 := func(g, lo, hi int) {
			buf := out64[g][:hi-lo]
			m.PredictRaw(x64[lo*features:hi*features], hi-lo, buf)
			m.TransformRaw(buf, hi-lo, buf)
		}
		r.engSec, r.runAllocs = timeEngine(c, t, s.rows, f32)
		r.eng64Sc, _ = timeEngine(c, t, s.rows, f64)
		r.allocs = engineAllocs(s.rows, c.batch, f32)
		r.allocs64 = engineAllocs(s.rows, c.batch, f64)
		// Margins at this thread count through both APIs, for the check
		// (not timed).
		margins := make([]float32, s.rows)
		parallel(t, s.rows, c.batch, func(_, lo, hi int) {
			m.PredictMargin(x[lo*features:hi*features], hi-lo, margins[lo:hi])
		})
		if err := sameMargins(fmt.Sprintf("PredictMargin, %d goroutines", t), margins, want); err != nil {
			return nil, err
		}
		raw := make([]float64, s.rows)
		parallel(t, s.rows, c.batch, func(_, lo, hi int) {
			m.PredictRaw(x64[lo*features:hi*features], hi-lo, raw[lo:hi])
		})
		for i, v := range raw {
			margins[i] = float32(v)
			if float64(margins[i]) != v && !math.IsNaN(v) {
				return nil, fmt.Errorf("PredictRaw row %d: %v is not a float32 value", i, v)
			}
		}
		if err := sameMargins(fmt.Sprintf("PredictRaw, %d goroutines", t), margins, want); err != nil {
			return nil, err
		}
		fmt.Printf("threads %d: xgboost %.3fs, engine %.3fs (float64 API %.3fs); margins bit-identical on %d rows\n",
			t, r.xgbSec, r.engSec, r.eng64Sc, s.rows)
		rs = append(rs, r)
	}
	return rs, nil
}

// timeEngine runs f over rows [0, rows) split across threads goroutines (see
// parallel), with GOMAXPROCS = threads, c.runs times and returns the best
// wall time and the heap allocations (goroutines included) of that run.
func timeEngine(c config, threads, rows int, f func(g, lo, hi int)) (best float64, allocs uint64) {
	prev := runtime.GOMAXPROCS(threads)
	defer runtime.GOMAXPROCS(prev)
	parallel(threads, min(rows, 20_000), c.batch, f) // warm-up
	best = math.Inf(1)
	var ms runtime.MemStats
	for i := 0; i < c.runs; i++ {
		runtime.GC()
		runtime.ReadMemStats(&ms)
		m0 := ms.Mallocs
		t0 := time.Now()
		parallel(threads, rows, c.batch, f)
		d := time.Since(t0).Seconds()
		runtime.ReadMemStats(&ms)
		if d < best {
			best, allocs = d, ms.Mallocs-m0
		}
	}
	return best, allocs
}

// engineAllocs returns the heap allocations (runtime.MemStats.Mallocs) of
// calling f over rows [0, rows) in batches on the calling goroutine: the
// engine's own allocations, without the cost of starting goroutines.
func engineAllocs(rows, batch int, f func(g, lo, hi int)) uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	m0 := ms.Mallocs
	for r := 0; r < rows; r += batch {
		f(0, r, min(r+batch, rows))
	}
	runtime.ReadMemStats(&ms)
	return ms.Mallocs - m0
}

// parallel splits rows [0, rows) into threads contiguous chunks, one per
// goroutine g, as the pipeline does; each goroutine calls f(g, lo, hi) on
// consecutive batches of at most batch rows.
func parallel(threads, rows, batch int, f func(g, lo, hi int)) {
	var wg sync.WaitGroup
	per := (rows + threads - 1) / threads
	for g := 0; g < threads; g++ {
		lo, hi := g*per, min((g+1)*per, rows)
		if lo >= hi {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := lo; r < hi; r += batch {
				f(g, r, min(r+batch, hi))
			}
		}()
	}
	wg.Wait()
}

// sameMargins checks got against XGBoost's margins bit for bit.
func sameMargins(what string, got, want []float32) error {
	bad, first := 0, -1
	for i := range got {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			if first < 0 {
				first = i
			}
			bad++
		}
	}
	if bad > 0 {
		return fmt.Errorf("%s: %d of %d margins differ from xgboost's (first: row %d, %v vs %v)",
			what, bad, len(got), first, got[first], want[first])
	}
	return nil
}

func printTable(rs []result) {
	fmt.Println()
	fmt.Println("| model | threads | rows | xgboost rows/s | engine rows/s | ratio | float64 API rows/s | ratio | engine allocs per 1M rows (f32 / f64 API) | allocs per timed run |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range rs {
		n := float64(r.spec.rows)
		xr, er, e64 := n/r.xgbSec, n/r.engSec, n/r.eng64Sc
		fmt.Printf("| %s | %d | %d | %s | %s | %.2fx | %s | %.2fx | %.1f / %.1f | %d |\n",
			r.spec.name, r.threads, r.spec.rows, rate(xr), rate(er), er/xr, rate(e64), e64/xr,
			float64(r.allocs)*1e6/n, float64(r.allocs64)*1e6/n, r.runAllocs)
	}
	fmt.Println()
	fmt.Println("engine: PredictMargin + Transform (float32); float64 API: PredictRaw + TransformRaw (Predictor);")
	fmt.Println("xgboost: Booster.inplace_predict (probabilities). Best of runs. Allocations per timed run include")
	fmt.Println("starting the goroutines; engine allocations are those of the calls themselves.")
}

func rate(v float64) string { return fmt.Sprintf("%.3f M", v/1e6) }

// generate returns a seeded rows x features matrix and labels. The first k
// rows do not depend on rows, so a model trained on them is reusable.
func generate(seed uint64, rows int) (x, y []float32) {
	rng := rand.New(rand.NewPCG(seed, 0x6d6f64656c))
	x = make([]float32, rows*features)
	y = make([]float32, rows)
	var f [features]float64
	for r := 0; r < rows; r++ {
		for j := range f {
			switch {
			case j < 10:
				f[j] = rng.NormFloat64()
			case j < 15:
				f[j] = rng.Float64()*6 - 3
			case j < 20:
				f[j] = float64(rng.IntN(10))
			case j < 24:
				f[j] = rng.ExpFloat64()
			default:
				f[j] = f[0] + 0.5*rng.NormFloat64()
			}
		}
		s := math.Sin(2*f[0]) + 0.5*f[1]*f[1] - f[2] + 0.3*f[3]*f[4] +
			0.2*(f[5]+f[6]+f[7]+f[8]+f[9]) + 0.1*f[15] - 0.3*f[20] + 0.4*f[24]
		if f[10] > 1 {
			s -= 0.4
		}
		row := x[r*features : (r+1)*features]
		for j, v := range f {
			if rng.IntN(50) == 0 {
				row[j] = float32(math.NaN())
				if j == 1 {
					s += 0.5 // missingness carries signal
				}
			} else {
				row[j] = float32(v)
			}
		}
		// Logistic noise.
		u := rng.Float64()
		s += math.Log(u / (1 - u))
		if s > 0.3 {
			y[r] = 1
		}
	}
	return x, y
}

func nanPercent(x []float32) float64 {
	n := 0
	for _, v := range x {
		if v != v {
			n++
		}
	}
	return 100 * float64(n) / float64(len(x))
}

func writeF32(path string, v []float32) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	var b [4]byte
	for _, x := range v {
		binary.LittleEndian.PutUint32(b[:], math.Float32bits(x))
		_, _ = w.Write(b[:]) // a bufio.Writer keeps its first error for Flush
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return f.Close()
}

func readF32(path string) ([]float32, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v, nil
}

// pythonOutput runs the helper and returns its stdout; its stderr is passed
// through.
func pythonOutput(python, helper string, args ...string) (string, error) {
	cmd := exec.Command(python, append([]string{helper}, args...)...)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) || errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("running %s %s %s: %w (Debian: apt-get install python3-xgboost python3-numpy)",
				python, filepath.Base(helper), args[0], err)
		}
		return "", err
	}
	return out.String(), nil
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
