package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/template"
	"time"

	"github.com/spf13/cobra"

	"github.com/batchinfer/batchinfer/internal/dataset"
	"github.com/batchinfer/batchinfer/internal/scoring"
	"github.com/batchinfer/batchinfer/internal/storage"
	"github.com/batchinfer/batchinfer/platform"
	"github.com/batchinfer/batchinfer/workflows"
)

// jobFlags are the job parameters shared by run (and later schedules); they
// mirror MLRun's batch_inference parameters.
type jobFlags struct {
	datasets       []string
	inline         string
	featureColumns []string
	model          string
	labelColumns   []string
	dropColumns    []string
	resultSet      string
	resultFormat   string
	artifactPath   string
	sampleStats    string
	driftThreshold float64
	possibleDrift  float64
	performDrift   string
	batchID        string
	predictProba   bool
	job            string
	shardRows      int64
	shardBytes     int64
	maxParallel    int
	chunkRows      int64
	heartbeat      time.Duration
	categorical    []string
}

// jobFlagNames are the flags of jobFlags, i.e. the keys of a job spec.
var jobFlagNames = []string{
	"dataset", "inline-sample", "feature-columns", "model", "label-columns", "drop-columns",
	"result-set", "result-format", "artifact-path", "sample-set-statistics", "drift-threshold",
	"possible-drift-threshold", "perform-drift-analysis", "batch-id", "predict-proba", "job",
	"shard-rows", "shard-bytes", "max-parallel", "chunk-rows", "heartbeat-timeout", "categorical-columns",
}

func (j *jobFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringArrayVar(&j.datasets, "dataset", nil, "dataset to score: a CSV (with header), Parquet or JSON Lines file, a folder of them, or an http(s):// URL; repeatable; may contain a Go template of the run's slot, e.g. date={{ .ScheduledTime.Format \"2006-01-02\" }}")
	f.StringVar(&j.inline, "inline-sample", "", fmt.Sprintf("a small dataset given inline as JSON (or @file): a list of objects, or a list of rows with --feature-columns; at most %d bytes and %d rows, written to the artifact store before the run", dataset.MaxInlineBytes, dataset.MaxInlineRows))
	f.StringSliceVar(&j.featureColumns, "feature-columns", nil, "column names of an --inline-sample given as a list of rows")
	f.StringVar(&j.model, "model", "", "model bundle folder (from 'starter model register'), its bundle.json, or a bare XGBoost model file (.json/.ubj)")
	f.StringSliceVar(&j.labelColumns, "label-columns", nil, "names of the prediction columns (default: the bundle's label names, else predicted_label, or predicted_label_0..k for several outputs)")
	f.StringSliceVar(&j.dropColumns, "drop-columns", nil, "columns to drop before prediction: names, or 0-based integer positions")
	f.StringVar(&j.resultSet, "result-set", workflows.DefaultResultSet, "name of the result set (folder of part files under the run's artifact folder)")
	f.StringVar(&j.resultFormat, "result-format", workflows.DefaultResultFormat, "result set format: parquet or csv")
	f.StringVar(&j.artifactPath, "artifact-path", "./artifacts", "artifact store root: a local folder; each run writes under {artifact-path}/{run_id}/, a scheduled run under {artifact-path}/{job}/{slot}/")
	f.StringVar(&j.sampleStats, "sample-set-statistics", "", "reference statistics JSON (MLRun's feature_stats shape) to compare with instead of the model bundle's")
	f.Float64Var(&j.driftThreshold, "drift-threshold", workflows.DefaultDriftThreshold, "drift value (mean of TVD and Hellinger) at or above which a feature, and the run, has DRIFT_DETECTED")
	f.Float64Var(&j.possibleDrift, "possible-drift-threshold", workflows.DefaultPossibleDriftThreshold, "drift value at or above which a feature has POSSIBLE_DRIFT")
	f.StringVar(&j.performDrift, "perform-drift-analysis", "auto", "auto: analyse drift when reference statistics exist, else skip with a note; true: require them; false: skip")
	f.StringVar(&j.batchID, "batch-id", "", "identifier of this batch (default: the workflow ID)")
	f.BoolVar(&j.predictProba, "predict-proba", false, "classifiers: also write <label>_proba_<class> probability columns")
	f.StringVar(&j.job, "job", "", "name of the job, for finding its runs (starter list --job, the BatchinferJob search attribute); the workflow ID is batchpredict/<job>/<batch-id or time> (default \""+platform.DefaultJob+"\"; a schedule's job is its --id)")
	f.Int64Var(&j.shardRows, "shard-rows", 0, fmt.Sprintf("rows per Parquet shard, a unit of Predict work (default %d)", workflows.DefaultShardRows))
	f.Int64Var(&j.shardBytes, "shard-bytes", 0, fmt.Sprintf("bytes per CSV / JSON Lines shard, cut at record boundaries (default %d)", workflows.DefaultShardBytes))
	f.IntVar(&j.maxParallel, "max-parallel", 0, fmt.Sprintf("shards predicted at once (default %d)", workflows.DefaultMaxParallel))
	f.Int64Var(&j.chunkRows, "chunk-rows", 0, fmt.Sprintf("rows per result-set part file, the unit a retried shard resumes from (default %d)", scoring.DefaultChunkRows))
	f.DurationVar(&j.heartbeat, "heartbeat-timeout", 0, fmt.Sprintf("how long a Predict may go without a heartbeat before its shard is retried on another worker: the time to notice a dead worker (default %v)", workflows.DefaultHeartbeatTimeout))
	f.StringSliceVar(&j.categorical, "categorical-columns", nil, "result-set columns described by frequency tables instead of histograms, e.g. integer codes (names; comma-separated or repeated), in addition to the bundle's categorical_columns and the columns the reference statistics describe as categorical; their drift is the categorical comparison (drift_extended_results.json)")
}

// input validates the flags and builds the workflow input. Local paths
// become absolute (workers may run elsewhere); an inline sample is written
// to the artifact store first.
func (j *jobFlags) input(ctx context.Context) (workflows.BatchPredictInput, error) {
	var in workflows.BatchPredictInput
	if len(j.datasets) == 0 && j.inline == "" {
		return in, fmt.Errorf("--dataset or --inline-sample is required")
	}
	if len(j.datasets) > 0 && j.inline != "" {
		return in, fmt.Errorf("give either --dataset or --inline-sample, not both")
	}
	if j.model == "" {
		return in, fmt.Errorf("--model is required")
	}
	if err := checkJobName(j.job); err != nil {
		return in, err
	}
	if j.shardRows < 0 || j.shardBytes < 0 || j.maxParallel < 0 || j.chunkRows < 0 {
		return in, fmt.Errorf("--shard-rows, --shard-bytes, --max-parallel and --chunk-rows must not be negative")
	}
	if j.heartbeat < 0 || (j.heartbeat > 0 && j.heartbeat < time.Second) {
		return in, fmt.Errorf("--heartbeat-timeout %v: want at least 1s (0: the default %v)", j.heartbeat, workflows.DefaultHeartbeatTimeout)
	}
	for _, d := range j.datasets {
		if err := checkDatasetTemplate(d); err != nil {
			return in, err
		}
	}
	if err := storage.CheckWritable(j.artifactPath); err != nil {
		return in, fmt.Errorf("--artifact-path: %w", err)
	}
	artifactPath, err := absURI(j.artifactPath)
	if err != nil {
		return in, err
	}
	in = workflows.BatchPredictInput{
		Model:                  mustAbs(j.model),
		LabelColumns:           j.labelColumns,
		DropColumns:            j.dropColumns,
		ResultSet:              j.resultSet,
		ResultFormat:           j.resultFormat,
		ArtifactPath:           artifactPath,
		DriftThreshold:         j.driftThreshold,
		PossibleDriftThreshold: j.possibleDrift,
		PerformDriftAnalysis:   j.performDrift,
		BatchID:                j.batchID,
		PredictProba:           j.predictProba,
		Job:                    j.job,
		ShardRows:              j.shardRows,
		ShardBytes:             j.shardBytes,
		MaxParallel:            j.maxParallel,
		ChunkRows:              j.chunkRows,
		HeartbeatTimeout:       j.heartbeat,
		CategoricalColumns:     j.categorical,
	}
	if j.sampleStats != "" {
		in.SampleSetStatistics = mustAbs(j.sampleStats)
	}
	for _, d := range j.datasets {
		in.Dataset = append(in.Dataset, mustAbs(d))
	}
	if j.inline != "" {
		uri, err := writeInline(ctx, j.inline, j.featureColumns, artifactPath)
		if err != nil {
			return in, err
		}
		in.Dataset = []string{uri}
	}
	if err := workflows.Validate(&in); err != nil {
		return in, err
	}
	return in, nil
}

// checkJobName rejects job names that cannot be a path element of the
// artifact prefix {artifact-path}/{job}/ or of a workflow ID.
func checkJobName(job string) error {
	if job == "" {
		return nil
	}
	if job == "." || job == ".." || strings.ContainsAny(job, "/\\ \t\n") || len(job) > 200 {
		return fmt.Errorf("job name %q: want a plain name (no slashes or spaces, at most 200 characters)", job)
	}
	return nil
}

// templateData is what a dataset URI template sees: the run's slot (its
// scheduled time, or its start time when unscheduled, in UTC) and the job.
type templateData struct {
	ScheduledTime time.Time
	Job           string
}

// checkDatasetTemplate parses and tries a dataset URI that contains a Go
// template, so a typo fails now rather than in every scheduled run.
func checkDatasetTemplate(uri string) error {
	if !strings.Contains(uri, "{{") {
		return nil
	}
	t, err := template.New("dataset").Option("missingkey=error").Parse(uri)
	if err != nil {
		return fmt.Errorf("--dataset %q: %w", uri, err)
	}
	if err := t.Execute(io.Discard, templateData{ScheduledTime: time.Now().UTC(), Job: "job"}); err != nil {
		return fmt.Errorf("--dataset %q: %w (the template sees .ScheduledTime, a time.Time, and .Job)", uri, err)
	}
	return nil
}

// writeInline parses an inline sample and stores it as JSON Lines under
// {artifact_path}/inline/.
func writeInline(ctx context.Context, sample string, featureColumns []string, artifactPath string) (string, error) {
	data := []byte(sample)
	if strings.HasPrefix(sample, "@") {
		b, err := os.ReadFile(sample[1:])
		if err != nil {
			return "", fmt.Errorf("--inline-sample: %w", err)
		}
		data = b
	}
	jsonl, err := dataset.ParseInline(data, featureColumns)
	if err != nil {
		return "", fmt.Errorf("--inline-sample: %w", err)
	}
	var id [8]byte
	_, _ = rand.Read(id[:])
	uri := storage.Join(artifactPath, "inline", hex.EncodeToString(id[:])+".jsonl")
	if err := storage.WriteFile(ctx, uri, jsonl); err != nil {
		return "", fmt.Errorf("--inline-sample: %w", err)
	}
	return uri, nil
}

func absURI(p string) (string, error) {
	if storage.Scheme(p) != "file" || strings.HasPrefix(p, "file://") {
		return p, nil
	}
	a, err := filepath.Abs(p)
	if err != nil {
		return "", fmt.Errorf("resolving %s: %w", p, err)
	}
	return a, nil
}

func mustAbs(p string) string {
	a, err := absURI(p)
	if err != nil {
		return p
	}
	return a
}
