package scoring

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/batchinfer/batchinfer/internal/bundle"
	"github.com/batchinfer/batchinfer/internal/engine"
	"github.com/batchinfer/batchinfer/internal/model"
)

// Errors callers branch on (all are bad input: a retry cannot fix them).
var (
	// ErrMissingFeatures: model features absent from the dataset.
	ErrMissingFeatures = errors.New("model features missing from the dataset")
	// ErrLabelExists: a prediction column name is already a dataset column.
	ErrLabelExists = errors.New("label column already in the dataset")
	// ErrEmptyDataset: the dataset has no rows.
	ErrEmptyDataset = errors.New("dataset has no rows")
	// ErrBadParameter: an invalid job parameter (drop_columns, label_columns).
	ErrBadParameter = errors.New("invalid parameter")
	// ErrNotNumeric: a model feature column is not numeric.
	ErrNotNumeric = errors.New("feature column is not numeric")
)

// DefaultLabel is the prediction column name when none is given (MLRun's).
const DefaultLabel = "predicted_label"

// Model is a loaded model with what the pipeline needs to know about it.
type Model struct {
	model.Predictor
	Info model.Info
	Spec *bundle.Spec // nil for a bare model file
	// labels maps a predicted class index to the value written in the
	// label column (scikit-learn's classes_); nil means the index itself.
	labels *classLabels
}

// classLabels are a classifier's class values: integers, other numbers, or
// strings (exactly one is set).
type classLabels struct {
	ints    []int64
	floats  []float64
	strings []string
}

// labeler is implemented by engines whose classes have values of their own
// (scikit-learn's classes_).
type labeler interface {
	Classes() []float64
	ClassNames() []string
}

// NewModel parses a loaded model file of any supported framework (detected
// from its content).
func NewModel(l *bundle.Loaded) (*Model, error) {
	p, err := engine.Load(l.Data)
	if err != nil {
		return nil, fmt.Errorf("loading model %s: %w", l.URI, err)
	}
	m := &Model{Predictor: p, Info: p.Info(), Spec: l.Spec}
	if lb, ok := p.(labeler); ok && m.Info.NumClasses > 0 {
		m.labels = newClassLabels(lb.Classes(), lb.ClassNames())
	}
	return m, nil
}

func newClassLabels(values []float64, names []string) *classLabels {
	switch {
	case len(names) > 0 && len(values) == 0:
		return &classLabels{strings: names}
	case len(values) > 0:
		ints := make([]int64, len(values))
		for i, v := range values {
			if v != math.Trunc(v) || math.Abs(v) > 1<<53 {
				return &classLabels{floats: values}
			}
			ints[i] = int64(v)
		}
		return &classLabels{ints: ints}
	}
	return nil
}

// classLabel names class k in probability column names.
func (m *Model) classLabel(k int) string {
	switch {
	case m.labels == nil:
		return strconv.Itoa(k)
	case m.labels.strings != nil:
		return m.labels.strings[k]
	case m.labels.floats != nil:
		return strconv.FormatFloat(m.labels.floats[k], 'g', -1, 64)
	default:
		return strconv.FormatInt(m.labels.ints[k], 10)
	}
}

// labelType is the Arrow type of a classifier's label column.
func (m *Model) labelType() arrow.DataType {
	switch {
	case m.labels == nil || m.labels.ints != nil:
		return arrow.PrimitiveTypes.Int64
	case m.labels.strings != nil:
		return arrow.BinaryTypes.String
	default:
		return arrow.PrimitiveTypes.Float64
	}
}

// FeatureNames returns the model's input names: the file's, else the
// bundle's, else nil (mapping by position).
func (m *Model) FeatureNames() []string {
	if len(m.Info.FeatureNames) > 0 {
		return m.Info.FeatureNames
	}
	if m.Spec != nil && len(m.Spec.Inputs) == m.Info.NumFeatures {
		names := make([]string, len(m.Spec.Inputs))
		for i, f := range m.Spec.Inputs {
			names[i] = f.Name
		}
		return names
	}
	return nil
}

// LabelColumns resolves the prediction column names: the given ones, else
// the bundle's outputs, else predicted_label (predicted_label_0..k-1 for a
// regressor with k outputs). Classifiers have one label column (the class).
func (m *Model) LabelColumns(given []string) ([]string, error) {
	want := m.Info.NumOutputs
	if m.Info.NumClasses > 0 {
		want = 1
	}
	labels := given
	if len(labels) == 0 && m.Spec != nil && len(m.Spec.Outputs) == want {
		for _, o := range m.Spec.Outputs {
			labels = append(labels, o.Name)
		}
	}
	if len(labels) == 0 {
		if want == 1 {
			return []string{DefaultLabel}, nil
		}
		for i := range want {
			labels = append(labels, fmt.Sprintf("%s_%d", DefaultLabel, i))
		}
		return labels, nil
	}
	if len(labels) != want {
		return nil, fmt.Errorf("%w: %d label columns %v given, the model has %d output(s)", ErrBadParameter, len(labels), labels, want)
	}
	seen := map[string]bool{}
	for _, l := range labels {
		if strings.TrimSpace(l) == "" || seen[l] {
			return nil, fmt.Errorf("%w: label columns %v must be distinct and non-empty", ErrBadParameter, labels)
		}
		seen[l] = true
	}
	return labels, nil
}

// Plan maps dataset columns to the result set and the model's inputs.
type Plan struct {
	Keep     []int    // dataset column indices kept in the result set, in order
	Names    []string // their names
	Features []int    // for each model input, the dataset column index
	Labels   []string // prediction column names
	Proba    []string // probability column names (empty without predict_proba)
}

// NewPlan checks a dataset schema against the model and the parameters:
// drop columns (names or 0-based positions) must exist; the model's features
// must be present and numeric (by name when the model stores names, by
// position otherwise); no prediction column may already exist.
func NewPlan(schema *arrow.Schema, m *Model, drop, labels []string, proba bool) (*Plan, error) {
	dropped := make([]bool, schema.NumFields())
	for _, d := range drop {
		d = strings.TrimSpace(d)
		if idx := schema.FieldIndices(d); len(idx) > 0 {
			for _, i := range idx {
				dropped[i] = true
			}
			continue
		}
		pos, err := strconv.Atoi(d)
		if err != nil {
			return nil, fmt.Errorf("%w: drop column %q is neither a column name nor a position (columns: %s)", ErrBadParameter, d, strings.Join(fieldNames(schema), ", "))
		}
		if pos < 0 || pos >= schema.NumFields() {
			return nil, fmt.Errorf("%w: drop column position %d out of range (the dataset has %d columns)", ErrBadParameter, pos, schema.NumFields())
		}
		dropped[pos] = true
	}
	p := &Plan{}
	for i, f := range schema.Fields() {
		if !dropped[i] {
			p.Keep = append(p.Keep, i)
			p.Names = append(p.Names, f.Name)
		}
	}
	if len(p.Keep) == 0 {
		return nil, fmt.Errorf("%w: drop columns %v leave no column", ErrBadParameter, drop)
	}
	var err error
	if p.Labels, err = m.LabelColumns(labels); err != nil {
		return nil, err
	}
	for _, l := range p.Labels {
		if len(schema.FieldIndices(l)) > 0 && !dropped[schema.FieldIndices(l)[0]] {
			return nil, fmt.Errorf("%w: %q (drop it with drop_columns or name the predictions otherwise with label_columns)", ErrLabelExists, l)
		}
	}
	// multi:softmax outputs only the class: it has no probabilities.
	if proba && m.Info.NumClasses > 0 && (m.Info.PredColumns == m.Info.NumClasses || m.Info.NumClasses == 2) {
		for c := range m.Info.NumClasses {
			p.Proba = append(p.Proba, fmt.Sprintf("%s_proba_%s", p.Labels[0], m.classLabel(c)))
		}
	}
	if names := m.FeatureNames(); names != nil {
		var missing []string
		for _, n := range names {
			idx := schema.FieldIndices(n)
			if len(idx) == 0 || dropped[idx[0]] {
				missing = append(missing, n)
				continue
			}
			p.Features = append(p.Features, idx[0])
		}
		if len(missing) > 0 {
			return nil, fmt.Errorf("%w: %s (dataset columns: %s)", ErrMissingFeatures, strings.Join(missing, ", "), strings.Join(p.Names, ", "))
		}
	} else {
		if len(p.Keep) != m.Info.NumFeatures {
			return nil, fmt.Errorf("%w: the model takes %d features by position and stores no names, but %d columns remain after drop_columns (%s)",
				ErrMissingFeatures, m.Info.NumFeatures, len(p.Keep), strings.Join(p.Names, ", "))
		}
		p.Features = append(p.Features, p.Keep...)
	}
	for _, i := range p.Features {
		switch schema.Field(i).Type.ID() {
		case arrow.FLOAT64, arrow.INT64, arrow.BOOL:
		default:
			return nil, fmt.Errorf("%w: %q is %s", ErrNotNumeric, schema.Field(i).Name, schema.Field(i).Type)
		}
	}
	return p, nil
}

func fieldNames(s *arrow.Schema) []string {
	out := make([]string, s.NumFields())
	for i, f := range s.Fields() {
		out[i] = f.Name
	}
	return out
}
