package bundle

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/batchinfer/batchinfer/internal/stats"
	"github.com/batchinfer/batchinfer/internal/storage"
)

// An MLRun model folder (model_spec.yaml written as MLRun's log_model
// does) gives the model file and its feature_stats as the reference, in
// column order, with YAML's .nan read as NaN.
func TestLoadMLRunModelFolder(t *testing.T) {
	for _, uri := range []string{"testdata/mlrun-model", "testdata/mlrun-model/model_spec.yaml"} {
		l, err := Load(t.Context(), uri)
		if err != nil {
			t.Fatalf("%s: %v", uri, err)
		}
		if l.Spec == nil || l.Spec.Framework != "xgboost" || len(l.Spec.Inputs) != 5 || l.Spec.Outputs[0].Name != "labels" {
			t.Fatalf("%s: spec %+v", uri, l.Spec)
		}
		want, _ := os.ReadFile("testdata/mlrun-model/model.json")
		if string(l.Data) != string(want) {
			t.Fatalf("%s: model bytes differ", uri)
		}
		ref, err := stats.ParseDataset(l.Spec.FeatureStats)
		if err != nil {
			t.Fatal(err)
		}
		if got := ref.Names; len(got) != 6 || got[0] != "feat_0" || got[5] != "labels" {
			t.Fatalf("columns %v (want the YAML order)", got)
		}
		demo, err := Load(t.Context(), "../../examples/demo/model")
		if err != nil {
			t.Fatal(err)
		}
		dref, _ := stats.ParseDataset(demo.Spec.FeatureStats)
		a, _ := ref.Get("feat_1")
		b, _ := dref.Get("feat_1")
		if a.Mean != b.Mean || a.Q75 != b.Q75 || len(a.Hist.Edges) != 21 || a.Hist.Edges[7] != b.Hist.Edges[7] || a.Hist.Counts[9] != b.Hist.Counts[9] {
			t.Errorf("feat_1 from YAML %+v, from the bundle %+v", a, b)
		}
		if c, _ := ref.Get("feat_4"); !math.IsNaN(c.Std) && c.HasStd {
			t.Errorf("feat_4 std %v, want NaN from .nan", c.Std)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Load(t.Context(), filepath.Join(dir, "missing.json")); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("missing model: %v", err)
	}
	if _, err := Load(t.Context(), dir); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("empty folder: %v", err)
	}
	bad := filepath.Join(dir, "evil")
	_ = os.MkdirAll(bad, 0o755)
	_ = os.WriteFile(filepath.Join(bad, MLRunSpecFile), []byte("kind: model\nspec:\n  model_file: ../../etc/passwd\n"), 0o644)
	if _, err := Load(t.Context(), bad); err == nil {
		t.Error("model_file escaping the folder must be refused")
	}
	_ = os.WriteFile(filepath.Join(bad, MLRunSpecFile), []byte("kind: [unclosed\n"), 0o644)
	if _, err := Load(t.Context(), bad); !errors.Is(err, ErrNotBundle) {
		t.Errorf("broken YAML: %v", err)
	}
}

func FuzzYAMLToJSON(f *testing.F) {
	b, _ := os.ReadFile("testdata/mlrun-model/model_spec.yaml")
	f.Add(b)
	f.Add([]byte("kind: model\nspec: {feature_stats: {a: {count: .nan, hist: [[1],[0, .inf]]}}}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var ms mlrunSpec
		if err := yamlUnmarshal(data, &ms); err != nil {
			return
		}
		if js, err := yamlToJSON(&ms.Spec.FeatureStats); err == nil && len(js) > 0 {
			_, _ = stats.ParseDataset(js)
		}
	})
}
