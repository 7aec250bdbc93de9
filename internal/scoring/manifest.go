package scoring

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/batchinfer/batchinfer/internal/dataset"
	"github.com/batchinfer/batchinfer/internal/storage"
)

// Manifest is a run's shard plan (manifest.json in the run folder): the
// stream schema every shard is parsed with, the input files and the shards.
// Fields may be added but never renamed or removed.
type Manifest struct {
	Version   int             `json:"version"`
	Schema    []FieldSpec     `json:"schema"`
	Files     []dataset.File  `json:"files"`
	Shards    []dataset.Shard `json:"shards"`
	RowsTotal int64           `json:"rows_total"` // -1 when some shard's row count is unknown
}

// FieldSpec is one column of the stream schema.
type FieldSpec struct {
	Name string `json:"name"`
	Type string `json:"type"` // float64, int64, bool, utf8
}

var specTypes = map[string]arrow.DataType{
	"float64": arrow.PrimitiveTypes.Float64,
	"int64":   arrow.PrimitiveTypes.Int64,
	"bool":    arrow.FixedWidthTypes.Boolean,
	"utf8":    arrow.BinaryTypes.String,
}

// SchemaSpec describes an Arrow schema of the dataset readers' types.
func SchemaSpec(s *arrow.Schema) []FieldSpec {
	out := make([]FieldSpec, s.NumFields())
	for i, f := range s.Fields() {
		out[i] = FieldSpec{Name: f.Name, Type: f.Type.String()}
	}
	return out
}

// ArrowSchema rebuilds the stream schema.
func (m *Manifest) ArrowSchema() (*arrow.Schema, error) {
	fields := make([]arrow.Field, len(m.Schema))
	for i, f := range m.Schema {
		t, ok := specTypes[f.Type]
		if !ok {
			return nil, fmt.Errorf("manifest: column %q has unknown type %q", f.Name, f.Type)
		}
		fields[i] = arrow.Field{Name: f.Name, Type: t, Nullable: true}
	}
	return arrow.NewSchema(fields, nil), nil
}

// PlanManifest plans the shards of a resolved dataset whose stream schema
// is known.
func PlanManifest(ctx context.Context, files []dataset.File, schema *arrow.Schema, opts dataset.ShardOptions) (*Manifest, error) {
	shards, err := dataset.PlanShards(ctx, files, opts)
	if err != nil {
		return nil, err
	}
	m := &Manifest{Version: 1, Schema: SchemaSpec(schema), Files: files, Shards: shards, RowsTotal: 0}
	for _, s := range shards {
		if s.Rows < 0 {
			m.RowsTotal = -1
			break
		}
		m.RowsTotal += s.Rows
	}
	return m, nil
}

// WriteManifest stores the manifest at uri.
func WriteManifest(ctx context.Context, uri string, m *Manifest) error {
	b, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encoding manifest: %w", err)
	}
	return storage.WriteFile(ctx, uri, b)
}

// ReadManifest loads a manifest (at most 1 GiB).
func ReadManifest(ctx context.Context, uri string) (*Manifest, error) {
	b, err := storage.ReadAll(ctx, uri, 1<<30)
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("manifest %s: %w", uri, err)
	}
	return &m, nil
}
