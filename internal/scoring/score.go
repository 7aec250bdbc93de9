package scoring

import (
	"fmt"
	"io"
	"runtime"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/batchinfer/batchinfer/internal/dataset"
)

// Result set formats.
const (
	FormatParquet = "parquet"
	FormatCSV     = "csv"
)

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

func (p *Plan) resultSchema(in *arrow.Schema, m *Model) *arrow.Schema {
	fields := make([]arrow.Field, 0, len(p.Keep)+len(p.Labels)+len(p.Proba))
	for _, i := range p.Keep {
		fields = append(fields, in.Field(i))
	}
	for _, l := range p.Labels {
		if m.Info.NumClasses > 0 {
			fields = append(fields, arrow.Field{Name: l, Type: m.labelType(), Nullable: true})
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
	x       []float64
	raw     []float64
	pred    []float64
	classes []int32
	proba0  []float64
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
	info := s.m.Info
	nf, nout, npred := info.NumFeatures, info.NumOutputs, info.PredColumns
	s.x = grow(s.x, rows*nf)
	for j, ci := range s.plan.Features {
		var ok bool
		s.col, ok = dataset.Float64s(rec.Column(ci), s.col)
		if !ok {
			return nil, fmt.Errorf("%w: %q", ErrNotNumeric, rec.Schema().Field(ci).Name)
		}
		for r, v := range s.col {
			s.x[r*nf+j] = v
		}
	}
	s.raw = grow(s.raw, rows*nout)
	s.pred = grow(s.pred, rows*max(nout, npred))
	s.parallel(rows, func(lo, hi int) {
		s.m.PredictRaw(s.x[lo*nf:hi*nf], hi-lo, s.raw[lo*nout:hi*nout])
		s.m.TransformRaw(s.raw[lo*nout:hi*nout], hi-lo, s.pred[lo*npred:hi*npred])
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
	if info.NumClasses == 0 {
		for k := range s.plan.Labels {
			cols = append(cols, floatColumn(mem, s.pred, rows, npred, k))
		}
		return array.NewRecordBatch(schema, cols, int64(rows)), nil
	}
	s.classes = grow(s.classes, rows)
	s.m.ClassesOf(s.pred, rows, s.classes)
	cols = append(cols, s.labelColumn(mem, rows))
	if len(s.plan.Proba) == 2 && npred == 1 {
		// Binary models give P(class 1); class 0 is 1-p, computed as the
		// library's predict_proba does: in float32 for XGBoost (its
		// outputs are float32), in float64 otherwise.
		s.proba0 = grow(s.proba0, rows)
		for r := range rows {
			if info.Framework == "xgboost" {
				s.proba0[r] = float64(1 - float32(s.pred[r]))
			} else {
				s.proba0[r] = 1 - s.pred[r]
			}
		}
		cols = append(cols, floatColumn(mem, s.proba0, rows, 1, 0), floatColumn(mem, s.pred, rows, 1, 0))
	} else {
		for k := range s.plan.Proba {
			cols = append(cols, floatColumn(mem, s.pred, rows, npred, k))
		}
	}
	return array.NewRecordBatch(schema, cols, int64(rows)), nil
}

// labelColumn writes each row's predicted class value.
func (s *scorer) labelColumn(mem memory.Allocator, rows int) arrow.Array {
	l := s.m.labels
	switch {
	case l != nil && l.strings != nil:
		b := array.NewStringBuilder(mem)
		defer b.Release()
		for _, c := range s.classes[:rows] {
			b.Append(l.strings[c])
		}
		return b.NewArray()
	case l != nil && l.floats != nil:
		b := array.NewFloat64Builder(mem)
		defer b.Release()
		for _, c := range s.classes[:rows] {
			b.Append(l.floats[c])
		}
		return b.NewArray()
	}
	b := array.NewInt64Builder(mem)
	defer b.Release()
	b.Resize(rows) // exactly rows: Reserve would round up to the next power of two
	for _, c := range s.classes[:rows] {
		if l != nil {
			b.UnsafeAppend(l.ints[c])
		} else {
			b.UnsafeAppend(int64(c))
		}
	}
	return b.NewArray()
}

// floatColumn takes column k of a rows x stride matrix.
func floatColumn(mem memory.Allocator, m []float64, rows, stride, k int) arrow.Array {
	b := array.NewFloat64Builder(mem)
	defer b.Release()
	b.Resize(rows)
	for r := range rows {
		b.UnsafeAppend(m[r*stride+k])
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
