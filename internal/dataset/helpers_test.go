package dataset

import (
	"context"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// checkedAlloc returns an allocator that fails the test if anything
// allocated through it is still live at the end of the test.
func checkedAlloc(t *testing.T) *memory.CheckedAllocator {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	t.Cleanup(func() { mem.AssertSize(t, 0) })
	return mem
}

// typesOf renders a schema as "name:type,...".
func typesOf(s *arrow.Schema) string {
	parts := make([]string, s.NumFields())
	for i, f := range s.Fields() {
		parts[i] = f.Name + ":" + f.Type.String()
		if !f.Nullable {
			parts[i] += "!"
		}
	}
	return strings.Join(parts, ",")
}

// cell renders one value; null is "null", floats round-trip.
func cell(col arrow.Array, i int) string {
	if col.IsNull(i) {
		return "null"
	}
	switch a := col.(type) {
	case *array.Float64:
		return FormatFloat(a.Value(i))
	case *array.Int64:
		return strconv.FormatInt(a.Value(i), 10)
	case *array.Boolean:
		return strconv.FormatBool(a.Value(i))
	case *array.String:
		return strconv.Quote(a.Value(i))
	}
	return col.ValueStr(i)
}

// drain reads every record of r and renders the rows, one string per row
// ("v1|v2|..."). It stops at the first error and returns it.
func drain(r Reader) ([]string, int, error) {
	var rows []string
	batches := 0
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return rows, batches, nil
		}
		if err != nil {
			return rows, batches, err
		}
		batches++
		for i := 0; i < int(rec.NumRows()); i++ {
			parts := make([]string, rec.NumCols())
			for j := range parts {
				parts[j] = cell(rec.Column(j), i)
			}
			rows = append(rows, strings.Join(parts, "|"))
		}
	}
}

// openDrain opens f, reads it all and closes it.
func openDrain(ctx context.Context, f File, opts Options) (string, []string, error) {
	r, err := Open(ctx, f, opts)
	if err != nil {
		return "", nil, err
	}
	defer r.Close()
	rows, _, err := drain(r)
	return typesOf(r.Schema()), rows, err
}

func wantErrIs(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("error = %v, want one wrapping %v", err, target)
	}
}
