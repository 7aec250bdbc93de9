package scoring

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/batchinfer/batchinfer/internal/dataset"
	"github.com/batchinfer/batchinfer/internal/stats"
	"github.com/batchinfer/batchinfer/internal/storage"
)

// DefaultShardBatchRows is the default number of rows a shard reads and
// scores at a time: large enough for the evaluator's blocks, small enough
// that its copies (each record exists as input, float64 matrix and output
// at once) stay a small part of a shard's memory.
const DefaultShardBatchRows = 1 << 14

// DefaultChunkRows is the default number of rows per result-set chunk:
// the unit a retried shard resumes from.
const DefaultChunkRows = 1 << 18

// ChunkPartName names chunk c of shard s in a result set.
func ChunkPartName(shard, chunk int, format string) string {
	if format == "" {
		format = FormatParquet
	}
	return fmt.Sprintf("part-%05d-%04d.%s", shard, chunk, format)
}

// ChunkPartialName names the partial statistics of chunk c of shard s.
func ChunkPartialName(shard, chunk int) string {
	return fmt.Sprintf("part-%05d-%04d.stats", shard, chunk)
}

// ShardInput scores one shard of a manifest.
type ShardInput struct {
	Manifest     *Manifest
	Shard        int
	Model        *Model
	DropColumns  []string
	LabelColumns []string
	PredictProba bool
	ResultSet    string // folder URI of the result set
	Format       string // FormatParquet (default) or FormatCSV
	// Reference gives the histogram edges of the partial statistics (nil:
	// each column's own edges) and the columns described as categorical
	// (those it describes so).
	Reference *stats.Dataset
	// CategoricalColumns names result-set columns declared categorical
	// (ResolveCategorical): frequency tables instead of histograms. Every
	// shard of a run must get the same list and Reference, so that the
	// partials agree on each column's kind.
	CategoricalColumns []string
	Partials           string // folder URI of the partial statistics
	ChunkRows          int64  // default DefaultChunkRows
	// StartChunk resumes a retried shard: chunks before it are complete
	// (their parts and partials written), so their rows are skipped.
	StartChunk int
	BatchRows  int // rows per record; default DefaultShardBatchRows
	Threads    int // model threads; default GOMAXPROCS
	// OnChunk is called after chunk c is complete (part and partial
	// committed) with the shard's rows so far; OnRows after each scored
	// slice with its row count.
	OnChunk func(chunk int, rows int64)
	OnRows  func(rows int64)
}

// ShardResult summarises a shard.
type ShardResult struct {
	Rows   int64
	Chunks int
}

// ScoreShard scores one shard: its rows are cut into chunks of ChunkRows;
// each chunk is written as a result-set part and a partial statistics file
// under deterministic names, so a redone chunk overwrites the same keys and
// a shard's outputs are the same whatever was retried. Statistics are
// computed in the same pass as the predictions, over the result-set columns.
func ScoreShard(ctx context.Context, in ShardInput) (*ShardResult, error) {
	if in.Format == "" {
		in.Format = FormatParquet
	}
	if in.ChunkRows <= 0 {
		in.ChunkRows = DefaultChunkRows
	}
	if in.BatchRows <= 0 {
		in.BatchRows = DefaultShardBatchRows
	}
	if in.Shard < 0 || in.Shard >= len(in.Manifest.Shards) {
		return nil, fmt.Errorf("%w: shard %d of a %d-shard plan", ErrBadParameter, in.Shard, len(in.Manifest.Shards))
	}
	schema, err := in.Manifest.ArrowSchema()
	if err != nil {
		return nil, err
	}
	plan, err := NewPlan(schema, in.Model, in.DropColumns, in.LabelColumns, in.PredictProba)
	if err != nil {
		return nil, err
	}
	outSchema := plan.resultSchema(schema, in.Model)
	r, err := dataset.OpenShard(ctx, in.Manifest.Shards[in.Shard], schema,
		dataset.Options{BatchRows: in.BatchRows, NumericColumns: in.Model.FeatureNames()})
	if err != nil {
		return nil, err
	}
	defer r.Close()

	sc := newScorer(in.Model, plan, in.Threads)
	w := &chunkWriter{in: &in, schema: outSchema, chunk: in.StartChunk}
	defer w.abort()
	skip := int64(in.StartChunk) * in.ChunkRows
	rows := skip
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		n := rec.NumRows()
		var off int64
		if skip > 0 { // resuming: these rows belong to completed chunks
			if skip >= n {
				skip -= n
				continue
			}
			off, skip = skip, 0
		}
		for off < n {
			take := min(n-off, in.ChunkRows-w.rows)
			part := rec
			if off != 0 || take != n {
				part = rec.NewSlice(off, off+take)
			}
			out, err := sc.score(part, outSchema)
			if part != rec {
				part.Release()
			}
			if err != nil {
				return nil, err
			}
			err = w.write(ctx, out)
			out.Release()
			if err != nil {
				return nil, err
			}
			off += take
			rows += take
			if in.OnRows != nil {
				in.OnRows(take)
			}
			if w.rows == in.ChunkRows {
				if err := w.finish(ctx); err != nil {
					return nil, err
				}
				if in.OnChunk != nil {
					in.OnChunk(w.chunk-1, rows)
				}
			}
		}
	}
	if skip > 0 {
		return nil, fmt.Errorf("resuming shard %d at chunk %d: the shard has fewer rows than before (%d)", in.Shard, in.StartChunk, rows-skip)
	}
	if w.rows > 0 {
		if err := w.finish(ctx); err != nil {
			return nil, err
		}
		if in.OnChunk != nil {
			in.OnChunk(w.chunk-1, rows)
		}
	}
	return &ShardResult{Rows: rows, Chunks: w.chunk}, nil
}

// chunkWriter writes the current chunk's part and accumulates its partial
// statistics.
type chunkWriter struct {
	in     *ShardInput
	schema *arrow.Schema
	chunk  int
	rows   int64
	file   *storage.Writer
	rw     recordWriter
	acc    *Accumulator
}

func (w *chunkWriter) write(ctx context.Context, rec arrow.RecordBatch) error {
	if w.file == nil {
		uri := storage.Join(w.in.ResultSet, ChunkPartName(w.in.Shard, w.chunk, w.in.Format))
		f, err := storage.Create(ctx, uri)
		if err != nil {
			return err
		}
		rw, err := newRecordWriter(f, w.schema, w.in.Format)
		if err != nil {
			_ = f.Close()
			return err
		}
		w.file, w.rw = f, rw
		w.acc = NewAccumulatorWith(w.schema, AccumulatorOptions{
			Reference: w.in.Reference, Bounded: true, Categorical: w.in.CategoricalColumns,
		})
	}
	if err := w.rw.Write(rec); err != nil {
		return fmt.Errorf("writing shard %d chunk %d: %w", w.in.Shard, w.chunk, err)
	}
	w.acc.Add(rec)
	w.rows += rec.NumRows()
	return nil
}

// finish commits the chunk's part, then its partial statistics.
func (w *chunkWriter) finish(ctx context.Context) error {
	if err := w.rw.Close(); err != nil {
		return fmt.Errorf("writing shard %d chunk %d: %w", w.in.Shard, w.chunk, err)
	}
	if err := w.file.Commit(); err != nil {
		return err
	}
	w.file, w.rw = nil, nil
	b, err := w.acc.MarshalBinary()
	if err != nil {
		return err
	}
	if err := storage.WriteFile(ctx, storage.Join(w.in.Partials, ChunkPartialName(w.in.Shard, w.chunk)), b); err != nil {
		return err
	}
	w.chunk++
	w.rows = 0
	w.acc = nil
	return nil
}

func (w *chunkWriter) abort() {
	if w.file != nil {
		_ = w.file.Close()
	}
}

// MergePartials reads the partial statistics of every chunk (chunks[i] of
// shard i) and merges them.
func MergePartials(ctx context.Context, partials string, chunks []int) (*Accumulator, error) {
	var acc *Accumulator
	for s, n := range chunks {
		for c := range n {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			uri := storage.Join(partials, ChunkPartialName(s, c))
			b, err := storage.ReadAll(ctx, uri, 4<<30)
			if err != nil {
				return nil, err
			}
			p, err := UnmarshalAccumulator(b)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", uri, err)
			}
			if acc == nil {
				acc = p
				continue
			}
			if err := acc.Merge(p); err != nil {
				return nil, fmt.Errorf("%s: %w", uri, err)
			}
		}
	}
	if acc == nil {
		return nil, fmt.Errorf("%w: no partial statistics", ErrEmptyDataset)
	}
	return acc, nil
}

// PartURIs lists the result-set parts of a run, in shard then chunk order.
func PartURIs(resultSet, format string, chunks []int) []string {
	var out []string
	for s, n := range chunks {
		for c := range n {
			out = append(out, storage.Join(resultSet, ChunkPartName(s, c, format)))
		}
	}
	return out
}
