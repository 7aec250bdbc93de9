package dataset

import (
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// Float64s converts a numeric or boolean column to float64 values for the
// model and the statistics, reusing dst's storage: it returns
// append(dst[:0], values...) and true. Nulls become NaN, booleans 0 and 1,
// integers their nearest float64 (exact up to 2^53 in magnitude).
//
// For a column of any other type (String included) it returns dst[:0] and
// false.
func Float64s(col arrow.Array, dst []float64) ([]float64, bool) {
	dst = dst[:0]
	n := col.Len()
	if cap(dst) < n {
		dst = make([]float64, 0, n)
	}
	switch a := col.(type) {
	case *array.Float64:
		dst = append(dst, a.Float64Values()...)
	case *array.Float32:
		for _, v := range a.Float32Values() {
			dst = append(dst, float64(v))
		}
	case *array.Int64:
		for _, v := range a.Int64Values() {
			dst = append(dst, float64(v))
		}
	case *array.Int32:
		for _, v := range a.Int32Values() {
			dst = append(dst, float64(v))
		}
	case *array.Boolean:
		for i := 0; i < n; i++ {
			if a.Value(i) {
				dst = append(dst, 1)
			} else {
				dst = append(dst, 0)
			}
		}
	case *array.Null:
		for i := 0; i < n; i++ {
			dst = append(dst, math.NaN())
		}
		return dst, true
	default:
		return dst, false
	}
	if col.NullN() > 0 {
		for i := range dst {
			if col.IsNull(i) {
				dst[i] = math.NaN()
			}
		}
	}
	return dst, true
}
