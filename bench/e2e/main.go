// Command e2e benchmarks a whole BatchPredict run (predict + statistics +
// drift + writing the result set) on a Temporal dev server process with 1
// and 2 worker processes and a versitygw S3 server, against MLRun's method
// (pandas + xgboost + describe/histogram + drift + to_csv) on the same data,
// in one invocation:
//
//	go run ./bench/e2e [--rows 10000000] [--quick]
//
// It builds the worker and starter commands, starts versitygw and `starter
// dev`, then:
//
//  1. generates a seeded training set (--train-rows x 28 features + label)
//     and trains a 100-tree depth-6 binary:logistic model with Debian's
//     XGBoost (/usr/bin/python3), cached under
//     os.UserCacheDir()/batchinfer-bench, and registers it as a bundle with
//     the training set's reference statistics (`starter model register`),
//     uploaded to S3;
//  2. generates the batch (--rows x 28 float32 features, 2% NaN in every
//     fourth column, three columns drifted) and writes it as Parquet (row
//     groups of --row-group rows) to S3 and as CSV for the Python side;
//  3. runs the job with one worker (unrestricted), one worker with
//     GOMAXPROCS=1 and two workers with GOMAXPROCS=1 each, fresh processes
//     and task queue per run, timing from the start of the workflow to its
//     result (run.json is written last) and reading each worker's peak RSS
//     (VmHWM) before stopping it;
//  4. runs MLRun's method (mlrun_method.py) on the CSV and reads its
//     timings and peak RSS (ru_maxrss);
//  5. prints rows/s, the ratio to MLRun, peak RSS and its ratio, the
//     2-vs-1 worker scaling at GOMAXPROCS=1, and the targets.
package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/batchinfer/batchinfer/cluster"
	"github.com/batchinfer/batchinfer/internal/procs"
	"github.com/batchinfer/batchinfer/internal/storage"
	"github.com/batchinfer/batchinfer/platform"
	"github.com/batchinfer/batchinfer/workflows"
)

//go:embed mlrun_method.py
var mlrunMethod []byte

type config struct {
	rows, trainRows, rowGroup int
	shardRows                 int64
	seed                      uint64
	python, cacheDir, workDir string
	keep                      bool
	chunkRows                 int64
	s3Args                    string // extra flags of versitygw's posix back end
	mlrun                     bool   // run MLRun's method (false: batchinfer runs and scaling only)
}

func main() {
	log.SetFlags(0)
	var c config
	quick := flag.Bool("quick", false, "500,000 rows (smoke run)")
	flag.IntVar(&c.rows, "rows", 10_000_000, "batch rows")
	flag.IntVar(&c.trainRows, "train-rows", 100_000, "training rows (model and reference statistics)")
	flag.IntVar(&c.rowGroup, "row-group", 0, "rows per Parquet row group of the batch (default: about rows/2/shards, at most 131,072)")
	flag.Int64Var(&c.shardRows, "shard-rows", 0, "ShardRows of the job, rows per Predict shard (default: whole row groups for about rows/400,000 shards, 8 to 24)")
	flag.Int64Var(&c.chunkRows, "chunk-rows", 0, "ChunkRows of the job, rows per result-set part (default: the workflow's)")
	flag.StringVar(&c.s3Args, "s3-args", "--data-integrity-etag", "extra flags of versitygw's posix back end, space-separated (the default spares it an MD5 of every byte uploaded: its ETags are then CRC-based)")
	seed := flag.Uint64("seed", 1, "data seed")
	flag.StringVar(&c.python, "python", "/usr/bin/python3", "python with pandas, numpy and xgboost (Debian's)")
	flag.StringVar(&c.cacheDir, "cache", "", "model cache folder (default os.UserCacheDir()/batchinfer-bench)")
	flag.StringVar(&c.workDir, "work-dir", "", "folder for the data, S3 store and logs (default: a new temporary folder)")
	flag.BoolVar(&c.keep, "keep", false, "keep the work folder")
	flag.BoolVar(&c.mlrun, "mlrun", true, "run MLRun's method too (false: only the batchinfer runs and the 2-vs-1 worker scaling)")
	flag.Parse()
	c.seed = *seed
	if *quick {
		c.rows = 500_000
	}
	shards := min(max(c.rows/400_000, 8), 24)
	if c.rowGroup <= 0 {
		c.rowGroup = max(min(131_072, c.rows/(2*shards)), 1)
	}
	if c.shardRows <= 0 {
		groups := (c.rows + c.rowGroup - 1) / c.rowGroup
		c.shardRows = int64(max(groups/shards, 1) * c.rowGroup)
	}
	if c.cacheDir == "" {
		dir, err := os.UserCacheDir()
		if err != nil {
			log.Fatalf("locating the cache folder: %v (set --cache)", err)
		}
		c.cacheDir = filepath.Join(dir, "batchinfer-bench")
	}
	// Ctrl-C cancels the run; the deferred stops end the child processes.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, c)
	stop()
	if err != nil {
		log.Fatal(err)
	}
}

// measurement is one timed run.
type measurement struct {
	name     string
	workers  int
	procs    string // GOMAXPROCS of each worker
	rows     int64
	seconds  float64
	peakRSS  []int64 // per worker process
	cpu      cpuUse
	drift    float64
	phases   string
	isPython bool
}

func (m measurement) rate() float64 { return float64(m.rows) / m.seconds }

func (m measurement) maxRSS() int64 {
	var v int64
	for _, r := range m.peakRSS {
		v = max(v, r)
	}
	return v
}

func (m measurement) sumRSS() int64 {
	var v int64
	for _, r := range m.peakRSS {
		v += r
	}
	return v
}

func run(ctx context.Context, c config) (err error) {
	fmt.Printf("load average before: %s\n", loadAvg())
	fmt.Printf("%s, %d CPUs, %s/%s; %d rows x %d features; row groups of %d rows, ShardRows %d\n",
		runtime.Version(), runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, c.rows, features, c.rowGroup, c.shardRows)
	work := c.workDir
	if work == "" {
		if work, err = os.MkdirTemp("", "batchinfer-bench-e2e-"); err != nil {
			return err
		}
	}
	if !c.keep {
		defer os.RemoveAll(work)
	} else {
		fmt.Printf("work folder (kept): %s\n", work)
	}
	bin, logs, store := filepath.Join(work, "bin"), filepath.Join(work, "logs"), filepath.Join(work, "s3")
	for _, d := range []string{bin, logs, store, c.cacheDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	t0 := time.Now()
	if err := cluster.Build(bin); err != nil {
		return err
	}
	fmt.Printf("built worker and starter in %v\n", time.Since(t0).Round(100*time.Millisecond))

	s3, err := procs.StartS3(ctx, procs.S3Options{
		Dir: store, LogDir: logs, Bucket: "bench", AccessKey: "batchinfer-bench", SecretKey: "batchinfer-bench-secret",
		PosixArgs: strings.Fields(c.s3Args),
	})
	if err != nil {
		return err
	}
	defer s3.Proc.Stop()
	// The AWS variables of this process (the S3 client of the set-up) are
	// inherited by the workers.
	for _, kv := range s3.Env() {
		k, v, _ := strings.Cut(kv, "=")
		if err := os.Setenv(k, v); err != nil {
			return err
		}
	}
	dev, err := cluster.StartDevServer(ctx, logs, bin)
	if err != nil {
		return err
	}
	defer dev.Stop()
	fmt.Printf("S3 (versitygw) %s, Temporal dev server %s\n", s3.Endpoint, dev.HostPort)

	helper := filepath.Join(work, "mlrun_method.py")
	if err := os.WriteFile(helper, mlrunMethod, 0o644); err != nil {
		return err
	}
	modelURI, bundleJSON, modelPath, err := prepareModel(ctx, c, work, bin, helper, s3)
	if err != nil {
		return err
	}

	t0 = time.Now()
	datasetURI := s3.URI("data/batch.parquet")
	csvPath := filepath.Join(work, "batch.csv")
	pqBytes, csvBytes, err := writeBatch(ctx, datasetURI, csvPath, generator{seed: c.seed, stream: 2, drift: true}, c.rows, c.rowGroup)
	if err != nil {
		return err
	}
	fmt.Printf("batch: %d rows, Parquet %.1f MiB in S3 (row groups of %d), CSV %.1f MiB; generated in %v\n",
		c.rows, mib(pqBytes), c.rowGroup, mib(csvBytes), time.Since(t0).Round(100*time.Millisecond))

	var ms []measurement
	for _, r := range []struct {
		name       string
		workers    int
		gomaxprocs int
	}{
		{"batchinfer, 1 worker", 1, 0},
		{"batchinfer, 1 worker, GOMAXPROCS=1", 1, 1},
		{"batchinfer, 2 workers, GOMAXPROCS=1 each", 2, 1},
	} {
		m, err := runJob(ctx, c, dev, s3, r.name, r.workers, r.gomaxprocs, datasetURI, modelURI, len(ms))
		if err != nil {
			return err
		}
		ms = append(ms, m)
	}

	if !c.mlrun {
		fmt.Printf("\nMLRun's method skipped (--mlrun=false).\n")
		printScaling(ms[1], ms[2])
		return nil
	}
	fmt.Printf("\n== MLRun's method (%s): read_csv + xgboost + describe/histogram + drift + to_csv\n", c.python)
	py, err := runPython(ctx, c, helper, csvPath, modelPath, bundleJSON, filepath.Join(work, "mlrun_result.csv"), filepath.Join(work, "mlrun.json"))
	if err != nil {
		return err
	}
	_ = os.Remove(filepath.Join(work, "mlrun_result.csv"))
	ms = append(ms, py)

	if dhwm, err := dev.Proc.PeakRSS(); err == nil {
		fmt.Printf("\ninfrastructure (not counted): dev server peak RSS %s", mibStr(dhwm))
		if shwm, err := s3.Proc.PeakRSS(); err == nil {
			fmt.Printf(", versitygw %s", mibStr(shwm))
		}
		fmt.Println()
	}
	printTable(ms)
	fmt.Printf("load average after: %s\n", loadAvg())
	return nil
}

// prepareModel trains (or takes from the cache) the model, registers the
// bundle with the training set's statistics and uploads it to S3. It
// returns the bundle URI in S3 and the local bundle.json and model paths.
func prepareModel(ctx context.Context, c config, work, bin, helper string, s3 *procs.S3Server) (uri, bundleJSON, modelPath string, err error) {
	const trees, depth = 100, 6
	t0 := time.Now()
	trainCSV := filepath.Join(work, "train.csv")
	if err := writeTraining(trainCSV, generator{seed: c.seed, stream: 1}, c.trainRows); err != nil {
		return "", "", "", err
	}
	version, err := exec.Command(c.python, helper, "version").Output()
	if err != nil {
		return "", "", "", fmt.Errorf("%s %s version: %w (Debian's python3-xgboost is needed)", c.python, helper, err)
	}
	name := fmt.Sprintf("e2e-xgb%s-binary-logistic-t%d-d%d-train%d-seed%d-data%d.json",
		strings.TrimSpace(string(version)), trees, depth, c.trainRows, c.seed, dataVersion)
	modelPath = filepath.Join(c.cacheDir, name)
	if _, err := os.Stat(modelPath); err == nil {
		fmt.Printf("model: %d trees, depth %d: cached %s\n", trees, depth, modelPath)
	} else {
		tmp := strings.TrimSuffix(modelPath, ".json") + ".partial.json"
		cmd := exec.CommandContext(ctx, c.python, helper, "train", trainCSV, "label", fmt.Sprint(trees), fmt.Sprint(depth), tmp)
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", "", "", fmt.Errorf("training: %w\n%s", err, out)
		}
		if err := os.Rename(tmp, modelPath); err != nil {
			return "", "", "", err
		}
		fmt.Printf("model: %d trees, depth %d: trained by XGBoost %s on %d rows in %v, cached %s\n",
			trees, depth, strings.TrimSpace(string(version)), c.trainRows, time.Since(t0).Round(time.Second), modelPath)
	}
	bundle := filepath.Join(work, "bundle")
	cmd := exec.Command(filepath.Join(bin, "starter"), "model", "register", "--model", modelPath,
		"--training-set", trainCSV, "--label-columns", "label", "--to", bundle)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", "", "", fmt.Errorf("starter model register: %w\n%s", err, out)
	}
	entries, err := os.ReadDir(bundle)
	if err != nil {
		return "", "", "", err
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(bundle, e.Name()))
		if err != nil {
			return "", "", "", err
		}
		if err := storage.WriteFile(ctx, s3.URI("models/bench/"+e.Name()), b); err != nil {
			return "", "", "", err
		}
	}
	return s3.URI("models/bench/bundle.json"), filepath.Join(bundle, "bundle.json"), modelPath, nil
}

// runJob runs the job on fresh worker processes and measures it.
func runJob(ctx context.Context, c config, dev *cluster.DevServer, s3 *procs.S3Server, name string, workers, gomaxprocs int, dataset, model string, n int) (measurement, error) {
	m := measurement{name: name, workers: workers, procs: "all"}
	if gomaxprocs > 0 {
		m.procs = fmt.Sprint(gomaxprocs)
	}
	fmt.Printf("\n== %s\n", name)
	queue := fmt.Sprintf("bench-%d", n)
	ws, err := dev.StartWorkers(ctx, cluster.WorkerOptions{TaskQueue: queue, Workers: workers, GOMAXPROCS: gomaxprocs})
	if err != nil {
		return m, err
	}
	defer func() {
		for _, w := range ws {
			w.Stop()
		}
	}()
	runName := fmt.Sprintf("run-%d", n)
	in := workflows.BatchPredictInput{
		Dataset: []string{dataset}, Model: model, ArtifactPath: s3.URI("runs/" + runName), BatchID: runName,
		PerformDriftAnalysis: "true", ShardRows: c.shardRows, ChunkRows: c.chunkRows,
	}
	infra0 := infraCPU(dev, s3)
	t0 := time.Now()
	wr, err := platform.StartJob(ctx, dev.Client, queue, in)
	if err != nil {
		return m, err
	}
	var res workflows.BatchPredictResult
	if err := wr.Get(ctx, &res); err != nil {
		return m, fmt.Errorf("%s: %w", name, err)
	}
	m.seconds = time.Since(t0).Seconds()
	m.rows, m.drift = res.Rows, res.DriftMetric
	m.cpu = infraCPU(dev, s3).minus(infra0)
	for _, w := range ws {
		// Fresh processes: their whole CPU time, start-up included (well under 0.1 s).
		if s, err := w.CPUSeconds(); err == nil {
			m.cpu.workers += s
		}
		rss, err := w.PeakRSS()
		if err != nil {
			return m, err
		}
		m.peakRSS = append(m.peakRSS, rss)
	}
	if m.rows != int64(c.rows) {
		return m, fmt.Errorf("%s: %d rows scored, want %d", name, m.rows, c.rows)
	}
	var manifest struct {
		Shards int      `json:"shards"`
		Parts  []string `json:"result_parts"`
	}
	if b, err := storage.ReadAll(ctx, res.RunManifest, 64<<20); err == nil {
		_ = json.Unmarshal(b, &manifest)
	}
	rss := make([]string, len(m.peakRSS))
	for i, r := range m.peakRSS {
		rss[i] = mibStr(r)
	}
	fmt.Printf("%d rows, %d shards, %d result parts in %.2fs: %s rows/s; drift_metric %.6f; worker peak RSS %s\n",
		m.rows, manifest.Shards, len(manifest.Parts), m.seconds, rate(m.rate()), m.drift, strings.Join(rss, ", "))
	fmt.Printf("CPU seconds: workers %.1f, versitygw %.1f, dev server %.1f (%.0f%% of the machine's %d cores over the run)\n",
		m.cpu.workers, m.cpu.s3, m.cpu.dev, 100*m.cpu.total()/(m.seconds*float64(runtime.NumCPU())), runtime.NumCPU())
	if ps, err := phases(ctx, dev.Client, wr.GetID(), wr.GetRunID()); err == nil {
		printPhases(ps)
	} else {
		fmt.Printf("  (no phases: %v)\n", err)
	}
	// The run's artifacts are checked; drop them to spare the disk.
	_ = os.RemoveAll(filepath.Join(s3.Dir, s3.Bucket, "runs", runName))
	return m, nil
}

// cpuUse is CPU time, in seconds, spent during a run by each kind of process.
type cpuUse struct{ workers, s3, dev float64 }

func (c cpuUse) total() float64 { return c.workers + c.s3 + c.dev }

func (c cpuUse) minus(o cpuUse) cpuUse {
	return cpuUse{c.workers - o.workers, c.s3 - o.s3, c.dev - o.dev}
}

// infraCPU reads the CPU time used so far by the S3 server and the dev
// server (0 where it cannot be read).
func infraCPU(dev *cluster.DevServer, s3 *procs.S3Server) cpuUse {
	var c cpuUse
	c.s3, _ = s3.Proc.CPUSeconds()
	c.dev, _ = dev.Proc.CPUSeconds()
	return c
}

// pyResult is mlrun_method.py's output.
type pyResult struct {
	Rows         int64   `json:"rows"`
	Seconds      float64 `json:"seconds"`
	Read         float64 `json:"read_seconds"`
	Predict      float64 `json:"predict_seconds"`
	StatsDrift   float64 `json:"stats_drift_seconds"`
	Write        float64 `json:"write_seconds"`
	DriftMetric  float64 `json:"drift_metric"`
	PeakRSSBytes int64   `json:"peak_rss_bytes"`
	Pandas       string  `json:"pandas"`
	NumPy        string  `json:"numpy"`
	XGBoost      string  `json:"xgboost"`
}

func runPython(ctx context.Context, c config, helper, csvPath, modelPath, bundleJSON, outCSV, outJSON string) (measurement, error) {
	cmd := exec.CommandContext(ctx, c.python, helper, "predict", csvPath, modelPath, bundleJSON, "label", outCSV, outJSON)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return measurement{}, fmt.Errorf("MLRun's method: %w", err)
	}
	b, err := os.ReadFile(outJSON)
	if err != nil {
		return measurement{}, err
	}
	var r pyResult
	if err := json.Unmarshal(b, &r); err != nil {
		return measurement{}, fmt.Errorf("MLRun's method output %s: %w", b, err)
	}
	phases := fmt.Sprintf("read_csv %.1fs, predict %.1fs, describe+histogram+drift %.1fs, to_csv %.1fs",
		r.Read, r.Predict, r.StatsDrift, r.Write)
	fmt.Printf("pandas %s, numpy %s, xgboost %s: %d rows in %.2fs (%s): %s rows/s; drift_metric %.6f; peak RSS %s\n",
		r.Pandas, r.NumPy, r.XGBoost, r.Rows, r.Seconds, phases, rate(float64(r.Rows)/r.Seconds), r.DriftMetric, mibStr(r.PeakRSSBytes))
	if r.Rows != int64(c.rows) {
		return measurement{}, fmt.Errorf("MLRun's method read %d rows, want %d", r.Rows, c.rows)
	}
	return measurement{
		name: "MLRun's method (pandas + xgboost, 1 process)", workers: 1, procs: "all", rows: r.Rows, seconds: r.Seconds,
		peakRSS: []int64{r.PeakRSSBytes}, drift: r.DriftMetric, phases: phases, isPython: true,
	}, nil
}

func printTable(ms []measurement) {
	var py measurement
	for _, m := range ms {
		if m.isPython {
			py = m
		}
	}
	fmt.Println()
	fmt.Println("| run | worker processes x GOMAXPROCS | rows | seconds | rows/s | vs MLRun | peak RSS per process (max) | total peak RSS | RSS vs MLRun | drift_metric | CPU s: workers / versitygw / dev server |")
	fmt.Println("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, m := range ms {
		cpu := "-"
		if !m.isPython {
			cpu = fmt.Sprintf("%.1f / %.1f / %.1f", m.cpu.workers, m.cpu.s3, m.cpu.dev)
		}
		fmt.Printf("| %s | %d x %s | %d | %.2f | %s | %.2fx | %s | %s | %.3f | %.6f | %s |\n",
			m.name, m.workers, m.procs, m.rows, m.seconds, rate(m.rate()), m.rate()/py.rate(),
			mibStr(m.maxRSS()), mibStr(m.sumRSS()), float64(m.sumRSS())/float64(py.sumRSS()), m.drift, cpu)
	}
	one, two := ms[1], ms[2]
	scaling := two.rate() / one.rate()
	best := ms[0]
	fmt.Println()
	printScaling(one, two)
	fmt.Println("\ntargets:")
	verdict := func(ok bool) string {
		if ok {
			return "met"
		}
		return "NOT met"
	}
	r := best.rate() / py.rate()
	fmt.Printf("  throughput >= 5x MLRun's (1 worker, all cores, vs MLRun's method, all cores): %.2fx, %s\n", r, verdict(r >= 5))
	mem := float64(best.sumRSS()) / float64(py.sumRSS())
	fmt.Printf("  peak memory <= 1/10 of MLRun's (1 worker): %.3f, %s\n", mem, verdict(mem <= 0.1))
	mem2 := float64(two.sumRSS()) / float64(py.sumRSS())
	fmt.Printf("  peak memory <= 1/10 of MLRun's (2 workers together): %.3f, %s\n", mem2, verdict(mem2 <= 0.1))
	fmt.Printf("  2 workers >= 1.7x 1 worker (GOMAXPROCS=1): %.2fx, %s\n", scaling, verdict(scaling >= 1.7))
	fmt.Println()
	fmt.Println("batchinfer: wall time from starting the workflow to its result (run.json is written last), peak RSS")
	fmt.Println("(VmHWM) of the worker processes; the dev server and versitygw are not counted. MLRun's method: wall")
	fmt.Println("time of read_csv .. to_csv inside the Python process (interpreter start and imports not counted),")
	fmt.Println("peak RSS of that process (ru_maxrss). batchinfer reads Parquet from S3 and writes Parquet to S3;")
	fmt.Println("MLRun's method reads and writes local CSV (Debian's pandas has no Parquet engine).")
}

// printScaling prints the 2-vs-1 worker scaling at GOMAXPROCS=1 and what
// bounds it on this machine. When every core is busy, the 2-worker run
// cannot end before (CPU seconds of workers + S3 server + dev server) /
// cores: the ceiling is one.seconds over that. The projection without the
// infrastructure assumes the S3 server and Temporal run elsewhere (as S3
// and a Temporal cluster do) and each worker keeps its core busy:
// one.seconds / (workers' CPU seconds / 2). It is an estimate, printed
// beside the measurement, never instead of it.
func printScaling(one, two measurement) {
	scaling := two.rate() / one.rate()
	cores := float64(runtime.NumCPU())
	fmt.Printf("scaling, 2 workers vs 1 (GOMAXPROCS=1 each): %.2fx\n", scaling)
	if two.cpu.total() <= 0 || two.cpu.workers <= 0 {
		return
	}
	floor := two.cpu.total() / cores
	fmt.Printf("  2-worker run: %.1f CPU-s (workers %.1f, versitygw %.1f, dev server %.1f) on %.0f cores: the machine was %.0f%% busy;\n",
		two.cpu.total(), two.cpu.workers, two.cpu.s3, two.cpu.dev, cores, 100*floor/two.seconds)
	fmt.Printf("  ceiling on this machine with that CPU: %.2fx; projection with versitygw and Temporal on other machines: %.2fx\n",
		one.seconds/floor, one.seconds/(two.cpu.workers/2))
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return strings.TrimSpace(string(b))
	}
	return strings.Join(f[:3], " ")
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }

func mibStr(n int64) string { return fmt.Sprintf("%.0f MiB", mib(n)) }

func rate(v float64) string { return fmt.Sprintf("%.3f M", v/1e6) }
