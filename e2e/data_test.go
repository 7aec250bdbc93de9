package e2e

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/batchinfer/batchinfer/internal/dataset"
)

// demoDir returns examples/demo of the module.
func demoDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "examples", "demo"))
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// demoBatch reads the demo batch (10,000 x 5 numeric rows): column names
// and rows.
func demoBatch(t *testing.T) ([]string, [][]float64) {
	t.Helper()
	f, err := os.Open(filepath.Join(demoDir(t), "batch.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("reading the demo batch: %v", err)
	}
	names := recs[0]
	rows := make([][]float64, 0, len(recs)-1)
	for i, r := range recs[1:] {
		row := make([]float64, len(r))
		for j, s := range r {
			if row[j], err = strconv.ParseFloat(s, 64); err != nil {
				t.Fatalf("demo batch line %d: %v", i+2, err)
			}
		}
		rows = append(rows, row)
	}
	return names, rows
}

// bigBatch is the demo batch grown to any number of rows: row i is demo row
// i mod 10,000 with every value moved by a deterministic multiple of 1e-3
// (so repeated rows differ) and about one value in a thousand missing.
type bigBatch struct {
	names []string
	base  [][]float64
}

func newBigBatch(t *testing.T) *bigBatch {
	names, rows := demoBatch(t)
	return &bigBatch{names: names, base: rows}
}

// value returns row i, column c; NaN means missing.
func (b *bigBatch) value(i, c int) float64 {
	h := uint64(i)*2654435761 + uint64(c)*40503
	if h%997 == 0 {
		return math.NaN()
	}
	return b.base[i%len(b.base)][c] + 1e-3*float64(int(h%13)-6)
}

// parquet returns a Parquet file (Snappy) of groups row groups of
// groupRows rows each; missing values are nulls.
func (b *bigBatch) parquet(t *testing.T, groups, groupRows int) []byte {
	t.Helper()
	fields := make([]arrow.Field, len(b.names))
	for c, n := range b.names {
		fields[c] = arrow.Field{Name: n, Type: arrow.PrimitiveTypes.Float64, Nullable: true}
	}
	schema := arrow.NewSchema(fields, nil)
	var buf bytes.Buffer
	props := parquet.NewWriterProperties(
		parquet.WithCompression(compress.Codecs.Snappy),
		parquet.WithMaxRowGroupLength(int64(groupRows)),
	)
	fw, err := pqarrow.NewFileWriter(schema, &buf, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		t.Fatal(err)
	}
	rb := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer rb.Release()
	valid := make([]bool, groupRows)
	vals := make([]float64, groupRows)
	for g := range groups {
		for c := range b.names {
			for k := range groupRows {
				v := b.value(g*groupRows+k, c)
				vals[k], valid[k] = v, !math.IsNaN(v)
			}
			rb.Field(c).(*array.Float64Builder).AppendValues(vals, valid)
		}
		rec := rb.NewRecordBatch()
		err := fw.Write(rec) // one row group per call
		rec.Release()
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// csv returns the rows [0, rows) as CSV with a header; missing values are
// empty fields.
func (b *bigBatch) csv(rows int) []byte {
	var sb strings.Builder
	sb.WriteString(strings.Join(b.names, ","))
	sb.WriteByte('\n')
	for i := range rows {
		for c := range b.names {
			if c > 0 {
				sb.WriteByte(',')
			}
			if v := b.value(i, c); !math.IsNaN(v) {
				sb.WriteString(dataset.FormatFloat(v))
			}
		}
		sb.WriteByte('\n')
	}
	return []byte(sb.String())
}

// csvShardBytes returns a ShardBytes that cuts the CSV file at path into
// exactly want shards, found by bisection over the planner's (monotone)
// shard count.
func csvShardBytes(t *testing.T, path string, size int64, want int) int64 {
	t.Helper()
	count := func(bytes int64) int {
		ss, err := dataset.PlanShards(context.Background(), []dataset.File{{URI: path, Format: dataset.CSV, Size: size}},
			dataset.ShardOptions{Bytes: bytes})
		if err != nil {
			t.Fatal(err)
		}
		return len(ss)
	}
	lo, hi := int64(1), size // count(lo) >= want >= count(hi)
	for lo < hi {
		mid := lo + (hi-lo)/2
		switch n := count(mid); {
		case n == want:
			return mid
		case n > want:
			lo = mid + 1
		default:
			hi = mid
		}
	}
	if n := count(lo); n != want {
		t.Fatalf("no shard size cuts %s into %d shards (closest: %d)", path, want, n)
	}
	return lo
}

// writeTemp writes data to a file in the test's temporary folder.
func writeTemp(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func describeSize(n int) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
}
