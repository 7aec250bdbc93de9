package sklearn

import (
	"fmt"
	"math"

	"github.com/batchinfer/batchinfer/internal/model"
)

var _ model.Predictor = (*Model)(nil)

// Model is a loaded scikit-learn tree ensemble. It is immutable after Load and
// safe for concurrent use.
type Model struct {
	info model.Info

	numFeatures int
	numOutputs  int

	// All trees' nodes; tree t starts at nodes[roots[t]] and adds its leaf
	// values (width of them) to output columns cols[t], cols[t]+1, ...
	nodes   []node
	roots   []int32
	cols    []int32
	leaves  []float64
	width   int
	bitsets []uint32 // categorical splits (HistGradientBoosting), see node.cat

	// Per-row accumulation: out = init (or 0) + the trees' leaf values in
	// tree order, then divided by divisor when average is set.
	init    []float64
	direct  bool // a single tree: out = its leaf values, no addition
	average bool
	divisor float64
	// float32Input: inputs are converted to float32 before comparing, as
	// scikit-learn's trees and GradientBoosting* do (HistGradientBoosting*
	// compares float64).
	float32Input bool

	transform transform
	classes   []float64 // classes_ when numeric
	names     []string  // classes_ as text
	// exponentialLoss: predict uses raw >= 0 rather than the argmax.
	exponentialLoss bool
}

// node is one tree node. A split sends x left when x <= thr (after the
// float32 conversion for float32Input models); NaN goes left when
// flagMissingLeft is set and right otherwise; a categorical split
// (HistGradientBoosting) tests bitsets. A leaf has feature < 0 and left = the
// offset of its values in Model.leaves. Children always have larger indices
// than their parent, so every descent ends.
type node struct {
	thr     float64
	feature int32
	left    int32
	right   int32
	flags   uint8
	cat     int32 // categorical: offset in Model.bitsets of 8 words of left categories then 8 of known ones
}

const (
	flagMissingLeft uint8 = 1 << iota
	flagCategorical
)

type transform uint8

const (
	tfIdentity          transform = iota
	tfBinaryLogistic              // proba[1] = expit(raw), proba[0] = 1 - proba[1]
	tfBinaryExp                   // GradientBoosting exponential loss: expit(2 raw)
	tfSoftmaxLogSumExp            // GradientBoosting (_gb_losses) multinomial: exp(raw - logsumexp(raw))
	tfSoftmax                     // sklearn.utils.extmath.softmax (HistGradientBoosting, _loss)
	tfSoftmaxSequential           // softmax with the row sum taken in order (F-ordered raw)
	tfExp                         // log link (Poisson, gamma, Tweedie regression)
)

// Info describes the model. Its slices are shared and must not be modified.
func (m *Model) Info() model.Info { return m.info }

// Classes returns classes_ as numbers, or nil when the labels are not
// numeric; ClassesOf indices refer to it. The slice must not be modified.
func (m *Model) Classes() []float64 { return m.classes }

// ClassNames returns classes_ as text (numbers as Go formats them). The
// slice must not be modified.
func (m *Model) ClassNames() []string { return m.names }

func (m *Model) checkShapes(nx, rows, nout, width int) {
	if rows < 0 {
		panic(fmt.Sprintf("sklearn: negative row count %d", rows))
	}
	if nx < rows*m.numFeatures {
		panic(fmt.Sprintf("sklearn: input has %d values, want rows*NumFeatures = %d*%d", nx, rows, m.numFeatures))
	}
	if nout < rows*width {
		panic(fmt.Sprintf("sklearn: output has %d values, want rows*%d = %d", nout, width, rows*width))
	}
}

// PredictRaw writes rows x NumOutputs raw scores into out, row-major, for the
// row-major rows x NumFeatures matrix x: for tree, forest classifiers the class
// probabilities (predict_proba), for GradientBoosting and
// HistGradientBoosting classifiers the decision function, for regressors the
// prediction (HistGradientBoosting: before the inverse link). Results are
// bit-identical to scikit-learn's: inputs are compared as float32 (except in
// HistGradientBoosting*), and every output is accumulated in float64 in tree
// order from the same starting value. It panics if x or out is too short.
func (m *Model) PredictRaw(x []float64, rows int, out []float64) {
	m.checkShapes(len(x), rows, len(out), m.numOutputs)
	nf, no, w := m.numFeatures, m.numOutputs, m.width
	for r := range rows {
		xr := x[r*nf : (r+1)*nf]
		o := out[r*no : (r+1)*no]
		if m.direct {
			leaf := m.leafOf(m.roots[0], xr)
			copy(o, m.leaves[leaf:leaf+int32(w)])
			continue
		}
		if m.init != nil {
			copy(o, m.init)
		} else {
			clear(o)
		}
		for t, root := range m.roots {
			leaf := m.leafOf(root, xr)
			dst := o[m.cols[t] : int(m.cols[t])+w]
			for j, v := range m.leaves[leaf : leaf+int32(w)] {
				dst[j] += v
			}
		}
		if m.average {
			for j := range o {
				o[j] /= m.divisor
			}
		}
	}
}

// leafOf returns the offset in m.leaves of the values of the leaf that x
// reaches from node root.
func (m *Model) leafOf(root int32, x []float64) int32 {
	i := root
	for {
		n := &m.nodes[i]
		if n.feature < 0 {
			return n.left
		}
		v := x[n.feature]
		if m.float32Input {
			v = float64(float32(v))
		}
		switch {
		case n.flags == 0:
			// Also the rule for NaN without missing-value support: a NaN
			// comparison is false, so NaN goes right.
			if v <= n.thr {
				i = n.left
			} else {
				i = n.right
			}
		case v != v:
			if n.flags&flagMissingLeft != 0 {
				i = n.left
			} else {
				i = n.right
			}
		case n.flags&flagCategorical != 0:
			i = m.categorical(n, v)
		case v <= n.thr:
			i = n.left
		default:
			i = n.right
		}
	}
}

// categorical applies a HistGradientBoosting categorical split to a non-NaN
// value: negative values and categories unknown at fit time follow the
// missing-value direction; the category is the value converted to uint8 as
// the C code does (truncation, modulo 256).
func (m *Model) categorical(n *node, v float64) int32 {
	missing := n.right
	if n.flags&flagMissingLeft != 0 {
		missing = n.left
	}
	if v < 0 {
		return missing
	}
	c := catByte(v)
	sets := m.bitsets[n.cat : n.cat+16]
	if sets[c>>5]>>(c&31)&1 != 0 {
		return n.left
	}
	if sets[8+c>>5]>>(c&31)&1 != 0 {
		return n.right
	}
	return missing
}

// catByte converts a non-negative float64 to uint8 as x86-64 code compiled
// from C does: truncate to a 64-bit integer (out of range: the "integer
// indefinite" value, whose low byte is 0) and keep the low byte.
func catByte(v float64) uint32 {
	if !(v < 1<<63) {
		return 0
	}
	return uint32(uint64(v) & 0xff)
}

// TransformRaw turns raw scores into scikit-learn's predictions: predict_proba
// for classifiers (identity for tree and forest classifiers, whose raw scores
// already are probabilities; sigmoid or softmax of the decision function for
// GradientBoosting and HistGradientBoosting), predict for regressors (the
// inverse link for HistGradientBoosting's Poisson, gamma and Tweedie losses,
// identity otherwise). raw holds rows x NumOutputs values, out receives rows x
// PredColumns; out may alias raw when the two widths are equal. Values that
// pass through exp agree with scikit-learn within 2 ulp.
func (m *Model) TransformRaw(raw []float64, rows int, out []float64) {
	no, pc := m.numOutputs, m.info.PredColumns
	if rows < 0 || len(raw) < rows*no || len(out) < rows*pc {
		panic(fmt.Sprintf("sklearn: TransformRaw of %d rows with %d raw and %d output values, want %d and %d",
			rows, len(raw), len(out), rows*no, rows*pc))
	}
	switch m.transform {
	case tfIdentity:
		copy(out[:rows*no], raw[:rows*no])
	case tfBinaryLogistic, tfBinaryExp:
		// Backwards, so that out may alias raw.
		for r := rows - 1; r >= 0; r-- {
			v := raw[r]
			if m.transform == tfBinaryExp {
				v *= 2
			}
			p := expit(v)
			out[2*r+1] = p
			out[2*r] = 1 - p
		}
	case tfExp:
		for i, v := range raw[:rows*no] {
			out[i] = math.Exp(v)
		}
	case tfSoftmaxLogSumExp:
		var buf [16]float64
		tmp := buf[:]
		if no > len(buf) {
			tmp = make([]float64, no)
		}
		for r := range rows {
			softmaxLogSumExp(raw[r*no:(r+1)*no], out[r*no:(r+1)*no], tmp[:no])
		}
	case tfSoftmax, tfSoftmaxSequential:
		for r := range rows {
			softmax(raw[r*no:(r+1)*no], out[r*no:(r+1)*no], m.transform == tfSoftmaxSequential)
		}
	}
}

// expit is scipy.special.expit: 1 / (1 + exp(-x)).
func expit(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// softmaxLogSumExp is GradientBoostingClassifier's multinomial
// predict_proba: nan_to_num(exp(raw - logsumexp(raw))) with scipy's
// logsumexp (max shift, numpy's pairwise sum). tmp is scratch space of
// len(raw); out may alias raw.
func softmaxLogSumExp(raw, out, tmp []float64) {
	mx := math.Inf(-1)
	for _, v := range raw {
		if v > mx || v != v {
			mx = v
			if v != v {
				break
			}
		}
	}
	if math.IsInf(mx, 0) || mx != mx {
		mx = 0
	}
	for j, v := range raw {
		tmp[j] = math.Exp(v - mx)
	}
	lse := math.Log(pairwiseSum(tmp)) + mx
	for j, v := range raw {
		out[j] = nanToNum(math.Exp(v - lse))
	}
}

// softmax is sklearn.utils.extmath.softmax: shift by the row maximum,
// exponentiate, divide by the sum (numpy's pairwise sum over a contiguous row,
// or a plain sum in order when sequential).
func softmax(raw, out []float64, sequential bool) {
	mx := math.Inf(-1)
	for _, v := range raw {
		if v > mx || v != v {
			mx = v
			if v != v {
				break
			}
		}
	}
	for j, v := range raw {
		out[j] = math.Exp(v - mx)
	}
	var s float64
	if sequential {
		for _, v := range out[:len(raw)] {
			s += v
		}
	} else {
		s = pairwiseSum(out[:len(raw)])
	}
	for j := range raw {
		out[j] /= s
	}
}

func nanToNum(v float64) float64 {
	switch {
	case v != v:
		return 0
	case math.IsInf(v, 1):
		return math.MaxFloat64
	case math.IsInf(v, -1):
		return -math.MaxFloat64
	}
	return v
}

// pairwiseSum is numpy's float64 add.reduce over a contiguous run: plain
// summation below 8 values, 8 interleaved accumulators up to 128, and
// recursive halving (at multiples of 8) above.
func pairwiseSum(a []float64) float64 {
	n := len(a)
	switch {
	case n < 8:
		s := 0.0
		for _, v := range a {
			s += v
		}
		return s
	case n <= 128:
		var r [8]float64
		copy(r[:], a[:8])
		i := 8
		for ; i < n-n%8; i += 8 {
			for j := range r {
				r[j] += a[i+j]
			}
		}
		s := ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
		for ; i < n; i++ {
			s += a[i]
		}
		return s
	}
	n2 := n / 2
	n2 -= n2 % 8
	return pairwiseSum(a[:n2]) + pairwiseSum(a[n2:])
}

// ClassesOf writes the index into Classes of each row's predicted class,
// given predictions from TransformRaw: the first maximum of the row's
// probabilities (numpy argmax, NaN counting as the maximum), or for the
// exponential loss of GradientBoostingClassifier, whose predict tests
// raw >= 0, proba[1] >= proba[0]. scikit-learn's DecisionTreeClassifier
// takes the argmax of the leaf's raw counts and multiclass GradientBoosting
// that of the raw scores; these agree with the argmax of the probabilities
// except where two classes' probabilities round to the same value. It panics
// if the model is not a classifier.
func (m *Model) ClassesOf(pred []float64, rows int, out []int32) {
	if m.info.NumClasses == 0 {
		panic("sklearn: ClassesOf called on a regressor")
	}
	w := m.info.PredColumns
	if rows < 0 || len(pred) < rows*w || len(out) < rows {
		panic(fmt.Sprintf("sklearn: ClassesOf of %d rows with %d predictions and %d outputs", rows, len(pred), len(out)))
	}
	for r := range rows {
		p := pred[r*w : (r+1)*w]
		if m.exponentialLoss {
			if p[1] >= p[0] {
				out[r] = 1
			} else {
				out[r] = 0
			}
			continue
		}
		best := 0
		for j := 1; j < len(p); j++ {
			if p[best] != p[best] {
				break
			}
			if p[j] > p[best] || p[j] != p[j] {
				best = j
			}
		}
		out[r] = int32(best)
	}
}
