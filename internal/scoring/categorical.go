package scoring

import (
	"fmt"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
)

// cleanNames trims the names, drops empty ones and duplicates, keeping the
// first occurrence's order.
func cleanNames(names []string) []string {
	var out []string
	for _, n := range names {
		n = strings.TrimSpace(n)
		if n != "" && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// checkCategoricalLabel rejects declaring a prediction (label) column
// categorical for a regressor, whose predictions are continuous; a
// classifier's label column holds its classes and may be categorical.
func checkCategoricalLabel(m *Model, name string) error {
	if m.Info.NumClasses == 0 {
		return fmt.Errorf("%w: categorical column %q is the label of a regressor, whose predictions are continuous; only a classifier's label column can be categorical", ErrBadParameter, name)
	}
	return nil
}

// ResolveCategorical returns the result-set columns declared categorical for
// a run, in result-set order (plan.Names, then plan.Labels): those given for
// the run (declared) and those of the model bundle's categorical_columns
// present in the result set. A run declaration must name a result-set
// column (a dataset column kept after drop_columns, or a prediction
// column) and may name a prediction column only for a classifier; it fails
// with ErrBadParameter otherwise. Bundle declarations naming columns the
// result set lacks are ignored (they describe the training set).
func ResolveCategorical(p *Plan, m *Model, declared []string) ([]string, error) {
	declared = cleanNames(declared)
	for _, name := range declared {
		switch {
		case slices.Contains(p.Names, name):
		case slices.Contains(p.Labels, name):
			if err := checkCategoricalLabel(m, name); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("%w: categorical column %q is not a result-set column (columns: %s)",
				ErrBadParameter, name, strings.Join(append(slices.Clone(p.Names), p.Labels...), ", "))
		}
	}
	want := slices.Clone(declared)
	if m.Spec != nil {
		want = append(want, m.Spec.CategoricalColumns...)
	}
	var out []string
	for _, name := range append(slices.Clone(p.Names), p.Labels...) {
		if slices.Contains(want, name) && !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out, nil
}

// checkRegisterCategorical validates the categorical columns declared at
// registration: each must be a training column, not a drop column, and a
// label column only for a classifier. It returns them in training-column
// order. (Non-integral float values are found while describing.)
func checkRegisterCategorical(schema *arrow.Schema, m *Model, declared, labels []string, dropped map[string]bool) ([]string, error) {
	declared = cleanNames(declared)
	for _, name := range declared {
		switch {
		case len(schema.FieldIndices(name)) == 0:
			return nil, fmt.Errorf("%w: categorical column %q not in the training set (columns: %s)",
				ErrBadParameter, name, strings.Join(fieldNames(schema), ", "))
		case dropped[name]:
			return nil, fmt.Errorf("%w: categorical column %q is also a drop column", ErrBadParameter, name)
		case slices.Contains(labels, name):
			if err := checkCategoricalLabel(m, name); err != nil {
				return nil, err
			}
		}
	}
	var out []string
	for _, f := range schema.Fields() {
		if slices.Contains(declared, f.Name) && !slices.Contains(out, f.Name) {
			out = append(out, f.Name)
		}
	}
	return out, nil
}
