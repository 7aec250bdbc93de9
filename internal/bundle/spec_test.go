package bundle

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
)

// TestSpecCategoricalColumnsRoundTrip: categorical_columns is written
// beside the other fields (after outputs, before feature_stats), read back
// unchanged, and omitted when empty; bundles without it (written before it
// existed, such as the demo bundle) load with a nil list.
func TestSpecCategoricalColumnsRoundTrip(t *testing.T) {
	featureStats := json.RawMessage(`{"feat_4":{"count":3.0,"unique":2,"top":"1","freq":2,"nan_count":0,"frequencies":{"exact":true,"other":0,"values":[["1",2],["0",1]]}}}`)
	for _, tc := range []struct {
		name    string
		columns []string
		wantKey bool
	}{
		{"declared", []string{"feat_4", "labels"}, true},
		{"none declared", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "bundle")
			spec := &Spec{
				Framework: "xgboost", Format: "json", ModelFile: "model.json",
				Inputs:             []Feature{{Name: "feat_4", ValueType: "float"}},
				Outputs:            []Feature{{Name: "labels", ValueType: "float"}},
				CategoricalColumns: tc.columns,
				FeatureStats:       featureStats,
			}
			if err := Write(t.Context(), dir, spec, []byte("model bytes")); err != nil {
				t.Fatal(err)
			}
			raw, err := os.ReadFile(filepath.Join(dir, SpecFile))
			if err != nil {
				t.Fatal(err)
			}
			key := bytes.Index(raw, []byte(`"categorical_columns"`))
			if (key >= 0) != tc.wantKey {
				t.Fatalf("categorical_columns present %v, want %v:\n%s", key >= 0, tc.wantKey, raw)
			}
			if tc.wantKey && !(bytes.Index(raw, []byte(`"outputs"`)) < key && key < bytes.Index(raw, []byte(`"feature_stats"`))) {
				t.Errorf("categorical_columns not between outputs and feature_stats:\n%s", raw)
			}
			l, err := Load(t.Context(), dir)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(l.Spec.CategoricalColumns, tc.columns) || string(l.Data) != "model bytes" {
				t.Errorf("loaded categorical_columns %v, want %v", l.Spec.CategoricalColumns, tc.columns)
			}
			var a, b any
			_ = json.Unmarshal(l.Spec.FeatureStats, &a)
			_ = json.Unmarshal(featureStats, &b)
			if !reflect.DeepEqual(a, b) {
				t.Errorf("feature_stats changed: %s", l.Spec.FeatureStats)
			}
		})
	}

	// A bundle written before the field existed.
	old, err := Load(t.Context(), "../../examples/demo/model")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile("../../examples/demo/model/bundle.json")
	if bytes.Contains(raw, []byte("categorical_columns")) || old.Spec.CategoricalColumns != nil || len(old.Spec.FeatureStats) == 0 {
		t.Errorf("old bundle: categorical_columns %v", old.Spec.CategoricalColumns)
	}
}
