package stats

import (
	"fmt"
	"math"
)

// Sketch geometry. The mapping from a value to its bucket is fixed (it does
// not depend on the data), so bucket counts add commutatively and a merged
// sketch is the same whatever the split of the data and the merge order.
const (
	// SketchMantissaBits is the number of leading mantissa bits that name a
	// bucket: every power-of-two range [2^e, 2^(e+1)) is cut into
	// 2^SketchMantissaBits equal buckets.
	SketchMantissaBits = 7
	// SketchRelativeAccuracy is the relative error bound alpha of a value
	// read back from the sketch: a bucket [L, U) has U/L <= 1 + 2^-m (m =
	// SketchMantissaBits), and its midpoint R = (L+U)/2 is within
	// (U-L)/2 <= 2^-(m+1) * L <= alpha*|x| of every x in it. alpha = 2^-8 =
	// 0.390625%. (Zero is exact; subnormal values, below 2.3e-308, are within
	// that absolute distance instead.)
	SketchRelativeAccuracy = 1.0 / (2 << SketchMantissaBits)

	sketchShift  = 52 - SketchMantissaBits
	sketchMaxKey = 0x7FF<<SketchMantissaBits - 1 // last key of a finite magnitude
	signMask     = 1 << 63
)

// Sketch is a mergeable quantile sketch of the non-NaN values of a numeric
// column: a log-linear histogram with a fixed mapping, in the manner of
// DDSketch (Masson, Rim and Lee, VLDB 2019) but keyed directly by the bits of
// the float64 (the exponent and the top SketchMantissaBits mantissa bits of
// |x|), which costs a shift instead of a logarithm.
//
// Why this sketch: the issue asks for quartiles that are identical for any
// split and merge order of the data. KLL and t-digest compact data in an
// order-dependent way (and KLL randomly), so their merged state depends on
// the split; a fixed-mapping histogram's state is a function of the multiset
// of values only. Its error is relative (see SketchRelativeAccuracy) rather
// than in rank, and its size is bounded by the value range, not the row
// count: at most 2^18 buckets per sign whatever the data (2 MiB each), in
// practice a few thousand (about 128 per factor of two that the data spans).
//
// Neg holds the buckets of |x| for x < 0 (keyed like Pos), Zeros counts
// +0 and -0, NegInf and PosInf the infinities.
type Sketch struct {
	Zeros, NegInf, PosInf int64
	Pos, Neg              Buckets
}

// Buckets is a run of bucket counts: Counts[i] counts the values whose key is
// Offset+i. The key of a finite non-zero |x| is float64bits(|x|) >> 45.
type Buckets struct {
	Offset int
	Counts []int64
}

func (b *Buckets) inc(k int) {
	i := k - b.Offset
	if uint(i) < uint(len(b.Counts)) {
		b.Counts[i]++
		return
	}
	b.grow(k, k)
	b.Counts[k-b.Offset]++
}

// grow makes keys lo..hi addressable, with some slack so that a slowly
// widening range does not copy on every new key.
func (b *Buckets) grow(lo, hi int) {
	if len(b.Counts) == 0 {
		lo, hi = max(0, lo-8), min(sketchMaxKey, hi+8)
		b.Offset, b.Counts = lo, make([]int64, hi-lo+1)
		return
	}
	curLo, curHi := b.Offset, b.Offset+len(b.Counts)-1
	if lo >= curLo && hi <= curHi {
		return
	}
	slack := max(32, len(b.Counts)/2)
	newLo, newHi := curLo, curHi
	if lo < curLo {
		newLo = max(0, lo-slack)
	}
	if hi > curHi {
		newHi = min(sketchMaxKey, hi+slack)
	}
	c := make([]int64, newHi-newLo+1)
	copy(c[curLo-newLo:], b.Counts)
	b.Offset, b.Counts = newLo, c
}

func (b *Buckets) merge(o *Buckets) {
	first, last, ok := o.span()
	if !ok {
		return
	}
	b.grow(o.Offset+first, o.Offset+last)
	for i := first; i <= last; i++ {
		b.Counts[o.Offset+i-b.Offset] += o.Counts[i]
	}
}

// span returns the first and last non-zero index.
func (b *Buckets) span() (first, last int, ok bool) {
	first, last = -1, -1
	for i, c := range b.Counts {
		if c != 0 {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	return first, last, first >= 0
}

// trimmed returns a copy without leading and trailing empty buckets (Offset
// 0 and nil Counts when empty): the canonical form written to JSON.
func (b *Buckets) trimmed() Buckets {
	first, last, ok := b.span()
	if !ok {
		return Buckets{}
	}
	return Buckets{Offset: b.Offset + first, Counts: append([]int64(nil), b.Counts[first:last+1]...)}
}

func (b *Buckets) total() int64 {
	var t int64
	for _, c := range b.Counts {
		t += c
	}
	return t
}

// sketchKey returns the bucket key of a finite non-zero magnitude bit
// pattern (sign bit cleared).
func sketchKey(absBits uint64) int { return int(absBits >> sketchShift) }

// bucketValue returns the representative value (midpoint) of key k.
func bucketValue(k int) float64 {
	return math.Float64frombits(uint64(k)<<sketchShift | 1<<(sketchShift-1))
}

// Add adds x to the sketch (NaN is ignored).
func (s *Sketch) Add(x float64) {
	bits := math.Float64bits(x)
	abs := bits &^ signMask
	switch {
	case x != x:
	case abs == 0:
		s.Zeros++
	case math.IsInf(x, 1):
		s.PosInf++
	case math.IsInf(x, -1):
		s.NegInf++
	case bits&signMask != 0:
		s.Neg.inc(sketchKey(abs))
	default:
		s.Pos.inc(sketchKey(abs))
	}
}

// Merge adds o's counts to s; o is unchanged.
func (s *Sketch) Merge(o *Sketch) {
	s.Zeros += o.Zeros
	s.NegInf += o.NegInf
	s.PosInf += o.PosInf
	s.Pos.merge(&o.Pos)
	s.Neg.merge(&o.Neg)
}

// Count returns the number of values in the sketch (infinities included).
func (s *Sketch) Count() int64 {
	return s.Zeros + s.NegInf + s.PosInf + s.Pos.total() + s.Neg.total()
}

// Clone returns a deep copy in canonical (trimmed) form; nil for nil.
func (s *Sketch) Clone() *Sketch {
	if s == nil {
		return nil
	}
	return &Sketch{Zeros: s.Zeros, NegInf: s.NegInf, PosInf: s.PosInf, Pos: s.Pos.trimmed(), Neg: s.Neg.trimmed()}
}

// ValueAt returns the value of rank k (0-based, in ascending order) as the
// sketch knows it: -Inf or +Inf for the ranks of the infinities, 0 for the
// zeros, else the midpoint of the bucket holding rank k, which is within
// SketchRelativeAccuracy*|x| of the true k-th value x. It panics if k is
// out of [0, Count()).
func (s *Sketch) ValueAt(k int64) float64 {
	if k < 0 {
		panic(fmt.Sprintf("stats: Sketch.ValueAt(%d)", k))
	}
	if k < s.NegInf {
		return math.Inf(-1)
	}
	k -= s.NegInf
	for i := len(s.Neg.Counts) - 1; i >= 0; i-- {
		if k < s.Neg.Counts[i] {
			return -bucketValue(s.Neg.Offset + i)
		}
		k -= s.Neg.Counts[i]
	}
	if k < s.Zeros {
		return 0
	}
	k -= s.Zeros
	for i, c := range s.Pos.Counts {
		if k < c {
			return bucketValue(s.Pos.Offset + i)
		}
		k -= c
	}
	if k < s.PosInf {
		return math.Inf(1)
	}
	panic(fmt.Sprintf("stats: Sketch.ValueAt rank beyond the %d values", s.Count()))
}

// cdfSteps calls fn with the cumulative count after each position of the
// common order of two sketches: -Inf, the negative buckets from the largest
// magnitude down, zero, the positive buckets up, +Inf. Both sketches walk
// the same key sequence, so fn sees both CDFs at the same bucket boundaries.
func cdfSteps(a, b *Sketch, fn func(ca, cb int64)) {
	var ca, cb int64
	ca, cb = a.NegInf, b.NegInf
	fn(ca, cb)
	at := func(bk *Buckets, k int) int64 {
		i := k - bk.Offset
		if i >= 0 && i < len(bk.Counts) {
			return bk.Counts[i]
		}
		return 0
	}
	lo, hi, ok := keyRange(&a.Neg, &b.Neg)
	for k := hi; ok && k >= lo; k-- {
		ca += at(&a.Neg, k)
		cb += at(&b.Neg, k)
		fn(ca, cb)
	}
	ca += a.Zeros
	cb += b.Zeros
	fn(ca, cb)
	lo, hi, ok = keyRange(&a.Pos, &b.Pos)
	for k := lo; ok && k <= hi; k++ {
		ca += at(&a.Pos, k)
		cb += at(&b.Pos, k)
		fn(ca, cb)
	}
}

func keyRange(a, b *Buckets) (lo, hi int, ok bool) {
	lo, hi = math.MaxInt, -1
	for _, bk := range []*Buckets{a, b} {
		if f, l, nz := bk.span(); nz {
			lo, hi = min(lo, bk.Offset+f), max(hi, bk.Offset+l)
		}
	}
	return lo, hi, hi >= 0
}

// KS returns the two-sample Kolmogorov-Smirnov statistic of the values in a
// and b as the sketches see them:
//
//	KS = max over bucket boundaries x of |F_a(x) - F_b(x)|
//
// where F is the share of a sketch's values (infinities included, NaN not)
// below x. Both sketches share one fixed bucket mapping, so the CDFs are
// exact at every boundary and KS <= KS_true <= KS + max over buckets of
// max(share_a(bucket), share_b(bucket)). It returns 0 and false when either
// sketch is empty.
func KS(a, b *Sketch) (float64, bool) {
	if a == nil || b == nil {
		return 0, false
	}
	na, nb := a.Count(), b.Count()
	if na == 0 || nb == 0 {
		return 0, false
	}
	var d float64
	cdfSteps(a, b, func(ca, cb int64) {
		d = math.Max(d, math.Abs(float64(ca)/float64(na)-float64(cb)/float64(nb)))
	})
	return d, true
}
