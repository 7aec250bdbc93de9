package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/batchinfer/batchinfer/internal/dataset"
	"github.com/batchinfer/batchinfer/internal/drift"
	"github.com/batchinfer/batchinfer/internal/report"
	"github.com/batchinfer/batchinfer/internal/scoring"
	"github.com/batchinfer/batchinfer/internal/stats"
	"github.com/batchinfer/batchinfer/internal/storage"
)

// Activities holds the dependencies of batchinfer's activities. Workflows
// call its methods through a nil *Activities.
type Activities struct {
	// Threads evaluating the model per Predict; default GOMAXPROCS.
	Threads int
	// HeartbeatEvery throttles progress heartbeats; default 5 s.
	HeartbeatEvery time.Duration
	// Metrics receives business metrics (rows scored, shard durations,
	// drift); nil records none.
	Metrics Metrics
}

// Metrics receives batchinfer's business metrics. Implementations must be
// safe for concurrent use.
type Metrics interface {
	// RowsScored counts rows predicted with a model (called per record batch).
	RowsScored(model string, rows int64)
	// ShardDone records one finished Predict unit: its rows and duration.
	ShardDone(model string, rows int64, d time.Duration)
	// DriftMeasured records a run's drift_metric and drift_status for a job.
	DriftMeasured(job string, metric float64, detected bool)
}

// New returns Activities with the defaults.
func New() *Activities { return &Activities{HeartbeatEvery: 5 * time.Second} }

// maxStatsBytes bounds a statistics JSON read into memory (256 MiB).
const maxStatsBytes = 256 << 20

// LoadDataset resolves the dataset and the model and checks that they fit:
// every file readable and of one schema, at least one row, drop columns
// valid, the model's features present and numeric, no prediction column
// already in the dataset, categorical column declarations valid (resolved
// with the bundle's into LoadDatasetResult.CategoricalColumns). It copies
// the reference statistics (the sample set statistics, else the bundle's
// feature_stats) into the run folder.
func (a *Activities) LoadDataset(ctx context.Context, in LoadDatasetInput) (*LoadDatasetResult, error) {
	return guard(func() (*LoadDatasetResult, error) { return a.loadDataset(ctx, in) })
}

func (a *Activities) loadDataset(ctx context.Context, in LoadDatasetInput) (*LoadDatasetResult, error) {
	m, err := a.model(ctx, in.Model)
	if err != nil {
		return nil, err
	}
	files, err := dataset.Resolve(ctx, in.Datasets)
	if err != nil {
		return nil, err
	}
	r, err := dataset.OpenAll(ctx, files, dataset.Options{BatchRows: 1024, NumericColumns: m.FeatureNames()})
	if err != nil {
		return nil, err
	}
	defer r.Close()
	plan, err := scoring.NewPlan(r.Schema(), m, in.DropColumns, in.LabelColumns, false)
	if err != nil {
		return nil, err
	}
	if _, err := r.Next(); err == io.EOF {
		return nil, fmt.Errorf("%w: %v", scoring.ErrEmptyDataset, in.Datasets)
	} else if err != nil {
		return nil, err
	}
	manifest, err := scoring.PlanManifest(ctx, files, r.Schema(), dataset.ShardOptions{Rows: in.ShardRows, Bytes: in.ShardBytes})
	if err != nil {
		return nil, err
	}
	res := &LoadDatasetResult{
		Manifest:     storage.Join(in.RunDir, ArtifactShardManifest),
		Shards:       len(manifest.Shards),
		Files:        len(files),
		RowsTotal:    manifest.RowsTotal,
		Columns:      plan.Names,
		LabelColumns: plan.Labels,
		Classes:      m.Info.NumClasses,
		Objective:    m.Info.Objective,
		Framework:    m.Info.Framework,
	}
	for _, i := range plan.Features {
		res.Features = append(res.Features, r.Schema().Field(i).Name)
	}
	if res.CategoricalColumns, err = scoring.ResolveCategorical(plan, m, in.CategoricalColumns); err != nil {
		return nil, err
	}
	if err := scoring.WriteManifest(ctx, res.Manifest, manifest); err != nil {
		return nil, err
	}

	var refJSON []byte
	switch {
	case in.PerformDrift == "false":
		res.DriftNote = "drift analysis disabled (perform_drift_analysis=false)"
	case in.SampleSetStatistics != "":
		b, err := storage.ReadAll(ctx, in.SampleSetStatistics, maxStatsBytes)
		if err != nil {
			return nil, fmt.Errorf("%w: sample set statistics: %w", errNoReference, err)
		}
		refJSON = b
	case m.Spec != nil && len(m.Spec.FeatureStats) > 0:
		refJSON = m.Spec.FeatureStats
	default:
		note := "the model is a bare file without feature_stats and no sample set statistics were given (register it with `starter model register` or pass --sample-set-statistics)"
		if in.PerformDrift == "true" {
			return nil, fmt.Errorf("drift analysis required but %w: %s", errNoReference, note)
		}
		res.DriftNote = "drift analysis skipped: no reference statistics: " + note
	}
	if refJSON != nil {
		ref, err := stats.ParseDataset(refJSON)
		if err != nil {
			return nil, fmt.Errorf("reference statistics: %w", err)
		}
		out, err := ref.MarshalJSON()
		if err != nil {
			return nil, fmt.Errorf("encoding reference statistics: %w", err)
		}
		res.ReferenceStatistics = storage.Join(in.RunDir, ArtifactReferenceStatistics)
		if err := storage.WriteFile(ctx, res.ReferenceStatistics, out); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// heartbeater records progress at most every interval.
type heartbeater struct {
	ctx   context.Context
	every time.Duration
	mu    sync.Mutex
	last  time.Time
}

func (h *heartbeater) beat(details ...any) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if time.Since(h.last) < h.every {
		return
	}
	h.last = time.Now()
	activity.RecordHeartbeat(h.ctx, details...)
}

func (a *Activities) heartbeater(ctx context.Context) *heartbeater {
	every := a.HeartbeatEvery
	if every <= 0 {
		every = 5 * time.Second
	}
	return &heartbeater{ctx: ctx, every: every}
}

// shardProgress is Predict's heartbeat: the next chunk to write. A retried
// Predict resumes there; chunks before it are complete.
type shardProgress struct {
	NextChunk int
	Rows      int64
}

// Predict scores one shard of the manifest, writing result-set chunks and
// their partial statistics under deterministic keys. It heartbeats after
// every chunk and resumes from the last heartbeat when retried.
func (a *Activities) Predict(ctx context.Context, in PredictInput) (*PredictResult, error) {
	return guard(func() (*PredictResult, error) {
		started := time.Now()
		m, err := a.model(ctx, in.Model)
		if err != nil {
			return nil, err
		}
		manifest, err := a.manifest(ctx, in.Manifest)
		if err != nil {
			return nil, err
		}
		var ref *stats.Dataset
		if in.ReferenceStatistics != "" {
			if ref, err = a.reference(ctx, in.ReferenceStatistics); err != nil {
				return nil, err
			}
		}
		var resume shardProgress
		if activity.HasHeartbeatDetails(ctx) {
			if err := activity.GetHeartbeatDetails(ctx, &resume); err != nil {
				resume = shardProgress{}
			}
		}
		hb := a.heartbeater(ctx)
		progress := resume
		res, err := scoring.ScoreShard(ctx, scoring.ShardInput{
			Manifest:           manifest,
			Shard:              in.Shard,
			Model:              m,
			DropColumns:        in.DropColumns,
			LabelColumns:       in.LabelColumns,
			PredictProba:       in.PredictProba,
			ResultSet:          in.ResultSet,
			Format:             in.ResultFormat,
			Reference:          ref,
			Partials:           in.Partials,
			CategoricalColumns: in.CategoricalColumns,
			ChunkRows:          in.ChunkRows,
			StartChunk:         resume.NextChunk,
			Threads:            a.Threads,
			OnChunk: func(chunk int, rows int64) {
				progress = shardProgress{NextChunk: chunk + 1, Rows: rows}
				activity.RecordHeartbeat(ctx, progress) // never throttled away: it is the resume point
			},
			OnRows: func(scored int64) {
				if a.Metrics != nil {
					a.Metrics.RowsScored(in.Model, scored)
				}
				hb.beat(progress)
			},
		})
		if err != nil {
			return nil, err
		}
		if a.Metrics != nil {
			a.Metrics.ShardDone(in.Model, res.Rows, time.Since(started))
		}
		return &PredictResult{Rows: res.Rows, Chunks: res.Chunks}, nil
	})
}

// ComputeStatistics merges the partial statistics of every chunk (computed
// by Predict over the reference's edges) and writes dataset_statistics.json.
func (a *Activities) ComputeStatistics(ctx context.Context, in ComputeStatisticsInput) (*ComputeStatisticsResult, error) {
	return guard(func() (*ComputeStatisticsResult, error) {
		acc, err := scoring.MergePartials(ctx, in.Partials, in.Chunks)
		if err != nil {
			return nil, err
		}
		ds := acc.Dataset()
		if err := writeJSON(ctx, in.Output, ds); err != nil {
			return nil, err
		}
		return &ComputeStatisticsResult{DatasetStatistics: in.Output, Rows: acc.Rows, Columns: ds.Len()}, nil
	})
}

// DriftAnalysis compares the result set's statistics with the reference and
// writes drift_results.json, features_drift_results.json and
// drift_table_plot.html.
func (a *Activities) DriftAnalysis(ctx context.Context, in DriftAnalysisInput) (*DriftAnalysisResult, error) {
	return guard(func() (*DriftAnalysisResult, error) {
		batch, err := readStats(ctx, in.DatasetStatistics)
		if err != nil {
			return nil, err
		}
		ref, err := a.reference(ctx, in.ReferenceStatistics)
		if err != nil {
			return nil, err
		}
		th := drift.Thresholds{Drift: in.DriftThreshold, Possible: in.PossibleDriftThreshold}
		res := drift.Analyze(ref, batch, th)
		if a.Metrics != nil {
			a.Metrics.DriftMeasured(in.Job, res.DriftMetric, res.DriftStatus)
		}
		out := &DriftAnalysisResult{
			DriftResults:         storage.Join(in.RunDir, ArtifactDriftResults),
			FeaturesDriftResults: storage.Join(in.RunDir, ArtifactFeaturesDrift),
			DriftTablePlot:       storage.Join(in.RunDir, ArtifactDriftTablePlot),
			DriftExtended:        storage.Join(in.RunDir, ArtifactDriftExtended),
			DriftedShare:         res.DriftedShare,
			DriftStatus:          res.DriftStatus,
			DriftMetric:          res.DriftMetric,
		}
		b, err := res.DriftResultsJSON()
		if err != nil {
			return nil, err
		}
		if err := storage.WriteFile(ctx, out.DriftResults, b); err != nil {
			return nil, err
		}
		if b, err = res.FeaturesDriftJSON(); err != nil {
			return nil, err
		}
		if err := storage.WriteFile(ctx, out.FeaturesDriftResults, b); err != nil {
			return nil, err
		}
		if b, err = res.ExtendedJSON(); err != nil {
			return nil, err
		}
		if err := storage.WriteFile(ctx, out.DriftExtended, b); err != nil {
			return nil, err
		}
		w, err := storage.Create(ctx, out.DriftTablePlot)
		if err != nil {
			return nil, err
		}
		defer w.Close()
		if err := report.Render(w, report.Input{
			Title: "Drift table", BatchID: in.BatchID, GeneratedAt: time.Now().UTC(),
			Reference: ref, Batch: batch, Drift: res, Thresholds: th,
		}); err != nil {
			return nil, fmt.Errorf("rendering %s: %w", out.DriftTablePlot, err)
		}
		if err := w.Commit(); err != nil {
			return nil, err
		}
		for _, f := range res.Features {
			out.Features = append(out.Features, FeatureDrift{
				Name: f.Name, Compared: f.Compared, TVD: f.TVD, Hellinger: f.Hellinger, KLD: f.KLD,
				Value: f.Value, Status: string(f.Status), Note: f.Note,
			})
		}
		return out, nil
	})
}

// WriteRunManifest writes run.json, the last artifact of a run, listing
// every result-set part, and returns its URI.
func (a *Activities) WriteRunManifest(ctx context.Context, in WriteRunManifestInput) (string, error) {
	return guard(func() (string, error) {
		uri := storage.Join(in.RunDir, ArtifactRunManifest)
		in.Manifest.ResultParts = scoring.PartURIs(in.Manifest.ResultSet, in.ResultFormat, in.Chunks)
		b, err := json.MarshalIndent(in.Manifest, "", "  ")
		if err != nil {
			return "", fmt.Errorf("encoding run manifest: %w", err)
		}
		return uri, storage.WriteFile(ctx, uri, append(b, '\n'))
	})
}

func readStats(ctx context.Context, uri string) (*stats.Dataset, error) {
	b, err := storage.ReadAll(ctx, uri, maxStatsBytes)
	if err != nil {
		return nil, err
	}
	ds, err := stats.ParseDataset(b)
	if err != nil {
		return nil, fmt.Errorf("statistics %s: %w", uri, err)
	}
	return ds, nil
}

func writeJSON(ctx context.Context, uri string, v json.Marshaler) error {
	b, err := v.MarshalJSON()
	if err != nil {
		return fmt.Errorf("encoding %s: %w", uri, err)
	}
	return storage.WriteFile(ctx, uri, b)
}
