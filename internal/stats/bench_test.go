package stats

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkNumeric measures Add plus Column (sort for quartiles, histogram)
// over a ladder of column sizes, with own and with reference edges.
func BenchmarkNumeric(b *testing.B) {
	for _, n := range []int{1_000, 100_000, 1_000_000} {
		rng := rand.New(rand.NewPCG(1, uint64(n)))
		xs := make([]float64, n)
		for i := range xs {
			xs[i] = rng.NormFloat64()
		}
		for _, mode := range []struct {
			name  string
			edges []float64
		}{{"own", nil}, {"reference", ReferenceEdges(-3, 3, DefaultBins)}} {
			b.Run(fmt.Sprintf("%s/n=%d", mode.name, n), func(b *testing.B) {
				b.SetBytes(int64(8 * n))
				for b.Loop() {
					acc := NewNumeric(mode.edges, DefaultBins)
					acc.Add(xs)
					_ = acc.Column()
				}
			})
		}
	}
}
