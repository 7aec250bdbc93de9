package lightgbm

import "math"

// expRN is exp(x) correctly rounded to nearest (barring inputs within about
// 1e-29 relative of a rounding boundary). LightGBM computes its transforms
// with the C library's exp, which on glibc is accurate to about 0.51 ulp and
// so almost always returns the correctly rounded value; Go's math.Exp is off
// by one ulp on roughly one input in ten. Using expRN makes transformed
// predictions bit-identical to LightGBM's in practice (every fixture value).
//
// Method: x = k*ln2 + r with |r| <= ln2/2, r in double-double; exp(r) =
// (Σ_{n<=9} s^n/n!)^256 with s = r/256, the terms up to s^4 in
// double-double arithmetic and the rest (below 1e-16) in float64, then eight
// double-double squarings (relative error below 1e-28), rounded once to
// float64 and scaled by 2^k. Outside
// (-700, 709), where the result nears the subnormal or overflow range, it
// falls back to math.Exp (also for NaN and ±Inf).
func expRN(x float64) float64 {
	if !(x > -700 && x < 709) {
		return math.Exp(x)
	}
	const (
		ln2hi = 0x1.62e42fefa39efp-01 // ln 2 = ln2hi + ln2lo to ~2^-106
		ln2lo = 0x1.abc9e3b39803fp-56
	)
	k := math.Round(x * math.Log2E)
	ph, pl := twoProd(k, ln2hi)
	rh, rl := twoSum(x, -ph)
	rl -= pl
	rl -= k * ln2lo
	rh, rl = quickTwoSum(rh, rl)
	sh, sl := rh/256, rl/256 // exact

	// Horner: 1 + s(1 + s(1/2 + s(1/6 + s(1/24 + s*tail)))), tail =
	// Σ_{n=5..9} s^(n-5)/n! in float64 (|s| <= 0.0014).
	tail := 1.0/120 + sh*(1.0/720+sh*(1.0/5040+sh*(1.0/40320+sh*(1.0/362880))))
	eh, el := twoProd(sh, tail)
	eh, el = ddAdd(eh, el, inv24h, inv24l)
	eh, el = ddMul(eh, el, sh, sl)
	eh, el = ddAdd(eh, el, inv6h, inv6l)
	eh, el = ddMul(eh, el, sh, sl)
	eh, el = ddAdd(eh, el, 0.5, 0)
	eh, el = ddMul(eh, el, sh, sl)
	eh, el = ddAdd(eh, el, 1, 0)
	eh, el = ddMul(eh, el, sh, sl)
	eh, el = ddAdd(eh, el, 1, 0)
	for range 8 {
		eh, el = ddMul(eh, el, eh, el)
	}
	return math.Ldexp(eh, int(k)) // exact: the result is a normal float64
}

// 1/6 and 1/24 as double-doubles.
var (
	inv6h, inv6l   = ddDiv(1, 0, 6)
	inv24h, inv24l = ddDiv(1, 0, 24)
)

// Double-double helpers: a value is hi+lo with |lo| <= ulp(hi)/2.

func twoSum(a, b float64) (s, e float64) {
	s = a + b
	bb := s - a
	e = (a - (s - bb)) + (b - bb)
	return s, e
}

func quickTwoSum(a, b float64) (s, e float64) {
	s = a + b
	e = b - (s - a)
	return s, e
}

func twoProd(a, b float64) (p, e float64) {
	p = a * b
	e = math.FMA(a, b, -p)
	return p, e
}

func ddMul(ah, al, bh, bl float64) (float64, float64) {
	p, e := twoProd(ah, bh)
	e += ah*bl + al*bh
	return quickTwoSum(p, e)
}

func ddAdd(ah, al, bh, bl float64) (float64, float64) {
	s, e := twoSum(ah, bh)
	e += al + bl
	return quickTwoSum(s, e)
}

// ddDiv divides a double-double by a small integer-valued float64.
func ddDiv(ah, al, b float64) (float64, float64) {
	q1 := ah / b
	r := math.FMA(-q1, b, ah) + al
	q2 := r / b
	return quickTwoSum(q1, q2)
}
