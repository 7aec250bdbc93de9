package model

import (
	"fmt"
	"math"
)

type transformKind uint8

const (
	transIdentity transformKind = iota
	transSigmoid                // 1/(exp(min(-m, 88.7)) + 1)
	transExp                    // exp(m)
	transSoftmax                // softmax over the row's outputs
	transArgmax                 // index of the largest output (multi:softmax)
	transHinge                  // 1 if m > 0 else 0 (binary:hinge)
	transSortRow                // ascending sort of the row (multi-quantile)
)

type marginKind uint8

const (
	marginIdentity marginKind = iota
	marginLogit               // -log(1/p - 1), p clamped to [1e-6, 1-1e-6]
	marginLog                 // log(p)
)

type objective struct {
	transform transformKind
	margin    marginKind
	classify  bool    // binary classifier
	threshold float32 // Classes threshold for binary classifiers
}

// lookupObjective maps an XGBoost objective name to its prediction rules.
func lookupObjective(name string, numOutputs int) (objective, error) {
	switch name {
	case "binary:logistic":
		return objective{transform: transSigmoid, margin: marginLogit, classify: true, threshold: 0.5}, nil
	case "binary:logitraw":
		// XGBoost 1.7 uses base_score as the margin for logitraw (no logit).
		return objective{transform: transIdentity, margin: marginIdentity, classify: true, threshold: 0}, nil
	case "binary:hinge":
		return objective{transform: transHinge, margin: marginIdentity, classify: true, threshold: 0.5}, nil
	case "reg:logistic":
		return objective{transform: transSigmoid, margin: marginLogit}, nil
	case "reg:squarederror", "reg:linear", "reg:squaredlogerror", "reg:pseudohubererror",
		"reg:absoluteerror", "rank:pairwise", "rank:ndcg", "rank:map":
		return objective{transform: transIdentity, margin: marginIdentity}, nil
	case "reg:quantileerror":
		if numOutputs > 1 {
			return objective{transform: transSortRow, margin: marginIdentity}, nil
		}
		return objective{transform: transIdentity, margin: marginIdentity}, nil
	case "count:poisson", "reg:gamma", "reg:tweedie":
		return objective{transform: transExp, margin: marginLog}, nil
	case "multi:softprob":
		return objective{transform: transSoftmax, margin: marginIdentity}, nil
	case "multi:softmax":
		return objective{transform: transArgmax, margin: marginIdentity}, nil
	}
	return objective{}, fmt.Errorf("%w: objective %q", ErrUnsupported, name)
}

// toMargin converts a stored base_score (probability space) to a margin in
// float32 arithmetic, as XGBoost does.
func (o objective) toMargin(b float32) (float32, error) {
	switch o.margin {
	case marginLogit:
		if math.IsNaN(float64(b)) {
			return 0, fmt.Errorf("%w: base_score is NaN", ErrMalformed)
		}
		b = min(max(b, 1e-6), 1-1e-6)
		return -logf(1/b - 1), nil
	case marginLog:
		if !(b > 0) || math.IsInf(float64(b), 1) {
			return 0, fmt.Errorf("%w: base_score %g must be positive and finite for a log-link objective", ErrMalformed, b)
		}
		return logf(b), nil
	}
	return b, nil
}

func logf(x float32) float32 { return float32(math.Log(float64(x))) }

// expf is exp computed in float64 and rounded to float32; it matches the
// float32 expf of XGBoost's builds to within 1 ulp (exactly on the fixtures'
// sigmoid and softmax outputs).
func expf(x float32) float32 { return float32(math.Exp(float64(x))) }

// Transform turns margins (rows x NumOutputs, from PredictMargin) into the
// objective's default prediction, what XGBoost's Booster.predict returns:
//
//   - binary:logistic, reg:logistic: 1/(exp(min(-m, 88.7)) + 1), in float32
//   - count:poisson, reg:gamma, reg:tweedie: exp(m)
//   - multi:softprob: per row, p_k = exp(m_k - max) / float32(sum), the sum
//     accumulated in float64
//   - multi:softmax: per row, the index of the largest margin (first wins), as
//     float32; this writes one column per row (Info.PredColumns = 1)
//   - binary:hinge: 1 if m > 0 else 0
//   - reg:quantileerror with several quantiles: each row sorted ascending
//   - everything else: identity
//
// out may be the same slice as margin (in-place). len(margin) must be at
// least rows*NumOutputs and len(out) at least rows*PredColumns.
func (m *Model) Transform(margin []float32, rows int, out []float32) {
	k := m.numOutputs
	m.checkShapesOut(len(margin), rows, k)
	m.checkShapesOut(len(out), rows, m.info.PredColumns)
	n := rows * k
	switch m.obj.transform {
	case transIdentity:
		copy(out[:n], margin[:n])
	case transSigmoid:
		for i, v := range margin[:n] {
			e := expf(min(-v, 88.7))
			out[i] = 1 / (e + 1 + 1e-16)
		}
	case transExp:
		for i, v := range margin[:n] {
			out[i] = expf(v)
		}
	case transHinge:
		for i, v := range margin[:n] {
			if v > 0 {
				out[i] = 1
			} else {
				out[i] = 0
			}
		}
	case transSoftmax:
		for r := 0; r < rows; r++ {
			src := margin[r*k : (r+1)*k]
			dst := out[r*k : (r+1)*k]
			mx := src[0]
			for _, v := range src[1:] {
				mx = max(mx, v)
			}
			var sum float64
			for j, v := range src {
				e := expf(v - mx)
				dst[j] = e
				sum += float64(e)
			}
			s := float32(sum)
			for j := range dst {
				dst[j] /= s
			}
		}
	case transArgmax:
		for r := 0; r < rows; r++ {
			src := margin[r*k : (r+1)*k]
			best := 0
			for j := 1; j < k; j++ {
				if src[j] > src[best] {
					best = j
				}
			}
			out[r] = float32(best)
		}
	case transSortRow:
		for r := 0; r < rows; r++ {
			dst := out[r*k : (r+1)*k]
			copy(dst, margin[r*k:(r+1)*k])
			// Insertion sort: k is small and this must not allocate.
			for i := 1; i < k; i++ {
				v := dst[i]
				j := i
				for j > 0 && dst[j-1] > v {
					dst[j] = dst[j-1]
					j--
				}
				dst[j] = v
			}
		}
	}
}

// Classes writes the predicted class index of each row from transformed
// predictions (Transform output), as XGBClassifier.predict returns it:
// binary classifiers 1 if pred > 0.5 else 0 (binary:logitraw: pred > 0);
// multi:softprob the index of the largest probability (first maximum wins);
// multi:softmax the prediction itself. It panics if NumClasses == 0.
func (m *Model) Classes(pred []float32, rows int, out []int32) {
	classes(m, "Classes", pred, rows, out)
}

// classes implements Classes and ClassesOf: the float64 predictions of
// ClassesOf hold float32 values, so every comparison is the same.
func classes[T float32 | float64](m *Model, name string, pred []T, rows int, out []int32) {
	if m.info.NumClasses == 0 {
		panic("model: " + name + " called on a model that is not a classifier")
	}
	w := m.info.PredColumns
	m.checkShapesOut(len(pred), rows, w)
	if len(out) < rows {
		panic(fmt.Sprintf("model: class output has %d values, want %d", len(out), rows))
	}
	switch {
	case m.obj.transform == transArgmax:
		for r := 0; r < rows; r++ {
			out[r] = int32(pred[r])
		}
	case m.obj.classify:
		thr := T(m.obj.threshold)
		for r := 0; r < rows; r++ {
			if pred[r] > thr {
				out[r] = 1
			} else {
				out[r] = 0
			}
		}
	default:
		for r := 0; r < rows; r++ {
			row := pred[r*w : (r+1)*w]
			best := 0
			for j := 1; j < w; j++ {
				if row[j] > row[best] {
					best = j
				}
			}
			out[r] = int32(best)
		}
	}
}

func (m *Model) checkShapesOut(n, rows, width int) {
	if rows < 0 {
		panic(fmt.Sprintf("model: negative row count %d", rows))
	}
	if n < rows*width {
		panic(fmt.Sprintf("model: buffer has %d values, want rows*%d = %d", n, width, rows*width))
	}
}
