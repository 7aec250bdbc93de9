package scoring

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/batchinfer/batchinfer/internal/bundle"
	"github.com/batchinfer/batchinfer/internal/dataset"
	"github.com/batchinfer/batchinfer/internal/stats"
)

// RegisterInput makes a model bundle from a model file and its training set.
type RegisterInput struct {
	Model        string   // model file (local path or URL)
	TrainingSet  []string // dataset URIs
	LabelColumns []string // label column(s) of the training set
	DropColumns  []string // training columns that are neither features nor labels
	// CategoricalColumns names training columns whose statistics are
	// frequency tables rather than histograms (see the package doc): each
	// must be a training column, not a drop column, a label column only for
	// a classifier, and, if float64, hold only integral values. Recorded in
	// bundle.json as categorical_columns.
	CategoricalColumns []string
	To                 string // bundle folder to write
}

// RegisterResult describes the written bundle.
type RegisterResult struct {
	Spec    *bundle.Spec
	Rows    int64
	Columns int
}

// RegisterModel computes the statistics of every training column (label
// included, drop columns excluded) with the same code that describes result
// sets, and writes the bundle: model file, then bundle.json. Columns in
// in.CategoricalColumns get frequency tables (see the package doc); a bad
// declaration fails with ErrBadParameter (a *NonIntegralError for a float
// column with a non-integral value) before anything is written.
func RegisterModel(ctx context.Context, in RegisterInput) (*RegisterResult, error) {
	if len(in.LabelColumns) == 0 {
		return nil, fmt.Errorf("%w: at least one label column is required", ErrBadParameter)
	}
	loaded, err := bundle.Load(ctx, in.Model)
	if err != nil {
		return nil, err
	}
	if loaded.Spec != nil {
		return nil, fmt.Errorf("%w: %s is already a bundle; give the bare model file", ErrBadParameter, in.Model)
	}
	m, err := NewModel(loaded)
	if err != nil {
		return nil, err
	}
	files, err := dataset.Resolve(ctx, in.TrainingSet)
	if err != nil {
		return nil, fmt.Errorf("training set: %w", err)
	}
	r, err := dataset.OpenAll(ctx, files, dataset.Options{BatchRows: 1024})
	if err != nil {
		return nil, fmt.Errorf("training set: %w", err)
	}
	schema := r.Schema()
	if _, err := r.Next(); errors.Is(err, io.EOF) {
		r.Close()
		return nil, fmt.Errorf("training set: %w", ErrEmptyDataset)
	} else if err != nil {
		r.Close()
		return nil, fmt.Errorf("training set: %w", err)
	}
	r.Close()

	// The model's features are the training columns less labels and drops.
	drop := append(append([]string{}, in.DropColumns...), in.LabelColumns...)
	for _, l := range in.LabelColumns {
		if len(schema.FieldIndices(l)) == 0 {
			return nil, fmt.Errorf("%w: label column %q not in the training set (columns: %s)", ErrBadParameter, l, strings.Join(fieldNames(schema), ", "))
		}
	}
	probe := &Model{Predictor: m.Predictor, Info: m.Info}
	plan, err := NewPlan(schema, probe, drop, labelProbe(m), false)
	if err != nil {
		return nil, fmt.Errorf("training set: %w", err)
	}

	dropped := map[string]bool{}
	for _, i := range dropIndices(schema, in.DropColumns) {
		dropped[schema.Field(i).Name] = true
	}
	categorical, err := checkRegisterCategorical(schema, m, in.CategoricalColumns, in.LabelColumns, dropped)
	if err != nil {
		return nil, err
	}

	acc, err := describe(ctx, files, AccumulatorOptions{Categorical: categorical}, nil)
	if err != nil {
		return nil, fmt.Errorf("training set statistics: %w", err)
	}
	if err := acc.NonIntegral(); err != nil {
		return nil, fmt.Errorf("training set: %w", err)
	}
	featureStats, rows := acc.Dataset(), acc.Rows
	if len(dropped) > 0 {
		kept := &stats.Dataset{}
		for _, name := range featureStats.Names {
			if !dropped[name] {
				c, _ := featureStats.Get(name)
				kept.Set(name, c)
			}
		}
		featureStats = kept
	}
	statsJSON, err := featureStats.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("encoding training statistics: %w", err)
	}

	spec := &bundle.Spec{
		Framework:          m.Info.Framework,
		Format:             m.Info.Format,
		Objective:          m.Info.Objective,
		ModelFile:          modelFileName(m.Info.Format),
		FeatureStats:       statsJSON,
		CategoricalColumns: categorical,
		Training:           &bundle.Training{Dataset: in.TrainingSet, Rows: rows},
		CreatedAt:          time.Now().UTC().Format(time.RFC3339),
	}
	for _, i := range plan.Features {
		f := schema.Field(i)
		spec.Inputs = append(spec.Inputs, bundle.Feature{Name: f.Name, ValueType: valueType(f.Type)})
	}
	for _, l := range in.LabelColumns {
		f := schema.Field(schema.FieldIndices(l)[0])
		spec.Outputs = append(spec.Outputs, bundle.Feature{Name: l, ValueType: valueType(f.Type)})
	}
	if _, err := (&Model{Predictor: m.Predictor, Info: m.Info, Spec: spec}).LabelColumns(nil); err != nil {
		return nil, fmt.Errorf("label columns %v do not fit the model: %w", in.LabelColumns, err)
	}
	if err := bundle.Write(ctx, in.To, spec, loaded.Data); err != nil {
		return nil, err
	}
	return &RegisterResult{Spec: spec, Rows: rows, Columns: featureStats.Len()}, nil
}

// labelProbe names prediction columns that cannot clash with training columns.
func labelProbe(m *Model) []string {
	want := m.Info.NumOutputs
	if m.Info.NumClasses > 0 {
		want = 1
	}
	out := make([]string, want)
	for i := range out {
		out[i] = fmt.Sprintf("\x00probe_%d", i)
	}
	return out
}

func dropIndices(schema *arrow.Schema, drop []string) []int {
	var out []int
	for _, d := range drop {
		if idx := schema.FieldIndices(d); len(idx) > 0 {
			out = append(out, idx...)
			continue
		}
		var pos int
		if _, err := fmt.Sscanf(d, "%d", &pos); err == nil && pos >= 0 && pos < schema.NumFields() {
			out = append(out, pos)
		}
	}
	return out
}

func valueType(t arrow.DataType) string {
	switch t.ID() {
	case arrow.FLOAT64, arrow.FLOAT32:
		return "float"
	case arrow.INT64, arrow.INT32:
		return "int"
	case arrow.BOOL:
		return "bool"
	default:
		return "str"
	}
}

// modelFileName is the model's file name inside a bundle, by format.
func modelFileName(format string) string {
	switch format {
	case "text":
		return "model.txt"
	case "pickle":
		return "model.pkl"
	case "":
		return "model.bin"
	default:
		return "model." + format
	}
}
