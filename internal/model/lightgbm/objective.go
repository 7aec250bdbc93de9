package lightgbm

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/batchinfer/batchinfer/internal/model"
)

type transformKind uint8

const (
	transIdentity  transformKind = iota
	transSqrt                    // sign(x)*x*x (regression objectives trained with reg_sqrt)
	transSigmoid                 // 1/(1+exp(-sigmoid*x)), per output
	transSoftmax                 // softmax over the row's outputs
	transExp                     // exp(x)
	transLogExpOne               // log(1+exp(x)) (cross_entropy_lambda)
)

type objective struct {
	transform  transformKind
	sigmoid    float64
	numClasses int // Info.NumClasses
}

// parseObjective reads the header's objective line ("binary sigmoid:1",
// "multiclass num_class:3", "regression sqrt", ...) for a model with k trees
// per iteration.
func parseObjective(s string, k int) (objective, error) {
	fields := strings.Fields(s)
	if len(fields) == 0 {
		// No objective (custom objective at training): raw scores.
		return objective{}, nil
	}
	name := fields[0]
	params := map[string]string{}
	sqrt := false
	for _, f := range fields[1:] {
		if f == "sqrt" {
			sqrt = true
			continue
		}
		key, val, ok := strings.Cut(f, ":")
		if !ok {
			return objective{}, malformed("objective %.60q: parameter %.20q", s, f)
		}
		params[key] = val
	}
	floatParam := func(key string, def float64) (float64, error) {
		v, ok := params[key]
		if !ok {
			return def, nil
		}
		x, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return 0, malformed("objective %.60q: %s: %v", s, key, err)
		}
		return x, nil
	}
	single := func(o objective) (objective, error) {
		if k != 1 {
			return objective{}, malformed("objective %q with num_tree_per_iteration=%d", name, k)
		}
		return o, nil
	}
	classes := func() error {
		v, ok := params["num_class"]
		if !ok {
			return nil
		}
		c, err := strconv.Atoi(v)
		if err != nil || c != k {
			return malformed("objective %.60q: num_class does not match num_tree_per_iteration=%d", s, k)
		}
		return nil
	}
	switch name {
	// Only the names LightGBM's model loader accepts (ObjectiveFunction::
	// CreateObjectiveFunction from a model string), plus the 2.x names
	// xentropy / xentlambda.
	case "regression", "regression_l1", "huber", "fair", "quantile", "mape":
		if sqrt {
			return single(objective{transform: transSqrt})
		}
		return single(objective{})
	case "poisson", "gamma", "tweedie":
		return single(objective{transform: transExp})
	case "binary":
		sg, err := floatParam("sigmoid", 1)
		if err != nil {
			return objective{}, err
		}
		return single(objective{transform: transSigmoid, sigmoid: sg, numClasses: 2})
	case "cross_entropy", "xentropy":
		return single(objective{transform: transSigmoid, sigmoid: 1})
	case "cross_entropy_lambda", "xentlambda":
		return single(objective{transform: transLogExpOne})
	case "lambdarank", "rank_xendcg":
		return single(objective{})
	case "multiclass":
		if err := classes(); err != nil {
			return objective{}, err
		}
		return objective{transform: transSoftmax, numClasses: k}, nil
	case "multiclassova":
		if err := classes(); err != nil {
			return objective{}, err
		}
		sg, err := floatParam("sigmoid", 1)
		if err != nil {
			return objective{}, err
		}
		return objective{transform: transSigmoid, sigmoid: sg, numClasses: k}, nil
	case "custom":
		return objective{}, nil
	}
	return objective{}, fmt.Errorf("%w: lightgbm: objective %.60q", model.ErrUnsupported, s)
}

// TransformRaw turns raw scores (rows x NumOutputs, from PredictRaw) into
// LightGBM's default prediction (task=predict without predict_raw_score),
// in float64:
//
//   - average_output (rf): every raw score is first divided by the number of
//     iterations, trees/num_tree_per_iteration;
//   - binary, cross_entropy: 1/(1+exp(-sigmoid*x)); multiclassova: the same
//     for each class;
//   - multiclass: softmax, p_k = exp(x_k - max) / Σ_j exp(x_j - max);
//   - poisson, gamma, tweedie: exp(x);
//   - cross_entropy_lambda: log(1+exp(x));
//   - regression-family objectives saved with "sqrt": sign(x)*x*x;
//   - everything else (regression, regression_l1, huber, fair, quantile,
//     mape, lambdarank, rank_xendcg): identity.
//
// out may be the same slice as raw. It panics if len(raw) or len(out) is
// less than rows*NumOutputs.
func (m *Model) TransformRaw(raw []float64, rows int, out []float64) {
	k := m.numOutputs
	checkLen("raw", len(raw), rows, k)
	checkLen("output", len(out), rows, k)
	n := rows * k
	raw, out = raw[:n], out[:n]
	if m.average {
		d := float64(m.numIters)
		for i, v := range raw {
			out[i] = v / d
		}
		raw = out
	}
	switch m.obj.transform {
	case transIdentity:
		copy(out, raw)
	case transSqrt:
		for i, v := range raw {
			out[i] = sign(v) * v * v
		}
	case transSigmoid:
		s := m.obj.sigmoid
		for i, v := range raw {
			out[i] = 1 / (1 + expRN(-s*v))
		}
	case transExp:
		for i, v := range raw {
			out[i] = expRN(v)
		}
	case transLogExpOne:
		for i, v := range raw {
			if e := 1 + expRN(v); e > 0 {
				out[i] = math.Log(e)
			} else {
				out[i] = math.Inf(-1)
			}
		}
	case transSoftmax:
		for r := 0; r < rows; r++ {
			src, dst := raw[r*k:(r+1)*k], out[r*k:(r+1)*k]
			mx := src[0]
			for _, v := range src[1:] {
				if !(v < mx) { // std::max(v, mx)
					mx = v
				}
			}
			sum := 0.0
			for j, v := range src {
				e := expRN(v - mx)
				dst[j] = e
				sum += e
			}
			for j := range dst {
				dst[j] /= sum
			}
		}
	}
}

func sign(x float64) float64 {
	switch {
	case x > 0:
		return 1
	case x < 0:
		return -1
	}
	return 0
}

// ClassesOf writes the predicted class of each row from transformed
// predictions (TransformRaw output): binary: 1 if p > 0.5 else 0;
// multiclass and multiclassova: the index of the largest probability (the
// first one on ties). It panics if NumClasses == 0.
func (m *Model) ClassesOf(pred []float64, rows int, out []int32) {
	if m.obj.numClasses == 0 {
		panic("lightgbm: ClassesOf called on a model that is not a classifier")
	}
	k := m.numOutputs
	checkLen("prediction", len(pred), rows, k)
	checkLen("class output", len(out), rows, 1)
	if m.obj.numClasses == 2 && k == 1 {
		for r, p := range pred[:rows] {
			if p > 0.5 {
				out[r] = 1
			} else {
				out[r] = 0
			}
		}
		return
	}
	for r := 0; r < rows; r++ {
		row := pred[r*k : (r+1)*k]
		best := 0
		for j := 1; j < k; j++ {
			if row[j] > row[best] {
				best = j
			}
		}
		out[r] = int32(best)
	}
}

func checkLen(what string, n, rows, width int) {
	if rows < 0 {
		panic(fmt.Sprintf("lightgbm: negative row count %d", rows))
	}
	if n < rows*width {
		panic(fmt.Sprintf("lightgbm: %s has %d values, want rows*%d = %d", what, n, width, rows*width))
	}
}
