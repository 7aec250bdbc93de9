package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"path"
	"reflect"
	"slices"
	"sort"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/batchinfer/batchinfer/activities"
	"github.com/batchinfer/batchinfer/internal/dataset"
	"github.com/batchinfer/batchinfer/internal/storage"
	"github.com/batchinfer/batchinfer/workflows"
)

// JSON artifacts compared between runs (keys of RunManifest.Artifacts).
var jsonArtifacts = []string{"dataset_statistics", "drift_results", "features_drift_results", "drift_extended_results"}

// runOutputs is what a finished run wrote.
type runOutputs struct {
	name     string
	manifest activities.RunManifest
	parts    []string          // result-set part URIs, from run.json
	files    map[string][]byte // JSON artifacts by name
}

// readOutputs reads run.json and the JSON artifacts of a run.
func readOutputs(t *testing.T, name string, res *workflows.BatchPredictResult) *runOutputs {
	t.Helper()
	ctx := t.Context()
	b, err := storage.ReadAll(ctx, res.RunManifest, 64<<20)
	if err != nil {
		t.Fatalf("%s: reading run.json: %v", name, err)
	}
	out := &runOutputs{name: name, files: map[string][]byte{}}
	if err := json.Unmarshal(b, &out.manifest); err != nil {
		t.Fatalf("%s: run.json: %v", name, err)
	}
	out.parts = out.manifest.ResultParts
	for _, k := range jsonArtifacts {
		uri, ok := out.manifest.Artifacts[k]
		if !ok {
			t.Fatalf("%s: run.json lists no %s artifact (has %v)", name, k, out.manifest.Artifacts)
		}
		if out.files[k], err = storage.ReadAll(ctx, uri, 256<<20); err != nil {
			t.Fatalf("%s: reading %s: %v", name, k, err)
		}
	}
	if out.manifest.Rows != res.Rows {
		t.Errorf("%s: run.json has %d rows, the workflow result %d", name, out.manifest.Rows, res.Rows)
	}
	return out
}

func partNames(uris []string) []string {
	out := make([]string, len(uris))
	for i, u := range uris {
		out[i] = path.Base(u)
	}
	return out
}

// sameOutputs checks that got wrote exactly what ref wrote: the same part
// names with the same rows (byte-identical files, or else identical decoded
// rows), byte-identical statistics and drift JSON, and the same summary in
// run.json. Both runs used the same shard plan.
func sameOutputs(t *testing.T, ref, got *runOutputs) {
	t.Helper()
	if a, b := partNames(ref.parts), partNames(got.parts); !slices.Equal(a, b) {
		t.Fatalf("%s lists parts %v, %s lists %v", got.name, b, ref.name, a)
	}
	m, r := got.manifest, ref.manifest
	if m.Rows != r.Rows || m.Shards != r.Shards || m.DriftStatus != r.DriftStatus || m.DriftMetric != r.DriftMetric ||
		!reflect.DeepEqual(m.FeatureStatus, r.FeatureStatus) {
		t.Errorf("run.json of %s: rows %d, shards %d, drift %v %v, status %v; %s: rows %d, shards %d, drift %v %v, status %v",
			got.name, m.Rows, m.Shards, m.DriftStatus, m.DriftMetric, m.FeatureStatus,
			ref.name, r.Rows, r.Shards, r.DriftStatus, r.DriftMetric, r.FeatureStatus)
	}
	identical := 0
	for i := range ref.parts {
		switch same, err := samePart(t.Context(), ref.parts[i], got.parts[i]); {
		case err != nil:
			t.Errorf("part %s: %v", path.Base(ref.parts[i]), err)
		case same:
			identical++
		}
	}
	t.Logf("%s vs %s: %d parts, %d byte-identical, %d with identical decoded rows", got.name, ref.name, len(ref.parts), identical, len(ref.parts)-identical)
	for _, k := range jsonArtifacts {
		if string(got.files[k]) != string(ref.files[k]) {
			t.Errorf("%s of %s differs from %s's:\n%s", k, got.name, ref.name, firstDiff(ref.files[k], got.files[k]))
		}
	}
}

// samePart compares two result-set parts: true when byte-identical, false
// (and no error) when the bytes differ but the decoded rows are identical.
func samePart(ctx context.Context, a, b string) (bool, error) {
	ab, err := storage.ReadAll(ctx, a, 1<<30)
	if err != nil {
		return false, err
	}
	bb, err := storage.ReadAll(ctx, b, 1<<30)
	if err != nil {
		return false, err
	}
	if string(ab) == string(bb) {
		return true, nil
	}
	ra, err := decodeRows(ctx, a)
	if err != nil {
		return false, err
	}
	rb, err := decodeRows(ctx, b)
	if err != nil {
		return false, err
	}
	if !reflect.DeepEqual(ra, rb) {
		return false, fmt.Errorf("bytes and decoded rows differ (%d vs %d values)", len(ra), len(rb))
	}
	return false, nil
}

// decodeRows reads a Parquet part into comparable values: column names,
// then per row each value (float64 bits, or nil for null).
func decodeRows(ctx context.Context, uri string) ([]any, error) {
	r, err := dataset.Open(ctx, dataset.File{URI: uri, Format: dataset.Parquet, Size: -1}, dataset.Options{})
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var out []any
	for _, f := range r.Schema().Fields() {
		out = append(out, f.Name+":"+f.Type.String())
	}
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		for i := range int(rec.NumRows()) {
			for _, col := range rec.Columns() {
				switch {
				case col.IsNull(i):
					out = append(out, nil)
				case col.DataType().ID() == arrow.FLOAT64:
					out = append(out, math.Float64bits(col.(*array.Float64).Value(i)))
				default:
					out = append(out, col.ValueStr(i))
				}
			}
		}
	}
}

// firstDiff shows where two texts start to differ.
func firstDiff(a, b []byte) string {
	n := min(len(a), len(b))
	i := 0
	for i < n && a[i] == b[i] {
		i++
	}
	lo := max(0, i-80)
	return fmt.Sprintf("at byte %d (lengths %d, %d):\n  want ...%s...\n  got  ...%s...",
		i, len(a), len(b), a[lo:min(len(a), i+80)], b[lo:min(len(b), i+80)])
}

// sameStatisticsRule checks two dataset_statistics.json of the same data
// sharded differently, with the drift issue's rule: every field identical
// (counts, histograms, min, max, quartiles, ...) except mean and std,
// which may differ by 1e-12 relative (partial sums merged in another
// order).
func sameStatisticsRule(t *testing.T, what string, a, b []byte) {
	t.Helper()
	var sa, sb map[string]map[string]any
	if err := json.Unmarshal(a, &sa); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if err := json.Unmarshal(b, &sb); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if !reflect.DeepEqual(sortedKeys(sa), sortedKeys(sb)) {
		t.Fatalf("%s: columns %v vs %v", what, sortedKeys(sa), sortedKeys(sb))
	}
	var worst float64
	for col, ca := range sa {
		cb := sb[col]
		if !reflect.DeepEqual(sortedKeys(ca), sortedKeys(cb)) {
			t.Errorf("%s: column %s has fields %v vs %v", what, col, sortedKeys(ca), sortedKeys(cb))
			continue
		}
		for k, va := range ca {
			vb := cb[k]
			if k == "mean" || k == "std" {
				fa, oka := va.(float64)
				fb, okb := vb.(float64)
				if !oka || !okb {
					if !reflect.DeepEqual(va, vb) {
						t.Errorf("%s: %s.%s: %v vs %v", what, col, k, va, vb)
					}
					continue
				}
				rel := math.Abs(fa-fb) / max(math.Abs(fa), math.Abs(fb), math.SmallestNonzeroFloat64)
				worst = max(worst, rel)
				if rel > 1e-12 {
					t.Errorf("%s: %s.%s: %v vs %v (relative difference %.3g > 1e-12)", what, col, k, fa, fb, rel)
				}
				continue
			}
			if !reflect.DeepEqual(va, vb) {
				t.Errorf("%s: %s.%s differs: %.200v vs %.200v", what, col, k, fmt.Sprint(va), fmt.Sprint(vb))
			}
		}
	}
	t.Logf("%s: %d columns; every field identical but mean/std, whose largest relative difference is %.3g", what, len(sa), worst)
}

// sameJSON checks that two JSON documents hold the same values.
func sameJSON(t *testing.T, what string, a, b []byte) {
	t.Helper()
	var va, vb any
	if err := json.Unmarshal(a, &va); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if err := json.Unmarshal(b, &vb); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if !reflect.DeepEqual(va, vb) {
		t.Errorf("%s differs:\n%s", what, firstDiff(a, b))
	}
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
