package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/batchinfer/batchinfer/internal/dataset"
	"github.com/batchinfer/batchinfer/internal/storage"
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
}

func (j *jobFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringArrayVar(&j.datasets, "dataset", nil, "dataset to score: a CSV (with header), Parquet or JSON Lines file, a folder of them, or an http(s):// URL; repeatable")
	f.StringVar(&j.inline, "inline-sample", "", fmt.Sprintf("a small dataset given inline as JSON (or @file): a list of objects, or a list of rows with --feature-columns; at most %d bytes and %d rows, written to the artifact store before the run", dataset.MaxInlineBytes, dataset.MaxInlineRows))
	f.StringSliceVar(&j.featureColumns, "feature-columns", nil, "column names of an --inline-sample given as a list of rows")
	f.StringVar(&j.model, "model", "", "model bundle folder (from `starter model register`), its bundle.json, or a bare XGBoost model file (.json/.ubj)")
	f.StringSliceVar(&j.labelColumns, "label-columns", nil, "names of the prediction columns (default: the bundle's label names, else predicted_label, or predicted_label_0..k for several outputs)")
	f.StringSliceVar(&j.dropColumns, "drop-columns", nil, "columns to drop before prediction: names, or 0-based integer positions")
	f.StringVar(&j.resultSet, "result-set", workflows.DefaultResultSet, "name of the result set (folder of part files under the run's artifact folder)")
	f.StringVar(&j.resultFormat, "result-format", workflows.DefaultResultFormat, "result set format: parquet or csv")
	f.StringVar(&j.artifactPath, "artifact-path", "./artifacts", "artifact store root: a local folder; each run writes under {artifact-path}/{run_id}/")
	f.StringVar(&j.sampleStats, "sample-set-statistics", "", "reference statistics JSON (MLRun's feature_stats shape) to compare with instead of the model bundle's")
	f.Float64Var(&j.driftThreshold, "drift-threshold", workflows.DefaultDriftThreshold, "drift value (mean of TVD and Hellinger) at or above which a feature, and the run, has DRIFT_DETECTED")
	f.Float64Var(&j.possibleDrift, "possible-drift-threshold", workflows.DefaultPossibleDriftThreshold, "drift value at or above which a feature has POSSIBLE_DRIFT")
	f.StringVar(&j.performDrift, "perform-drift-analysis", "auto", "auto: analyse drift when reference statistics exist, else skip with a note; true: require them; false: skip")
	f.StringVar(&j.batchID, "batch-id", "", "identifier of this batch (default: the workflow ID)")
	f.BoolVar(&j.predictProba, "predict-proba", false, "classifiers: also write <label>_proba_<class> probability columns")
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
