package bundle

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/batchinfer/batchinfer/internal/storage"
)

// SpecFile is the spec's file name inside a bundle folder.
const SpecFile = "bundle.json"

// Kind identifies a bundle spec.
const Kind = "batchinfer/model-bundle"

// MaxModelBytes bounds a model file read into memory (1 GiB).
const MaxModelBytes = 1 << 30

// ErrNotBundle is returned by ParseSpec for JSON that is not a bundle spec.
var ErrNotBundle = errors.New("not a model bundle spec")

// Feature is one named input or output with its value type.
type Feature struct {
	Name      string `json:"name"`
	ValueType string `json:"value_type"` // "float", "int", "str", "bool", "category"
}

// Spec is bundle.json. Fields may be added but never renamed or removed.
type Spec struct {
	Kind      string    `json:"kind"`
	Version   int       `json:"version"`
	Framework string    `json:"framework"` // "xgboost"
	Format    string    `json:"format"`    // "json" or "ubj"
	Objective string    `json:"objective"`
	ModelFile string    `json:"model_file"` // relative to the spec
	Inputs    []Feature `json:"inputs"`
	Outputs   []Feature `json:"outputs"`
	// CategoricalColumns names the training columns declared categorical at
	// registration (`starter model register --categorical-columns`), in
	// training-column order: their feature_stats are frequency tables
	// (count, unique, top, freq, frequencies) rather than histograms, even
	// for integer columns, and batches describe them the same way. Absent
	// (nil) in bundles written before the field existed and when nothing was
	// declared; such bundles work as before.
	CategoricalColumns []string `json:"categorical_columns,omitempty"`
	// FeatureStats holds the reference statistics of every training column,
	// label included, in MLRun's feature_stats shape (see internal/stats).
	FeatureStats json.RawMessage `json:"feature_stats,omitempty"`
	Training     *Training       `json:"training,omitempty"`
	CreatedAt    string          `json:"created_at,omitempty"`
}

// Training records where the reference statistics came from.
type Training struct {
	Dataset []string `json:"dataset"`
	Rows    int64    `json:"rows"`
}

// Loaded is a resolved model: its bytes and, for a bundle, its spec.
type Loaded struct {
	URI     string // the model file's URI
	Data    []byte
	Spec    *Spec  // nil for a bare model file
	SpecURI string // "" for a bare model file
}

// ParseSpec decodes bundle.json, rejecting other JSON with ErrNotBundle.
func ParseSpec(b []byte) (*Spec, error) {
	var s Spec
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotBundle, err)
	}
	if s.Kind != Kind {
		return nil, ErrNotBundle
	}
	if s.ModelFile == "" || strings.Contains(s.ModelFile, "..") || path.IsAbs(s.ModelFile) {
		return nil, fmt.Errorf("bundle spec: model_file %q must be a file name beside bundle.json", s.ModelFile)
	}
	return &s, nil
}

// Load resolves a model URI: a bundle folder, a bundle.json, an MLRun
// model folder (or its model_spec.yaml), or a bare model file (local path,
// file://, s3:// or http(s)://).
func Load(ctx context.Context, uri string) (*Loaded, error) {
	if storage.Scheme(uri) == "file" {
		p, err := storage.LocalPath(uri)
		if err != nil {
			return nil, err
		}
		st, err := os.Stat(p)
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("model %s: %w", uri, storage.ErrNotFound)
		}
		if err != nil {
			return nil, fmt.Errorf("model %s: %w", uri, err)
		}
		if st.IsDir() {
			specPath := filepath.Join(p, SpecFile)
			if _, err := os.Stat(specPath); err != nil {
				if ml := mlrunSpecIn(p); ml != "" {
					return loadMLRun(ctx, ml)
				}
				return nil, fmt.Errorf("model %s: a folder must be a model bundle holding %s or an MLRun model holding %s: %w", uri, SpecFile, MLRunSpecFile, storage.ErrNotFound)
			}
			return loadSpec(ctx, specPath, nil)
		}
		if filepath.Base(p) == MLRunSpecFile {
			return loadMLRun(ctx, p)
		}
	}
	data, err := storage.ReadAll(ctx, uri, MaxModelBytes)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", uri, err)
	}
	if looksLikeSpec(data) {
		return loadSpec(ctx, uri, data)
	}
	return &Loaded{URI: uri, Data: data}, nil
}

func looksLikeSpec(data []byte) bool {
	head := data
	if len(head) > 4096 {
		head = head[:4096]
	}
	return bytes.HasPrefix(bytes.TrimSpace(head), []byte("{")) && bytes.Contains(head, []byte(`"`+Kind+`"`))
}

func loadSpec(ctx context.Context, specURI string, data []byte) (*Loaded, error) {
	var err error
	if data == nil {
		if data, err = storage.ReadAll(ctx, specURI, 256<<20); err != nil {
			return nil, fmt.Errorf("model bundle %s: %w", specURI, err)
		}
	}
	spec, err := ParseSpec(data)
	if err != nil {
		return nil, fmt.Errorf("model bundle %s: %w", specURI, err)
	}
	modelURI := sibling(specURI, spec.ModelFile)
	model, err := storage.ReadAll(ctx, modelURI, MaxModelBytes)
	if err != nil {
		return nil, fmt.Errorf("model bundle %s: %w", specURI, err)
	}
	return &Loaded{URI: modelURI, Data: model, Spec: spec, SpecURI: specURI}, nil
}

// sibling returns the URI of name in the same folder as uri.
func sibling(uri, name string) string {
	if storage.Scheme(uri) == "file" && !strings.HasPrefix(uri, "file://") {
		return filepath.Join(filepath.Dir(uri), name)
	}
	i := strings.LastIndex(uri, "/")
	return uri[:i+1] + name
}

// Write writes a bundle folder at dir (a local path): the model bytes under
// spec.ModelFile, then bundle.json last, each atomically.
func Write(ctx context.Context, dir string, spec *Spec, model []byte) error {
	spec.Kind = Kind
	if spec.Version == 0 {
		spec.Version = 1
	}
	if err := storage.WriteFile(ctx, storage.Join(dir, spec.ModelFile), model); err != nil {
		return err
	}
	b, err := json.MarshalIndent(spec, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding bundle spec: %w", err)
	}
	return storage.WriteFile(ctx, storage.Join(dir, SpecFile), append(b, '\n'))
}
