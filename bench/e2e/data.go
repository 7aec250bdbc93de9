package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/batchinfer/batchinfer/internal/storage"
)

// features is the number of feature columns.
const features = 28

// dataVersion changes whenever the generator changes, so that cached
// models trained on older data are not reused.
const dataVersion = 1

// blockRows is the generator's unit: block b is drawn from a PCG seeded
// with (seed, stream, b), so the data does not depend on how it is cut
// into row groups.
const blockRows = 1 << 14

func featureNames() []string {
	names := make([]string, features)
	for c := range names {
		names[c] = fmt.Sprintf("feat_%02d", c)
	}
	return names
}

// generator draws rows of mixed distributions: per column c by c mod 7
// normal, uniform, small integer, exponential, correlated with column 0,
// log-normal, shifted normal; 2% NaN in every fourth column. Labels come
// from a nonlinear signal with logistic noise. The batch stream (drift
// true) shifts two columns and widens one, so drift analysis has something
// to find.
type generator struct {
	seed   uint64
	stream uint64 // 1: training set, 2: batch
	drift  bool
}

// block fills x (rows x features, row-major) and y (labels, may be nil)
// with block b's first rows rows.
func (g generator) block(b, rows int, x []float32, y []float32) {
	r := rand.New(rand.NewPCG(g.seed^0x5eed, g.stream<<40|uint64(b)))
	for i := range rows {
		row := x[i*features : (i+1)*features]
		for c := range row {
			var v float64
			switch c % 7 {
			case 0:
				v = r.NormFloat64()
			case 1:
				v = 4*r.Float64() - 2
			case 2:
				v = float64(r.IntN(10))
			case 3:
				v = r.ExpFloat64()
			case 4:
				v = 0.6*float64(row[0]) + 0.4*r.NormFloat64()
			case 5:
				v = math.Exp(0.5 * r.NormFloat64())
			case 6:
				v = 5 + 2*r.NormFloat64()
			}
			if g.drift {
				switch c {
				case 3:
					v += 0.5
				case 8:
					v += 1
				case 13:
					v *= 1.5
				}
			}
			row[c] = float32(v)
		}
		// Labels from the values before NaNs are put in.
		s := 1.2*f(row[0]) - 0.8*f(row[1])*f(row[1]) + 0.5*math.Sin(3*f(row[7])) + 0.3*f(row[2]) -
			0.4*f(row[3]) + 0.2*f(row[4])*f(row[6]-5) + 0.1*f(row[9]) - 0.5
		if y != nil {
			u := r.Float64()
			noise := math.Log(u / (1 - u))
			y[i] = 0
			if s+0.7*noise > 0 {
				y[i] = 1
			}
		}
		for c := 1; c < features; c += 4 {
			if r.IntN(50) == 0 {
				row[c] = float32(math.NaN())
			}
		}
	}
}

func f(v float32) float64 { return float64(v) }

// appendFloat32 writes v as CSV does for the Python side: the shortest
// decimal that reads back as the same float32; NaN as an empty field.
func appendFloat32(b []byte, v float32) []byte {
	if v != v {
		return b
	}
	return strconv.AppendFloat(b, float64(v), 'g', -1, 32)
}

// writeTraining writes the training set (features and "label") as CSV.
func writeTraining(path string, g generator, rows int) error {
	fh, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(fh, 1<<20)
	names := featureNames()
	var line []byte
	for _, n := range names {
		line = append(line, n...)
		line = append(line, ',')
	}
	line = append(line, "label\n"...)
	x := make([]float32, blockRows*features)
	y := make([]float32, blockRows)
	for b := 0; b*blockRows < rows; b++ {
		n := min(blockRows, rows-b*blockRows)
		g.block(b, n, x, y)
		for i := range n {
			for _, v := range x[i*features : (i+1)*features] {
				line = appendFloat32(line, v)
				line = append(line, ',')
			}
			line = strconv.AppendInt(line, int64(y[i]), 10)
			line = append(line, '\n')
			if _, err := w.Write(line); err != nil {
				_ = fh.Close()
				return err
			}
			line = line[:0]
		}
	}
	if err := w.Flush(); err != nil {
		_ = fh.Close()
		return err
	}
	return fh.Close()
}

// writeBatch writes the batch (features only) as Parquet, float32 columns
// in row groups of rowGroupRows rows (Snappy), to parquetURI through the
// storage package, and the same rows as CSV to csvPath. Memory stays at a
// row group whatever the row count.
func writeBatch(ctx context.Context, parquetURI, csvPath string, g generator, rows, rowGroupRows int) (parquetBytes, csvBytes int64, err error) {
	names := featureNames()
	fields := make([]arrow.Field, features)
	for c, n := range names {
		fields[c] = arrow.Field{Name: n, Type: arrow.PrimitiveTypes.Float32, Nullable: true}
	}
	schema := arrow.NewSchema(fields, nil)
	out, err := storage.Create(ctx, parquetURI)
	if err != nil {
		return 0, 0, err
	}
	defer out.Close()
	counted := &countingWriter{w: out}
	props := parquet.NewWriterProperties(
		parquet.WithCompression(compress.Codecs.Snappy),
		parquet.WithMaxRowGroupLength(int64(rowGroupRows)),
	)
	fw, err := pqarrow.NewFileWriter(schema, writerOnly{counted}, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		return 0, 0, fmt.Errorf("starting %s: %w", parquetURI, err)
	}
	fh, err := os.Create(csvPath)
	if err != nil {
		return 0, 0, err
	}
	defer fh.Close()
	cw := &countingWriter{w: fh}
	w := bufio.NewWriterSize(cw, 1<<20)
	for c, n := range names {
		if c > 0 {
			_ = w.WriteByte(',')
		}
		_, _ = w.WriteString(n)
	}
	_ = w.WriteByte('\n')

	rb := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer rb.Release()
	x := make([]float32, blockRows*features)
	col := make([]float32, rowGroupRows)
	valid := make([]bool, rowGroupRows)
	group := make([]float32, 0, rowGroupRows*features) // the row group, row-major
	var line []byte
	flush := func() error {
		n := len(group) / features
		if n == 0 {
			return nil
		}
		for c := range features {
			for i := range n {
				v := group[i*features+c]
				col[i], valid[i] = v, v == v
			}
			rb.Field(c).(*array.Float32Builder).AppendValues(col[:n], valid[:n])
		}
		rec := rb.NewRecordBatch()
		err := fw.Write(rec) // one row group
		rec.Release()
		group = group[:0]
		return err
	}
	for b := 0; b*blockRows < rows; b++ {
		n := min(blockRows, rows-b*blockRows)
		g.block(b, n, x, nil)
		for i := range n {
			row := x[i*features : (i+1)*features]
			for c, v := range row {
				if c > 0 {
					line = append(line, ',')
				}
				line = appendFloat32(line, v)
			}
			line = append(line, '\n')
			if _, err := w.Write(line); err != nil {
				return 0, 0, err
			}
			line = line[:0]
			group = append(group, row...)
			if len(group) == rowGroupRows*features {
				if err := flush(); err != nil {
					return 0, 0, fmt.Errorf("writing %s: %w", parquetURI, err)
				}
			}
		}
	}
	if err := flush(); err != nil {
		return 0, 0, fmt.Errorf("writing %s: %w", parquetURI, err)
	}
	if err := fw.Close(); err != nil {
		return 0, 0, fmt.Errorf("closing %s: %w", parquetURI, err)
	}
	if err := out.Commit(); err != nil {
		return 0, 0, err
	}
	if err := w.Flush(); err != nil {
		return 0, 0, err
	}
	return counted.n, cw.n, fh.Close()
}

// writerOnly hides the Close method of the wrapped writer from pqarrow.
type writerOnly struct{ io.Writer }

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
