package stats

import (
	"fmt"
	"math"
	"reflect"
	"testing"
)

// TestFormatCategory: the spelling of numeric values of columns declared
// categorical. Expected texts are Python 3.11's str(int(v)) for integral
// values and repr(v) otherwise (printed by /usr/bin/python3), so an int
// column and the same column read as float64 give the same categories.
func TestFormatCategory(t *testing.T) {
	const big = "1500000000000000078757140382806630373056702871662238732373781173267703686983362293679557062620671796065556665749325817265413784853040645863467188277180060474272580801389863705606745350692182135089053429852456199917621678558451461320111979114170213741868888183230085264257173504208294580298189100810240"
	for _, tc := range []struct {
		v    float64
		want string
	}{
		{3, "3"},
		{-1, "-1"},
		{0, "0"},
		{math.Copysign(0, -1), "0"},
		{123456789, "123456789"},
		{9007199254740992, "9007199254740992"},
		{1e20, "100000000000000000000"},
		{math.Ldexp(1, 63), "9223372036854775808"},
		{-math.Ldexp(1, 63), "-9223372036854775808"},
		{1.5e300, big},
		{2.5, "2.5"},
		{-0.5, "-0.5"},
		{0.1, "0.1"},
		{123456.75, "123456.75"},
		{1e-05, "1e-05"},
		{1e-07, "1e-07"},
		{math.Inf(1), "inf"},
		{math.Inf(-1), "-inf"},
		{math.NaN(), "nan"},
	} {
		if got := FormatCategory(tc.v); got != tc.want {
			t.Errorf("FormatCategory(%v) = %q, want %q", tc.v, got, tc.want)
		}
	}
	// An integral float spells as the int64 it converts to.
	for _, i := range []int64{0, 1, -1, 7, -12, 1 << 40, -(1 << 53)} {
		a, b := NewCategorical(), NewCategorical()
		a.AddInt(i)
		b.AddFloat(float64(i))
		if x, y := a.Column(), b.Column(); !reflect.DeepEqual(x, y) {
			t.Errorf("AddInt(%d) %+v, AddFloat %+v", i, x, y)
		}
	}
}

// TestAddFloatNaNIsMissing: NaN counts as a null, never as a category.
func TestAddFloatNaNIsMissing(t *testing.T) {
	c := NewCategorical()
	for _, v := range []float64{1, math.NaN(), 1, 2, math.NaN()} {
		c.AddFloat(v)
	}
	col := c.Column()
	if col.Count != 3 || col.NaNCount != 2 || col.Unique != 2 || col.Top != "1" || col.Freq != 2 {
		t.Errorf("column %+v", col)
	}
}

// TestAddNEqualsRepeatedAdd: AddN(v, n) leaves the same state as n calls of
// Add(v), below ExactDistinct (exact table) and across the switch to the
// Misra-Gries summary.
func TestAddNEqualsRepeatedAdd(t *testing.T) {
	for _, tc := range []struct {
		name     string
		k        int
		distinct int
	}{
		{"exact", 100, 37},
		{"exactly full", 37, 37},
		{"overflows", 10, 37},
	} {
		t.Run(tc.name, func(t *testing.T) {
			one := NewCategoricalWith(CategoricalOptions{ExactDistinct: tc.k})
			many := NewCategoricalWith(CategoricalOptions{ExactDistinct: tc.k})
			for i := range 3 * tc.distinct {
				v := fmt.Sprint(i % tc.distinct)
				n := int64(1 + i%5)
				many.AddN(v, n)
				for range n {
					one.Add(v)
				}
			}
			many.AddN("ignored", 0)
			many.AddN("ignored", -3)
			if x, y := one.Column(), many.Column(); !reflect.DeepEqual(x, y) {
				t.Errorf("Add x n: %+v\nAddN:    %+v", x, y)
			}
		})
	}
}
