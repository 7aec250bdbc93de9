package scoring

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/batchinfer/batchinfer/internal/dataset"
	"github.com/batchinfer/batchinfer/internal/storage"
)

// Result set formats.
const (
	FormatParquet = "parquet"
	FormatCSV     = "csv"
)

// ScoreInput is one scoring pass over a dataset.
type ScoreInput struct {
	Files        []dataset.File
	Model        *Model
	DropColumns  []string
	LabelColumns []string
	PredictProba bool
	ResultSet    string // result set folder URI; the part goes to {ResultSet}/part-00000.{format}
	Format       string // FormatParquet (default) or FormatCSV
	BatchRows    int    // rows per record; default dataset.DefaultBatchRows
	// Threads evaluating the model; default GOMAXPROCS. Outputs do not
	// depend on it: every row is scored by the same sequence of operations.
	Threads int
	// Progress, when set, is called after each record with the rows scored so far.
	Progress func(rows int64)
}

// ScoreResult summarises a scoring pass.
type ScoreResult struct {
	Rows    int64
	Parts   []string // part file URIs
	Columns []string // result set columns
	Plan    *Plan
}

// PartName is the file name of result-set part i.
func PartName(i int, format string) string {
	if format == "" {
		format = FormatParquet
	}
	return fmt.Sprintf("part-%05d.%s", i, format)
}

// Score reads the dataset, scores every row and writes the result set:
// the kept input columns, then the prediction columns (class index for
// classifiers as int64, the model's output for regressors as float64), then
// probability columns with PredictProba. The part file appears only once
// complete; a rerun overwrites it.
func Score(ctx context.Context, in ScoreInput) (*ScoreResult, error) {
	if in.Format == "" {
		in.Format = FormatParquet
	}
	r, err := dataset.OpenAll(ctx, in.Files, dataset.Options{BatchRows: in.BatchRows, NumericColumns: in.Model.FeatureNames()})
	if err != nil {
		return nil, err
	}
	defer r.Close()
	plan, err := NewPlan(r.Schema(), in.Model, in.DropColumns, in.LabelColumns, in.PredictProba)
	if err != nil {
		return nil, err
	}
	outSchema := plan.resultSchema(r.Schema(), in.Model.Info.NumClasses > 0)
	partURI := storage.Join(in.ResultSet, PartName(0, in.Format))
	w, err := storage.Create(ctx, partURI)
	if err != nil {
		return nil, err
	}
	defer w.Close()
	rw, err := newRecordWriter(w, outSchema, in.Format)
	if err != nil {
		return nil, err
	}
	sc := newScorer(in.Model, plan, in.Threads)
	var rows int64
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
		out, err := sc.score(rec, outSchema)
		if err != nil {
			return nil, err
		}
		err = rw.Write(out)
		out.Release()
		if err != nil {
			return nil, fmt.Errorf("writing %s: %w", partURI, err)
		}
		rows += rec.NumRows()
		if in.Progress != nil {
			in.Progress(rows)
		}
	}
	if rows == 0 {
		return nil, fmt.Errorf("%w: %s", ErrEmptyDataset, describeFiles(in.Files))
	}
	if err := rw.Close(); err != nil {
		return nil, fmt.Errorf("writing %s: %w", partURI, err)
	}
	if err := w.Commit(); err != nil {
		return nil, err
	}
	cols := make([]string, outSchema.NumFields())
	for i, f := range outSchema.Fields() {
		cols[i] = f.Name
	}
	return &ScoreResult{Rows: rows, Parts: []string{partURI}, Columns: cols, Plan: plan}, nil
}

func describeFiles(files []dataset.File) string {
	if len(files) == 1 {
		return files[0].URI
	}
	return fmt.Sprintf("%d files (%s, ...)", len(files), files[0].URI)
}

type recordWriter interface {
	Write(arrow.RecordBatch) error
	Close() error
}

func newRecordWriter(w io.Writer, schema *arrow.Schema, format string) (recordWriter, error) {
	switch format {
	case FormatParquet:
		return dataset.NewParquetWriter(w, schema)
	case FormatCSV:
		return dataset.NewCSVWriter(w, schema)
	default:
		return nil, fmt.Errorf("%w: result format %q (want parquet or csv)", ErrBadParameter, format)
	}
}

func (p *Plan) resultSchema(in *arrow.Schema, classifier bool) *arrow.Schema {
	fields := make([]arrow.Field, 0, len(p.Keep)+len(p.Labels)+len(p.Proba))
	for _, i := range p.Keep {
		fields = append(fields, in.Field(i))
	}
	for _, l := range p.Labels {
		if classifier {
			fields = append(fields, arrow.Field{Name: l, Type: arrow.PrimitiveTypes.Int64, Nullable: true})
		} else {
			fields = append(fields, arrow.Field{Name: l, Type: arrow.PrimitiveTypes.Float64, Nullable: true})
		}
	}
	for _, n := range p.Proba {
		fields = append(fields, arrow.Field{Name: n, Type: arrow.PrimitiveTypes.Float64, Nullable: true})
	}
	return arrow.NewSchema(fields, nil)
}

// scorer holds the buffers reused across records.
type scorer struct {
	m       *Model
	plan    *Plan
	threads int
	col     []float64
	x       []float32
	margin  []float32
	pred    []float32
	classes []int32
	proba0  []float32
}

func newScorer(m *Model, plan *Plan, threads int) *scorer {
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	return &scorer{m: m, plan: plan, threads: threads}
}

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// score predicts one record and returns the result-set record (the caller releases it).
func (s *scorer) score(rec arrow.RecordBatch, schema *arrow.Schema) (arrow.RecordBatch, error) {
	rows := int(rec.NumRows())
	nf := s.m.Info.NumFeatures
	nout := s.m.Info.NumOutputs
	s.x = grow(s.x, rows*nf)
	for j, ci := range s.plan.Features {
		var ok bool
		s.col, ok = dataset.Float64s(rec.Column(ci), s.col)
		if !ok {
			return nil, fmt.Errorf("%w: %q", ErrNotNumeric, rec.Schema().Field(ci).Name)
		}
		for r, v := range s.col {
			s.x[r*nf+j] = float32(v)
		}
	}
	s.margin = grow(s.margin, rows*nout)
	npred := s.m.Info.PredColumns
	s.pred = grow(s.pred, rows*max(nout, npred))
	s.parallel(rows, func(lo, hi int) {
		s.m.PredictMargin(s.x[lo*nf:hi*nf], hi-lo, s.margin[lo*nout:hi*nout])
		s.m.Transform(s.margin[lo*nout:hi*nout], hi-lo, s.pred[lo*npred:hi*npred])
	})

	cols := make([]arrow.Array, 0, schema.NumFields())
	defer func() {
		for _, c := range cols {
			c.Release()
		}
	}()
	for _, i := range s.plan.Keep {
		c := rec.Column(i)
		c.Retain()
		cols = append(cols, c)
	}
	mem := memory.DefaultAllocator
	if s.m.Info.NumClasses > 0 {
		s.classes = grow(s.classes, rows)
		s.m.Classes(s.pred, rows, s.classes)
		b := array.NewInt64Builder(mem)
		b.Reserve(rows)
		for _, c := range s.classes {
			b.UnsafeAppend(int64(c))
		}
		cols = append(cols, b.NewArray())
		b.Release()
		if len(s.plan.Proba) == 2 && nout == 1 {
			// Binary: the model gives P(class 1); class 0 is 1-p in
			// float32, as XGBClassifier.predict_proba computes it.
			s.proba0 = grow(s.proba0, rows)
			for r := range rows {
				s.proba0[r] = 1 - s.pred[r]
			}
			cols = append(cols, floatColumn(mem, s.proba0, rows, 1, 0), floatColumn(mem, s.pred, rows, 1, 0))
		} else {
			for k := range s.plan.Proba {
				cols = append(cols, floatColumn(mem, s.pred, rows, npred, k))
			}
		}
	} else {
		for k := range s.plan.Labels {
			cols = append(cols, floatColumn(mem, s.pred, rows, npred, k))
		}
	}
	return array.NewRecordBatch(schema, cols, int64(rows)), nil
}

// floatColumn takes column k of a rows x stride float32 matrix as float64
// (exact: every float32 is a float64).
func floatColumn(mem memory.Allocator, m []float32, rows, stride, k int) arrow.Array {
	b := array.NewFloat64Builder(mem)
	defer b.Release()
	b.Reserve(rows)
	for r := range rows {
		b.UnsafeAppend(float64(m[r*stride+k]))
	}
	return b.NewArray()
}

// parallel splits [0, rows) into contiguous chunks over s.threads goroutines.
func (s *scorer) parallel(rows int, fn func(lo, hi int)) {
	const minChunk = 1024
	n := s.threads
	if n > rows/minChunk {
		n = max(1, rows/minChunk)
	}
	if n == 1 {
		fn(0, rows)
		return
	}
	var wg sync.WaitGroup
	chunk := (rows + n - 1) / n
	for lo := 0; lo < rows; lo += chunk {
		hi := min(lo+chunk, rows)
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(lo, hi)
		}()
	}
	wg.Wait()
}
