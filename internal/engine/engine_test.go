package engine

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/batchinfer/batchinfer/internal/model"
)

// Every fixture family loads through Load with the right framework, from
// content alone (file names are not consulted).
func TestLoadDetectsFramework(t *testing.T) {
	cases := []struct {
		glob      string
		framework string
	}{
		{"../model/testdata/xgboost-1.7/*/model.json", XGBoost},
		{"../model/testdata/xgboost-1.7/*/model.ubj", XGBoost},
		{"../../../shared/fixtures/xgboost-3/*/model.ubj", XGBoost},
		{"../../../shared/fixtures/lightgbm-4/*/model.txt", LightGBM},
		{"../model/sklearn/testdata/sklearn-1.2/*/*.pkl", Sklearn},
		{"../model/sklearn/testdata/sklearn-1.2/*/*.joblib*", Sklearn},
	}
	for _, c := range cases {
		files, _ := filepath.Glob(c.glob)
		if len(files) == 0 {
			t.Logf("no files for %s", c.glob)
			continue
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			p, err := Load(b)
			if err != nil {
				t.Errorf("%s: %v", f, err)
				continue
			}
			if got := p.Info().Framework; got != c.framework {
				t.Errorf("%s: framework %q, want %q", f, got, c.framework)
			}
		}
	}
}

func TestLoadRejectsOtherFiles(t *testing.T) {
	for _, b := range [][]byte{nil, []byte("a,b\n1,2\n"), []byte(`{"not": "a model"}`), {0x80, 0x04, 0x95}} {
		if _, err := Load(b); !errors.Is(err, model.ErrUnsupported) && !errors.Is(err, model.ErrMalformed) {
			t.Errorf("%q: want an unsupported/malformed error, got %v", b, err)
		}
	}
}

func FuzzLoad(f *testing.F) {
	for _, g := range []string{"../model/testdata/xgboost-1.7/binary_logistic/model.json", "../../../shared/fixtures/lightgbm-4/regression_l2/model.txt"} {
		if b, err := os.ReadFile(g); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("tree\nversion=v4\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Load(b)
		if err != nil {
			return
		}
		info := p.Info()
		if info.NumFeatures > 1<<12 || info.NumOutputs > 1<<8 {
			return
		}
		x := make([]float64, 2*info.NumFeatures)
		raw := make([]float64, 2*info.NumOutputs)
		p.PredictRaw(x, 2, raw)
	})
}
