package sklearn

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"

	"github.com/batchinfer/batchinfer/internal/model/pickle"
)

// attrs is an estimator's attribute dictionary (its pickled __dict__).
type attrs struct {
	cls string
	d   *pickle.Dict
	np  *numpy
}

func (np *numpy) attrsOf(v any, what string) (*attrs, *pickle.Object, error) {
	o, ok := v.(*pickle.Object)
	if !ok {
		return nil, nil, malformedf("%s is a %s, want an object", what, pickle.TypeName(v))
	}
	st := o.State
	if t, ok := st.(pickle.Tuple); ok && len(t) == 2 { // (dict, slots)
		st = t[0]
	}
	d, ok := st.(*pickle.Dict)
	if !ok {
		return nil, nil, malformedf("%s %s.%s has state %s, want a dict", what, o.Module, o.Name, pickle.TypeName(o.State))
	}
	return &attrs{cls: o.Name, d: d, np: np}, o, nil
}

func (a *attrs) get(key string) (any, bool) { return a.d.Get(key) }

func (a *attrs) missing(key string) error {
	return malformedf("%s has no attribute %s", a.cls, key)
}

// scalar unwraps numpy scalars.
func (a *attrs) scalar(v any) (any, error) {
	if o, ok := v.(*pickle.Object); ok && isNumpyName(o, "numpy.core.multiarray", "scalar") {
		return a.np.decodeScalar(o)
	}
	if o, ok := v.(*pickle.Object); ok {
		// A 0-d array also passes for a scalar.
		if arr, err := a.np.decodeArray(o); err == nil && arr.len() == 1 && arr.dt.kind != 'O' {
			f, err := arr.floats()
			if err == nil {
				return f[0], nil
			}
		}
	}
	return v, nil
}

func (a *attrs) int(key string) (int64, error) {
	v, ok := a.get(key)
	if !ok {
		return 0, a.missing(key)
	}
	return a.toInt(key, v)
}

func (a *attrs) toInt(key string, v any) (int64, error) {
	v, err := a.scalar(v)
	if err != nil {
		return 0, err
	}
	switch v := v.(type) {
	case int64:
		return v, nil
	case bool:
		if v {
			return 1, nil
		}
		return 0, nil
	case float64:
		if v == math.Trunc(v) && math.Abs(v) < 1<<53 {
			return int64(v), nil
		}
	case *big.Int:
		return 0, malformedf("%s.%s = %s is out of range", a.cls, key, v)
	}
	return 0, malformedf("%s.%s is a %s, want an integer", a.cls, key, pickle.TypeName(v))
}

func (a *attrs) float(key string) (float64, error) {
	v, ok := a.get(key)
	if !ok {
		return 0, a.missing(key)
	}
	v, err := a.scalar(v)
	if err != nil {
		return 0, err
	}
	switch v := v.(type) {
	case float64:
		return v, nil
	case int64:
		return float64(v), nil
	case bool:
		if v {
			return 1, nil
		}
		return 0, nil
	}
	return 0, malformedf("%s.%s is a %s, want a number", a.cls, key, pickle.TypeName(v))
}

func (a *attrs) str(key string) (string, bool) {
	v, ok := a.get(key)
	if !ok {
		return "", false
	}
	s, ok := v.(string)
	return s, ok
}

func (a *attrs) array(key string) (*ndarray, error) {
	v, ok := a.get(key)
	if !ok {
		return nil, a.missing(key)
	}
	arr, err := a.np.decodeArray(v)
	if err != nil {
		return nil, wrapf(err, "%s.%s", a.cls, key)
	}
	return arr, nil
}

// object returns the attribute key as an object with a dict state.
func (a *attrs) object(key string) (*attrs, *pickle.Object, error) {
	v, ok := a.get(key)
	if !ok {
		return nil, nil, a.missing(key)
	}
	return a.np.attrsOf(v, a.cls+"."+key)
}

func wrapf(err error, format string, args ...any) error {
	return &wrapped{prefix: fmt.Sprintf(format, args...), err: err}
}

type wrapped struct {
	prefix string
	err    error
}

func (w *wrapped) Error() string { return w.prefix + ": " + w.err.Error() }
func (w *wrapped) Unwrap() error { return w.err }

// build turns the parsed pickle into a Model.
func build(np *numpy, root any) (*Model, error) {
	o, ok := root.(*pickle.Object)
	if !ok {
		return nil, unsupportedf("the pickle holds a %s, not a scikit-learn estimator", pickle.TypeName(root))
	}
	a, _, err := np.attrsOf(o, "estimator")
	if err != nil {
		return nil, err
	}
	m := &Model{}
	m.info.Framework = "sklearn"
	m.info.Booster = o.Name
	if v, ok := a.str("_sklearn_version"); ok {
		m.info.Version = parseVersion(v)
	}
	b := &builder{np: np, m: m}
	classifier := strings.HasSuffix(o.Name, "Classifier")
	switch {
	case treeClasses[o.Name]:
		err = b.treeEstimator(a, classifier)
	case forestClasses[o.Name]:
		err = b.forest(a, classifier)
	case gbClasses[o.Name]:
		err = b.gradientBoosting(a, classifier)
	case hgbClasses[o.Name]:
		err = b.histGradientBoosting(a, classifier)
	default:
		return nil, unsupportedf("estimator %s.%s", o.Module, o.Name)
	}
	if err != nil {
		return nil, err
	}
	m.info.NumFeatures = m.numFeatures
	m.info.NumOutputs = m.numOutputs
	m.info.NumTrees = len(m.roots)
	if m.info.PredColumns == 0 {
		m.info.PredColumns = m.numOutputs
	}
	if err := b.featureNames(a); err != nil {
		return nil, err
	}
	return m, nil
}

func parseVersion(s string) []int {
	var v []int
	for _, p := range strings.SplitN(s, ".", 3) {
		end := 0
		for end < len(p) && p[end] >= '0' && p[end] <= '9' {
			end++
		}
		n, err := strconv.Atoi(p[:end])
		if err != nil {
			break
		}
		v = append(v, n)
	}
	return v
}

type builder struct {
	np *numpy
	m  *Model
}

func (b *builder) numFeatures(a *attrs) error {
	key := "n_features_in_"
	if _, ok := a.get(key); !ok {
		key = "n_features_" // before 1.0
	}
	n, err := a.int(key)
	if err != nil {
		return err
	}
	if n <= 0 || n > 1<<24 {
		return malformedf("%s.%s = %d", a.cls, key, n)
	}
	b.m.numFeatures = int(n)
	return nil
}

func (b *builder) featureNames(a *attrs) error {
	v, ok := a.get("feature_names_in_")
	if !ok || v == nil {
		return nil
	}
	arr, err := b.np.decodeArray(v)
	if err != nil {
		return wrapf(err, "%s.feature_names_in_", a.cls)
	}
	_, names, err := arr.labels()
	if err != nil {
		return err
	}
	if len(names) != b.m.numFeatures {
		return malformedf("%s has %d feature names for %d features", a.cls, len(names), b.m.numFeatures)
	}
	b.m.info.FeatureNames = names
	return nil
}

func (b *builder) classes(a *attrs) (int, error) {
	arr, err := a.array("classes_")
	if err != nil {
		return 0, err
	}
	if len(arr.shape) != 1 || arr.len() == 0 {
		return 0, unsupportedf("%s.classes_ of shape %v (multi-output classifiers are not supported)", a.cls, arr.shape)
	}
	nums, names, err := arr.labels()
	if err != nil {
		return 0, err
	}
	b.m.classes, b.m.names = nums, names
	b.m.info.NumClasses = len(names)
	return len(names), nil
}

// rawTree is a decoded sklearn.tree._tree.Tree.
type rawTree struct {
	n           int
	left, right []int64
	feature     []int64
	threshold   []float64
	missLeft    []bool // nil before scikit-learn 1.3
	values      []float64
	outputs     int // n_outputs
	classes     int // max_n_classes: values per output per node
}

func (b *builder) decodeTree(est *attrs) (*rawTree, error) {
	ta, to, err := est.object("tree_")
	if err != nil {
		return nil, err
	}
	if to.Name != "Tree" {
		return nil, malformedf("%s.tree_ is a %s.%s", est.cls, to.Module, to.Name)
	}
	n, err := ta.int("node_count")
	if err != nil {
		return nil, err
	}
	nodes, err := ta.array("nodes")
	if err != nil {
		return nil, err
	}
	values, err := ta.array("values")
	if err != nil {
		return nil, err
	}
	if n <= 0 || int64(nodes.len()) != n || len(nodes.shape) != 1 {
		return nil, malformedf("tree with node_count %d and %d nodes", n, nodes.len())
	}
	t := &rawTree{n: int(n)}
	cols := map[string]column{}
	for _, name := range []string{"left_child", "right_child", "feature", "threshold"} {
		c, ok := nodes.column(name)
		if !ok {
			return nil, malformedf("tree nodes have no numeric field %s", name)
		}
		cols[name] = c
	}
	t.left = make([]int64, n)
	t.right = make([]int64, n)
	t.feature = make([]int64, n)
	t.threshold = make([]float64, n)
	for i := range t.n {
		t.left[i] = cols["left_child"].int(i)
		t.right[i] = cols["right_child"].int(i)
		t.feature[i] = cols["feature"].int(i)
		t.threshold[i] = cols["threshold"].float(i)
	}
	if c, ok := nodes.column("missing_go_to_left"); ok {
		t.missLeft = make([]bool, n)
		for i := range t.n {
			t.missLeft[i] = c.int(i) != 0
		}
	}
	if len(values.shape) != 3 || int64(values.shape[0]) != n || values.shape[1] < 1 || values.shape[2] < 1 {
		return nil, malformedf("tree values of shape %v for %d nodes", values.shape, n)
	}
	t.outputs, t.classes = values.shape[1], values.shape[2]
	if t.values, err = values.floats(); err != nil {
		return nil, err
	}
	// The Tree's constructor arguments: (n_features, n_classes, n_outputs).
	if len(to.Args) == 3 {
		if nf, ok := to.Args[0].(int64); ok && b.m.numFeatures > 0 && nf != int64(b.m.numFeatures) {
			return nil, malformedf("tree for %d features in a model of %d", nf, b.m.numFeatures)
		}
	}
	return t, nil
}

// addTree appends a decoded tree whose leaves produce width values each
// (leafValues gives them for a node index) and adds to output column col.
func (b *builder) addTree(t *rawTree, col int, leafValues func(node int, dst []float64)) error {
	m := b.m
	base := len(m.nodes)
	if base+t.n > math.MaxInt32/2 || len(m.leaves)+t.n*m.width > math.MaxInt32/2 {
		return unsupportedf("more than %d tree nodes", math.MaxInt32/2)
	}
	for i := range t.n {
		l, r, f := t.left[i], t.right[i], t.feature[i]
		if l == -1 && r == -1 { // TREE_LEAF
			off := len(m.leaves)
			m.leaves = append(m.leaves, make([]float64, m.width)...)
			leafValues(i, m.leaves[off:])
			m.nodes = append(m.nodes, node{feature: -1, left: int32(off)})
			continue
		}
		if l <= int64(i) || r <= int64(i) || l >= int64(t.n) || r >= int64(t.n) {
			return malformedf("tree node %d has children %d and %d (of %d nodes)", i, l, r, t.n)
		}
		if f < 0 || f >= int64(m.numFeatures) {
			return malformedf("tree node %d splits on feature %d of %d", i, f, m.numFeatures)
		}
		nd := node{thr: t.threshold[i], feature: int32(f), left: int32(base + int(l)), right: int32(base + int(r))}
		if t.missLeft != nil && t.missLeft[i] {
			nd.flags = flagMissingLeft
		}
		m.nodes = append(m.nodes, nd)
	}
	m.roots = append(m.roots, int32(base))
	m.cols = append(m.cols, int32(col))
	return nil
}

// classProba fills dst with a tree classifier's predict_proba at a node:
// value / value.sum() (numpy's pairwise sum), 0/0 -> 0.
func classProba(t *rawTree) func(int, []float64) {
	return func(i int, dst []float64) {
		v := t.values[i*t.classes : (i+1)*t.classes]
		s := pairwiseSum(v)
		if s == 0 {
			s = 1
		}
		for j := range dst {
			dst[j] = v[j] / s
		}
	}
}

func regValue(t *rawTree, scale float64, scaled bool) func(int, []float64) {
	return func(i int, dst []float64) {
		v := t.values[i*t.classes]
		if scaled {
			v = float64(scale * v)
		}
		dst[0] = v
	}
}

func (b *builder) checkOutputs(a *attrs) error {
	if v, ok := a.get("n_outputs_"); ok {
		n, err := a.toInt("n_outputs_", v)
		if err != nil {
			return err
		}
		if n != 1 {
			return unsupportedf("%s with %d outputs (multi-output models are not supported)", a.cls, n)
		}
	}
	return nil
}

func (b *builder) treeEstimator(a *attrs, classifier bool) error {
	if err := b.numFeatures(a); err != nil {
		return err
	}
	if err := b.checkOutputs(a); err != nil {
		return err
	}
	t, err := b.decodeTree(a)
	if err != nil {
		return err
	}
	if t.outputs != 1 {
		return unsupportedf("%s with %d outputs", a.cls, t.outputs)
	}
	m := b.m
	m.float32Input = true
	m.direct = true
	if classifier {
		nc, err := b.classes(a)
		if err != nil {
			return err
		}
		if t.classes != nc {
			return malformedf("%s has %d classes and trees of %d", a.cls, nc, t.classes)
		}
		m.info.Objective = "classification"
		m.numOutputs, m.width = nc, nc
		return b.addTree(t, 0, classProba(t))
	}
	m.info.Objective = "regression"
	m.numOutputs, m.width = 1, 1
	return b.addTree(t, 0, regValue(t, 0, false))
}

func (b *builder) forest(a *attrs, classifier bool) error {
	if err := b.numFeatures(a); err != nil {
		return err
	}
	if err := b.checkOutputs(a); err != nil {
		return err
	}
	m := b.m
	m.float32Input = true
	nc := 1
	if classifier {
		var err error
		if nc, err = b.classes(a); err != nil {
			return err
		}
		m.info.Objective = "classification"
	} else {
		m.info.Objective = "regression"
	}
	m.numOutputs, m.width = nc, nc
	ev, ok := a.get("estimators_")
	if !ok {
		return a.missing("estimators_")
	}
	list, ok := ev.(*pickle.List)
	if !ok || len(list.Items) == 0 {
		return malformedf("%s.estimators_ is a %s, want a non-empty list", a.cls, pickle.TypeName(ev))
	}
	for k, ev := range list.Items {
		ea, eo, err := b.np.attrsOf(ev, a.cls+".estimators_")
		if err != nil {
			return err
		}
		if !treeClasses[eo.Name] {
			return unsupportedf("%s with a %s.%s among its estimators", a.cls, eo.Module, eo.Name)
		}
		t, err := b.decodeTree(ea)
		if err != nil {
			return wrapf(err, "%s.estimators_[%d]", a.cls, k)
		}
		if t.outputs != 1 || t.classes != nc {
			return malformedf("%s.estimators_[%d] has %d outputs of %d values, want 1 of %d", a.cls, k, t.outputs, t.classes, nc)
		}
		fill := regValue(t, 0, false)
		if classifier {
			fill = classProba(t)
		}
		if err := b.addTree(t, 0, fill); err != nil {
			return wrapf(err, "%s.estimators_[%d]", a.cls, k)
		}
	}
	// predict_proba / predict: zeros, += each tree's output in order, then
	// /= len(estimators_).
	m.average = true
	m.divisor = float64(len(list.Items))
	return nil
}

// gbLoss describes a GradientBoosting loss: how the init estimator's output
// becomes the initial raw score, and the transform.
type gbLoss struct {
	objective string
	k         int // raw outputs (trees per stage)
	transform transform
	initRaw   func(p []float64) []float64 // classification: from the prior's predict_proba
	expLoss   bool
}

func clipProba(p float64) float64 {
	const eps = 1.0 / (1 << 23) // np.finfo(np.float32).eps
	return min(max(p, eps), 1-eps)
}

// logit is log(p / (1 - p)), as numpy computes BinomialDeviance's init and
// scipy.special.logit.
func logit(p float64) float64 { return math.Log(p / (1 - p)) }

func (b *builder) gbLoss(a *attrs, classifier bool, nc int) (*gbLoss, error) {
	name := ""
	if _, lo, err := a.object("_loss"); err == nil {
		name = lo.Module + "." + lo.Name
	} else if s, ok := a.str("loss"); ok {
		name = "param." + s
	} else {
		return nil, a.missing("_loss")
	}
	binary := classifier && nc == 2
	switch name {
	// scikit-learn up to 1.3: sklearn.ensemble._gb_losses.
	case "sklearn.ensemble._gb_losses.BinomialDeviance":
		return &gbLoss{objective: "binary:logistic", k: 1, transform: tfBinaryLogistic, initRaw: func(p []float64) []float64 {
			return []float64{logit(clipProba(p[1]))}
		}}, nil
	case "sklearn.ensemble._gb_losses.MultinomialDeviance":
		return &gbLoss{objective: "multi:softprob", k: nc, transform: tfSoftmaxLogSumExp, initRaw: func(p []float64) []float64 {
			out := make([]float64, len(p))
			for j, v := range p {
				out[j] = math.Log(clipProba(v))
			}
			return out
		}}, nil
	case "sklearn.ensemble._gb_losses.ExponentialLoss":
		return &gbLoss{objective: "binary:exponential", k: 1, transform: tfBinaryExp, expLoss: true, initRaw: func(p []float64) []float64 {
			return []float64{0.5 * logit(clipProba(p[1]))}
		}}, nil
	case "sklearn.ensemble._gb_losses.LeastSquaresError":
		return &gbLoss{objective: "reg:squared_error", k: 1}, nil
	case "sklearn.ensemble._gb_losses.LeastAbsoluteError":
		return &gbLoss{objective: "reg:absolute_error", k: 1}, nil
	case "sklearn.ensemble._gb_losses.HuberLossFunction":
		return &gbLoss{objective: "reg:huber", k: 1}, nil
	case "sklearn.ensemble._gb_losses.QuantileLossFunction":
		return &gbLoss{objective: "reg:quantile", k: 1}, nil
	// scikit-learn 1.4 and later: sklearn._loss (not verified against files
	// written by those versions).
	case "sklearn._loss.loss.HalfBinomialLoss":
		if !binary {
			break
		}
		return &gbLoss{objective: "binary:logistic", k: 1, transform: tfBinaryLogistic, initRaw: func(p []float64) []float64 {
			return []float64{logit(clipProba(p[1]))}
		}}, nil
	case "sklearn._loss.loss.HalfMultinomialLoss":
		return &gbLoss{objective: "multi:softprob", k: nc, transform: tfSoftmax, initRaw: func(p []float64) []float64 {
			// Symmetric multinomial logit: log(p / gmean(p)).
			out := make([]float64, len(p))
			var s float64
			for j, v := range p {
				out[j] = math.Log(clipProba(v))
				s += out[j]
			}
			gm := math.Exp(s / float64(len(p)))
			for j, v := range p {
				out[j] = math.Log(clipProba(v) / gm)
			}
			return out
		}}, nil
	case "sklearn._loss.loss.ExponentialLoss":
		return &gbLoss{objective: "binary:exponential", k: 1, transform: tfBinaryExp, expLoss: true, initRaw: func(p []float64) []float64 {
			return []float64{0.5 * logit(clipProba(p[1]))}
		}}, nil
	case "sklearn._loss.loss.HalfSquaredError":
		return &gbLoss{objective: "reg:squared_error", k: 1}, nil
	case "sklearn._loss.loss.AbsoluteError":
		return &gbLoss{objective: "reg:absolute_error", k: 1}, nil
	case "sklearn._loss.loss.HuberLoss":
		return &gbLoss{objective: "reg:huber", k: 1}, nil
	case "sklearn._loss.loss.PinballLoss":
		return &gbLoss{objective: "reg:quantile", k: 1}, nil
	}
	return nil, unsupportedf("%s with loss %s", a.cls, name)
}

func (b *builder) gradientBoosting(a *attrs, classifier bool) error {
	if err := b.numFeatures(a); err != nil {
		return err
	}
	m := b.m
	m.float32Input = true
	nc := 0
	if classifier {
		var err error
		if nc, err = b.classes(a); err != nil {
			return err
		}
		if nc < 2 {
			return malformedf("%s with %d classes", a.cls, nc)
		}
	}
	loss, err := b.gbLoss(a, classifier, nc)
	if err != nil {
		return err
	}
	if classifier != (loss.initRaw != nil) {
		return malformedf("%s with loss %s", a.cls, loss.objective)
	}
	if classifier && (loss.k == 1) != (nc == 2) || classifier && loss.k != 1 && loss.k != nc {
		return malformedf("%s with %d classes and %d trees per stage", a.cls, nc, loss.k)
	}
	m.info.Objective = loss.objective
	m.transform = loss.transform
	m.exponentialLoss = loss.expLoss
	m.numOutputs, m.width = loss.k, 1
	if classifier {
		m.info.PredColumns = nc
	}
	lr, err := a.float("learning_rate")
	if err != nil {
		return err
	}
	if m.init, err = b.gbInit(a, loss, nc); err != nil {
		return err
	}
	est, err := a.array("estimators_")
	if err != nil {
		return err
	}
	if est.dt.kind != 'O' || len(est.shape) != 2 || est.shape[1] != loss.k || est.shape[0] == 0 {
		return malformedf("%s.estimators_ of type %s and shape %v, want objects of shape (n, %d)", a.cls, est.dt, est.shape, loss.k)
	}
	for i, ev := range est.objs {
		ea, eo, err := b.np.attrsOf(ev, a.cls+".estimators_")
		if err != nil {
			return err
		}
		if eo.Name != "DecisionTreeRegressor" {
			return unsupportedf("%s with a %s.%s among its estimators", a.cls, eo.Module, eo.Name)
		}
		t, err := b.decodeTree(ea)
		if err != nil {
			return wrapf(err, "%s.estimators_[%d, %d]", a.cls, i/loss.k, i%loss.k)
		}
		if t.outputs != 1 || t.classes != 1 {
			return malformedf("%s.estimators_[%d, %d] has values of shape (%d, %d)", a.cls, i/loss.k, i%loss.k, t.outputs, t.classes)
		}
		// predict_stages adds learning_rate * value, a float64 product.
		if err := b.addTree(t, i%loss.k, regValue(t, lr, true)); err != nil {
			return wrapf(err, "%s.estimators_[%d, %d]", a.cls, i/loss.k, i%loss.k)
		}
	}
	return nil
}

// gbInit computes the initial raw prediction from init_: "zero", a
// DummyClassifier (prior, most_frequent or uniform) or a DummyRegressor.
func (b *builder) gbInit(a *attrs, loss *gbLoss, nc int) ([]float64, error) {
	v, ok := a.get("init_")
	if !ok {
		return nil, a.missing("init_")
	}
	if s, ok := v.(string); ok {
		if s == "zero" {
			return make([]float64, loss.k), nil
		}
		return nil, unsupportedf("%s with init_ %q", a.cls, s)
	}
	ia, io, err := b.np.attrsOf(v, a.cls+".init_")
	if err != nil {
		return nil, err
	}
	switch io.Name {
	case "DummyClassifier":
		if loss.initRaw == nil {
			break
		}
		strategy, _ := ia.str("_strategy")
		if strategy == "" {
			strategy, _ = ia.str("strategy")
		}
		prior, err := ia.array("class_prior_")
		if err != nil {
			return nil, err
		}
		p, err := prior.floats()
		if err != nil {
			return nil, err
		}
		if len(p) != nc {
			return nil, malformedf("%s.init_ has %d class priors for %d classes", a.cls, len(p), nc)
		}
		switch strategy {
		case "prior":
		case "most_frequent":
			best := 0
			for j := range p {
				if p[j] > p[best] {
					best = j
				}
			}
			p = make([]float64, nc)
			p[best] = 1
		case "uniform":
			p = make([]float64, nc)
			for j := range p {
				p[j] = 1 / float64(nc)
			}
		default:
			return nil, unsupportedf("%s.init_ DummyClassifier with strategy %q", a.cls, strategy)
		}
		raw := loss.initRaw(p)
		if len(raw) != loss.k {
			return nil, malformedf("%s: %d initial scores for %d outputs", a.cls, len(raw), loss.k)
		}
		return raw, nil
	case "DummyRegressor":
		if loss.initRaw != nil {
			break
		}
		c, err := ia.array("constant_")
		if err != nil {
			return nil, err
		}
		f, err := c.floats()
		if err != nil {
			return nil, err
		}
		if len(f) != 1 {
			return nil, unsupportedf("%s.init_ with %d outputs", a.cls, len(f))
		}
		return f, nil
	}
	return nil, unsupportedf("%s with init estimator %s.%s", a.cls, io.Module, io.Name)
}

func (b *builder) histGradientBoosting(a *attrs, classifier bool) error {
	if err := b.numFeatures(a); err != nil {
		return err
	}
	m := b.m
	if v, ok := a.get("_preprocessor"); ok && v != nil {
		return unsupportedf("%s with a categorical preprocessor (categorical_features=\"from_dtype\")", a.cls)
	}
	nc := 0
	if classifier {
		var err error
		if nc, err = b.classes(a); err != nil {
			return err
		}
	}
	k, err := a.int("n_trees_per_iteration_")
	if err != nil {
		return err
	}
	if k < 1 || k > 1<<16 || (classifier && (k == 1) != (nc == 2)) || (classifier && k != 1 && k != int64(nc)) {
		return malformedf("%s.n_trees_per_iteration_ = %d", a.cls, k)
	}
	name := ""
	if _, lo, err := a.object("_loss"); err == nil {
		name = lo.Name
	} else {
		name, _ = a.str("loss")
	}
	switch name {
	case "HalfBinomialLoss", "log_loss", "binary_crossentropy":
		m.info.Objective, m.transform = "binary:logistic", tfBinaryLogistic
	case "HalfMultinomialLoss", "categorical_crossentropy":
		// raw_predictions is Fortran-ordered, so softmax sums each row in order.
		m.info.Objective, m.transform = "multi:softprob", tfSoftmaxSequential
	case "HalfSquaredError", "squared_error":
		m.info.Objective = "reg:squared_error"
	case "AbsoluteError", "absolute_error":
		m.info.Objective = "reg:absolute_error"
	case "PinballLoss", "quantile":
		m.info.Objective = "reg:quantile"
	case "HalfPoissonLoss", "poisson":
		m.info.Objective, m.transform = "reg:poisson", tfExp
	case "HalfGammaLoss", "gamma":
		m.info.Objective, m.transform = "reg:gamma", tfExp
	default:
		return unsupportedf("%s with loss %s", a.cls, name)
	}
	if classifier != (m.transform == tfBinaryLogistic || m.transform == tfSoftmaxSequential) {
		return malformedf("%s with loss %s", a.cls, name)
	}
	if (m.transform == tfBinaryLogistic) != (k == 1 && classifier) {
		return malformedf("%s with loss %s and %d trees per iteration", a.cls, name, k)
	}
	m.numOutputs, m.width = int(k), 1
	if classifier {
		m.info.PredColumns = nc
	}
	base, err := a.array("_baseline_prediction")
	if err != nil {
		return err
	}
	bf, err := base.floats()
	if err != nil {
		return err
	}
	if len(bf) != int(k) {
		return malformedf("%s._baseline_prediction has %d values for %d outputs", a.cls, len(bf), k)
	}
	// raw = zeros; raw += baseline
	m.init = make([]float64, k)
	for j, v := range bf {
		m.init[j] = 0 + v
	}
	known, err := b.knownCategories(a)
	if err != nil {
		return err
	}
	pv, ok := a.get("_predictors")
	if !ok {
		return a.missing("_predictors")
	}
	iters, ok := pv.(*pickle.List)
	if !ok {
		return malformedf("%s._predictors is a %s", a.cls, pickle.TypeName(pv))
	}
	for i, it := range iters.Items {
		row, ok := it.(*pickle.List)
		if !ok || len(row.Items) != int(k) {
			return malformedf("%s._predictors[%d] is not a list of %d predictors", a.cls, i, k)
		}
		for j, p := range row.Items {
			if err := b.hgbPredictor(p, j, known); err != nil {
				return wrapf(err, "%s._predictors[%d][%d]", a.cls, i, j)
			}
		}
	}
	return nil
}

// knownCategories returns, per feature, the bitset of categories seen at fit
// time (nil for numeric features), from _bin_mapper.bin_thresholds_.
func (b *builder) knownCategories(a *attrs) ([][8]uint32, error) {
	v, ok := a.get("is_categorical_")
	if !ok || v == nil {
		return nil, nil
	}
	isCat, err := b.np.decodeArray(v)
	if err != nil {
		return nil, err
	}
	flags, err := isCat.ints()
	if err != nil {
		return nil, err
	}
	if len(flags) != b.m.numFeatures {
		return nil, malformedf("%s.is_categorical_ has %d entries for %d features", a.cls, len(flags), b.m.numFeatures)
	}
	bm, _, err := a.object("_bin_mapper")
	if err != nil {
		return nil, err
	}
	tv, ok := bm.get("bin_thresholds_")
	if !ok {
		return nil, bm.missing("bin_thresholds_")
	}
	th, ok := tv.(*pickle.List)
	if !ok || len(th.Items) != b.m.numFeatures {
		return nil, malformedf("%s._bin_mapper.bin_thresholds_ is not a list of %d arrays", a.cls, b.m.numFeatures)
	}
	known := make([][8]uint32, b.m.numFeatures)
	for f, c := range flags {
		if c == 0 {
			continue
		}
		arr, err := b.np.decodeArray(th.Items[f])
		if err != nil {
			return nil, err
		}
		cats, err := arr.floats()
		if err != nil {
			return nil, err
		}
		for _, v := range cats {
			if !(v >= 0) {
				continue // fit rejects negative categories
			}
			c := catByte(v)
			known[f][c>>5] |= 1 << (c & 31)
		}
	}
	return known, nil
}

func (b *builder) hgbPredictor(v any, col int, known [][8]uint32) error {
	pa, po, err := b.np.attrsOf(v, "predictor")
	if err != nil {
		return err
	}
	if po.Name != "TreePredictor" {
		return malformedf("a %s.%s among the predictors", po.Module, po.Name)
	}
	nodes, err := pa.array("nodes")
	if err != nil {
		return err
	}
	n := nodes.len()
	if n == 0 || len(nodes.shape) != 1 {
		return malformedf("predictor with nodes of shape %v", nodes.shape)
	}
	cols := map[string]column{}
	for _, name := range []string{"value", "feature_idx", "num_threshold", "missing_go_to_left", "left", "right", "is_leaf"} {
		c, ok := nodes.column(name)
		if !ok {
			return malformedf("predictor nodes have no numeric field %s", name)
		}
		cols[name] = c
	}
	isCat, hasCat := nodes.column("is_categorical")
	bitsetIdx, hasIdx := nodes.column("bitset_idx")
	var rawSets []int64
	if hasCat {
		if rv, ok := pa.get("raw_left_cat_bitsets"); ok && rv != nil {
			arr, err := b.np.decodeArray(rv)
			if err != nil {
				return err
			}
			if arr.len() > 0 && (len(arr.shape) != 2 || arr.shape[1] != 8) {
				return malformedf("raw_left_cat_bitsets of shape %v", arr.shape)
			}
			if rawSets, err = arr.ints(); err != nil {
				return err
			}
		}
	}
	m := b.m
	base := len(m.nodes)
	if base+n > math.MaxInt32/2 {
		return unsupportedf("more than %d tree nodes", math.MaxInt32/2)
	}
	for i := range n {
		if cols["is_leaf"].int(i) != 0 {
			off := len(m.leaves)
			m.leaves = append(m.leaves, cols["value"].float(i))
			m.nodes = append(m.nodes, node{feature: -1, left: int32(off)})
			continue
		}
		l, r, f := cols["left"].int(i), cols["right"].int(i), cols["feature_idx"].int(i)
		if l <= int64(i) || r <= int64(i) || l >= int64(n) || r >= int64(n) {
			return malformedf("predictor node %d has children %d and %d (of %d nodes)", i, l, r, n)
		}
		if f < 0 || f >= int64(m.numFeatures) {
			return malformedf("predictor node %d splits on feature %d of %d", i, f, m.numFeatures)
		}
		nd := node{thr: cols["num_threshold"].float(i), feature: int32(f), left: int32(base + int(l)), right: int32(base + int(r))}
		if cols["missing_go_to_left"].int(i) != 0 {
			nd.flags |= flagMissingLeft
		}
		if hasCat && isCat.int(i) != 0 {
			if !hasIdx || known == nil {
				return malformedf("categorical split without category sets")
			}
			bi := bitsetIdx.int(i)
			if bi < 0 || (bi+1)*8 > int64(len(rawSets)) {
				return malformedf("predictor node %d uses category set %d of %d", i, bi, len(rawSets)/8)
			}
			nd.flags |= flagCategorical
			nd.cat = int32(len(m.bitsets))
			for _, w := range rawSets[bi*8 : bi*8+8] {
				m.bitsets = append(m.bitsets, uint32(w))
			}
			m.bitsets = append(m.bitsets, known[f][:]...)
		}
		m.nodes = append(m.nodes, nd)
	}
	m.roots = append(m.roots, int32(base))
	m.cols = append(m.cols, int32(col))
	return nil
}
