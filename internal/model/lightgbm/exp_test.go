package lightgbm

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// bigExp computes exp(x) with 300-bit big.Float arithmetic: x = k*ln2 + r
// is avoided by summing the Taylor series of exp(x/2^20) and squaring 20
// times, with enough guard bits that the float64 rounding is exact.
func bigExp(x float64) float64 {
	const prec = 300
	s := new(big.Float).SetPrec(prec).SetFloat64(x)
	s.SetMantExp(s, -20)
	sum := new(big.Float).SetPrec(prec).SetInt64(1)
	term := new(big.Float).SetPrec(prec).SetInt64(1)
	for n := int64(1); n < 40; n++ {
		term.Mul(term, s)
		term.Quo(term, new(big.Float).SetPrec(prec).SetInt64(n))
		sum.Add(sum, term)
	}
	for range 20 {
		sum.Mul(sum, sum)
	}
	f, _ := sum.Float64()
	return f
}

// TestExpRN checks expRN against a 300-bit reference on random and special
// arguments: it must be the correctly rounded value.
func TestExpRN(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	xs := []float64{0, 1, -1, 0.5, 1e-300, -1e-20, 708.9, -699.9, math.Ln2, 100, -100}
	for range 3000 {
		switch rng.IntN(3) {
		case 0:
			xs = append(xs, rng.NormFloat64())
		case 1:
			xs = append(xs, (rng.Float64()*2-1)*700)
		default:
			xs = append(xs, rng.NormFloat64()*1e-3)
		}
	}
	goDiff := 0
	for _, x := range xs {
		want := bigExp(x)
		if got := expRN(x); got != want {
			t.Errorf("expRN(%v) = %v, want %v", x, got, want)
		}
		if math.Exp(x) != want {
			goDiff++
		}
	}
	t.Logf("math.Exp differs from the correctly rounded value on %d of %d inputs", goDiff, len(xs))
	for _, x := range []float64{math.NaN(), math.Inf(1), math.Inf(-1), 710, -745, -800} {
		if got, want := expRN(x), math.Exp(x); math.Float64bits(got) != math.Float64bits(want) {
			t.Errorf("expRN(%v) = %v, want %v", x, got, want)
		}
	}
}

var sinkExp float64

// BenchmarkExp compares expRN with math.Exp (side by side in one run).
func BenchmarkExp(b *testing.B) {
	xs := make([]float64, 1024)
	rng := rand.New(rand.NewPCG(5, 6))
	for i := range xs {
		xs[i] = rng.NormFloat64() * 3
	}
	for _, c := range []struct {
		name string
		f    func(float64) float64
	}{{"expRN", expRN}, {"math.Exp", math.Exp}} {
		b.Run(c.name, func(b *testing.B) {
			s := 0.0
			for b.Loop() {
				for _, x := range xs {
					s += c.f(x)
				}
			}
			sinkExp = s
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(xs)), "ns/exp")
		})
	}
}
