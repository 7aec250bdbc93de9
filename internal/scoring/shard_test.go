package scoring

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/batchinfer/batchinfer/internal/bundle"
	"github.com/batchinfer/batchinfer/internal/dataset"
	"github.com/batchinfer/batchinfer/internal/stats"
)

const demoDir = "../../examples/demo"

func demoModel(t *testing.T) (*Model, *stats.Dataset) {
	t.Helper()
	l, err := bundle.Load(t.Context(), filepath.Join(demoDir, "model"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewModel(l)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := stats.ParseDataset(l.Spec.FeatureStats)
	if err != nil {
		t.Fatal(err)
	}
	return m, ref
}

// plan resolves files and plans them with the given shard bytes.
func plan(t *testing.T, uris []string, shardBytes int64) *Manifest {
	t.Helper()
	files, err := dataset.Resolve(t.Context(), uris)
	if err != nil {
		t.Fatal(err)
	}
	r, err := dataset.OpenAll(t.Context(), files, dataset.Options{BatchRows: 1024})
	if err != nil {
		t.Fatal(err)
	}
	schema := r.Schema()
	r.Close()
	m, err := PlanManifest(t.Context(), files, schema, dataset.ShardOptions{Bytes: shardBytes, Rows: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// scoreAll scores every shard of a manifest and returns the chunk counts.
func scoreAll(t *testing.T, m *Manifest, model *Model, ref *stats.Dataset, dir string, chunkRows int64) []int {
	t.Helper()
	chunks := make([]int, len(m.Shards))
	for i := range m.Shards {
		res, err := ScoreShard(t.Context(), ShardInput{
			Manifest: m, Shard: i, Model: model, PredictProba: true,
			ResultSet: filepath.Join(dir, "prediction"), Partials: filepath.Join(dir, "_partials"),
			Reference: ref, ChunkRows: chunkRows, BatchRows: 700,
		})
		if err != nil {
			t.Fatal(err)
		}
		chunks[i] = res.Chunks
	}
	return chunks
}

// readParts concatenates the result-set parts as CSV text, in order.
func readParts(t *testing.T, dir string, chunks []int) string {
	t.Helper()
	var all strings.Builder
	for i, uri := range PartURIs(filepath.Join(dir, "prediction"), FormatParquet, chunks) {
		r, err := dataset.Open(t.Context(), dataset.File{URI: uri, Format: dataset.Parquet, Size: -1}, dataset.Options{})
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		w, err := dataset.NewCSVWriter(&buf, r.Schema())
		if err != nil {
			t.Fatal(err)
		}
		for {
			rec, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Write(rec); err != nil {
				t.Fatal(err)
			}
		}
		_ = w.Close()
		r.Close()
		s := buf.String()
		if i > 0 {
			s = s[strings.Index(s, "\n")+1:] // one header
		}
		all.WriteString(s)
	}
	return all.String()
}

// sameStats checks the shard-split contract of internal/stats: counts,
// histograms, min, max, quartiles and sketches identical; mean and std
// within 1e-12 relative (sums are combined in a split-dependent order).
func sameStats(t *testing.T, what string, a, b []byte) {
	t.Helper()
	da, err := stats.ParseDataset(a)
	if err != nil {
		t.Fatal(err)
	}
	db, err := stats.ParseDataset(b)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(da.Names, ",") != strings.Join(db.Names, ",") {
		t.Fatalf("%s: columns %v vs %v", what, da.Names, db.Names)
	}
	rel := func(x, y float64) bool {
		return x == y || math.Abs(x-y) <= 1e-12*math.Max(math.Abs(x), math.Abs(y))
	}
	for _, name := range da.Names {
		x, _ := da.Get(name)
		y, _ := db.Get(name)
		if !rel(x.Mean, y.Mean) || !rel(x.Std, y.Std) {
			t.Errorf("%s: %s mean/std %v/%v vs %v/%v (beyond 1e-12)", what, name, x.Mean, x.Std, y.Mean, y.Std)
		}
		xc, yc := *x, *y
		xc.Mean, xc.Std, yc.Mean, yc.Std = 0, 0, 0, 0
		if !reflect.DeepEqual(xc, yc) {
			t.Errorf("%s: %s statistics differ beyond mean/std:\n%+v\n%+v", what, name, xc, yc)
		}
	}
}

func statsJSON(t *testing.T, dir string, chunks []int) []byte {
	t.Helper()
	acc, err := MergePartials(t.Context(), filepath.Join(dir, "_partials"), chunks)
	if err != nil {
		t.Fatal(err)
	}
	b, err := acc.Dataset().MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The result set and the statistics of a 1-shard and a 37-shard run are
// identical (same rows in the same order, same statistics bytes).
func TestShardCountDoesNotChangeOutputs(t *testing.T) {
	model, ref := demoModel(t)
	batch := filepath.Join(demoDir, "batch.csv")
	one := plan(t, []string{batch}, 1<<40)
	info, _ := os.Stat(batch)
	many := plan(t, []string{batch}, info.Size()/37+1)
	if len(one.Shards) != 1 || len(many.Shards) < 30 {
		t.Fatalf("planned %d and %d shards", len(one.Shards), len(many.Shards))
	}
	d1, d2 := t.TempDir(), t.TempDir()
	c1 := scoreAll(t, one, model, ref, d1, 4096)
	c2 := scoreAll(t, many, model, ref, d2, 128)
	if a, b := readParts(t, d1, c1), readParts(t, d2, c2); a != b {
		t.Fatalf("result sets differ (%d vs %d bytes)", len(a), len(b))
	}
	s1, s2 := statsJSON(t, d1, c1), statsJSON(t, d2, c2)
	sameStats(t, fmt.Sprintf("1 vs %d shards", len(many.Shards)), s1, s2)
	// And they equal a plain Describe of the whole result set.
	files, _ := dataset.Resolve(t.Context(), []string{filepath.Join(d1, "prediction")})
	whole, _, err := Describe(t.Context(), files, ref, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	w, _ := whole.MarshalJSON()
	sameStats(t, "merged partials vs whole result set", w, s1)
}

// A retried shard resumes at its next chunk and the outputs equal an
// uninterrupted run's, byte for byte.
func TestShardResumeFromChunk(t *testing.T) {
	model, ref := demoModel(t)
	m := plan(t, []string{filepath.Join(demoDir, "batch.csv")}, 1<<40)
	full := t.TempDir()
	c := scoreAll(t, m, model, ref, full, 1000)
	if c[0] != 10 {
		t.Fatalf("chunks %v, want 10 of 1000 rows", c)
	}
	// First attempt dies after chunk 3 (cancelled from OnChunk).
	resumed := t.TempDir()
	ctx, cancel := context.WithCancel(t.Context())
	in := ShardInput{
		Manifest: m, Shard: 0, Model: model, PredictProba: true,
		ResultSet: filepath.Join(resumed, "prediction"), Partials: filepath.Join(resumed, "_partials"),
		Reference: ref, ChunkRows: 1000, BatchRows: 700,
	}
	next := 0
	in.OnChunk = func(chunk int, _ int64) {
		next = chunk + 1
		if chunk == 3 {
			cancel()
		}
	}
	if _, err := ScoreShard(ctx, in); err == nil {
		t.Fatal("want the first attempt to stop")
	}
	// A leftover half chunk must not be visible under its final name.
	if _, err := os.Stat(filepath.Join(resumed, "prediction", ChunkPartName(0, 4, FormatParquet))); err == nil {
		t.Fatal("chunk 4 visible although it was not finished")
	}
	in.OnChunk = nil
	in.StartChunk = next
	res, err := ScoreShard(t.Context(), in)
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows != 10000 || res.Chunks != 10 {
		t.Fatalf("resumed shard: %+v", res)
	}
	if readParts(t, full, c) != readParts(t, resumed, c) {
		t.Fatal("resumed result set differs from the uninterrupted one")
	}
	sameStats(t, "resumed vs uninterrupted", statsJSON(t, full, c), statsJSON(t, resumed, c))
}

// Rows scored and statistics do not depend on record batch size or threads.
func TestScoreShardIndependentOfBatchAndThreads(t *testing.T) {
	model, ref := demoModel(t)
	m := plan(t, []string{filepath.Join(demoDir, "batch.csv")}, 1<<40)
	var first string
	var firstStats []byte
	for i, cfg := range []struct{ batch, threads int }{{65536, 1}, {333, 2}, {4097, 3}} {
		dir := t.TempDir()
		res, err := ScoreShard(t.Context(), ShardInput{
			Manifest: m, Shard: 0, Model: model, ResultSet: filepath.Join(dir, "prediction"),
			Partials: filepath.Join(dir, "_partials"), Reference: ref, ChunkRows: 2500,
			BatchRows: cfg.batch, Threads: cfg.threads,
		})
		if err != nil {
			t.Fatal(err)
		}
		got := readParts(t, dir, []int{res.Chunks})
		st := statsJSON(t, dir, []int{res.Chunks})
		if i == 0 {
			first, firstStats = got, st
			continue
		}
		if got != first {
			t.Errorf("batch %d threads %d: result sets differ", cfg.batch, cfg.threads)
		}
		sameStats(t, fmt.Sprintf("batch %d threads %d", cfg.batch, cfg.threads), firstStats, st)
	}
}

func TestAccumulatorEncodingRoundTrip(t *testing.T) {
	model, ref := demoModel(t)
	_ = model
	m := plan(t, []string{filepath.Join(demoDir, "batch.csv")}, 1<<40)
	schema, _ := m.ArrowSchema()
	r, err := dataset.OpenAll(t.Context(), m.Files, dataset.Options{BatchRows: 999})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	acc := NewAccumulator(schema, ref, 0)
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		acc.Add(rec)
	}
	b, err := acc.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	back, err := UnmarshalAccumulator(b)
	if err != nil {
		t.Fatal(err)
	}
	j1, _ := acc.Dataset().MarshalJSON()
	j2, _ := back.Dataset().MarshalJSON()
	if !bytes.Equal(j1, j2) || back.Rows != acc.Rows {
		t.Fatal("decoded accumulator differs")
	}
	// Truncations and corruptions error, never panic.
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 200; i++ {
		c := append([]byte(nil), b[:rng.IntN(len(b))]...)
		if len(c) > 0 && i%2 == 0 {
			c[rng.IntN(len(c))] ^= byte(1 + rng.IntN(255))
		}
		_, _ = UnmarshalAccumulator(c)
	}
	if _, err := UnmarshalAccumulator([]byte("nope")); !errors.Is(err, ErrBadPartial) {
		t.Errorf("garbage: %v", err)
	}
	_ = fmt.Sprint()
}
