package model

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// Limits on what a model may declare. They are far above anything XGBoost
// trains and exist so that a hostile file cannot make the evaluator address
// absurd ranges.
const (
	maxFeatures = int64(featMask) // feature indices must fit the node encoding
	maxOutputs  = 1 << 16
	maxCategory = 1 << 24 // XGBoost treats categories >= 2^24 as invalid
	maxDepth    = 1 << 16 // deepest tree accepted
)

// buildXGBoost turns a parsed XGBoost model document into a Model. size is
// the input length, used to bound derived allocations.
func buildXGBoost(doc *value, size int) (*Model, error) {
	learner := doc.get("learner")
	if learner == nil || learner.k != kindObj {
		return nil, fmt.Errorf("%w: no learner object", ErrMalformed)
	}
	m := &Model{}
	m.info.Framework = "xgboost"
	if v := doc.get("version"); v != nil {
		ver, err := v.ints("version")
		if err != nil {
			return nil, err
		}
		for _, n := range ver {
			m.info.Version = append(m.info.Version, int(n))
		}
	}

	mp := learner.get("learner_model_param")
	if mp == nil || mp.k != kindObj {
		return nil, fmt.Errorf("%w: no learner_model_param", ErrMalformed)
	}
	numFeature, err := mp.get("num_feature").asIntParam("num_feature", 0, maxFeatures)
	if err != nil {
		return nil, err
	}
	numClass := 0
	if v := mp.get("num_class"); v != nil {
		if numClass, err = v.asIntParam("num_class", 0, maxOutputs); err != nil {
			return nil, err
		}
	}
	numTarget := 1
	if v := mp.get("num_target"); v != nil {
		if numTarget, err = v.asIntParam("num_target", 0, maxOutputs); err != nil {
			return nil, err
		}
		numTarget = max(numTarget, 1)
	}
	k := numTarget
	if numClass > 0 {
		if numTarget > 1 {
			return nil, fmt.Errorf("%w: num_class %d with num_target %d", ErrMalformed, numClass, numTarget)
		}
		k = numClass
	}
	m.numFeatures, m.numOutputs = numFeature, k
	m.info.NumFeatures, m.info.NumOutputs = numFeature, k

	objName, err := learner.path("objective", "name").asString("objective.name")
	if err != nil {
		return nil, err
	}
	m.info.Objective = objName
	if m.obj, err = lookupObjective(objName, k); err != nil {
		return nil, err
	}
	m.info.PredColumns = k
	switch {
	case m.obj.transform == transArgmax || m.obj.transform == transSoftmax:
		m.info.NumClasses = k
		if m.obj.transform == transArgmax {
			m.info.PredColumns = 1
		}
	case m.obj.classify:
		if k != 1 {
			return nil, fmt.Errorf("%w: %s with %d outputs", ErrUnsupported, objName, k)
		}
		m.info.NumClasses = 2
	}

	if m.info.FeatureNames, err = learner.get("feature_names").strings("feature_names"); err != nil {
		return nil, err
	}
	if m.info.FeatureTypes, err = learner.get("feature_types").strings("feature_types"); err != nil {
		return nil, err
	}
	if n := len(m.info.FeatureNames); n != 0 && n != numFeature {
		return nil, fmt.Errorf("%w: %d feature_names for num_feature %d", ErrMalformed, n, numFeature)
	}
	if n := len(m.info.FeatureTypes); n != 0 && n != numFeature {
		return nil, fmt.Errorf("%w: %d feature_types for num_feature %d", ErrMalformed, n, numFeature)
	}

	// base_score: probability space, one entry or one per output.
	bs, err := mp.get("base_score").asString("base_score")
	if err != nil {
		return nil, err
	}
	scores, err := parseBaseScore(bs)
	if err != nil {
		return nil, err
	}
	if len(scores) != 1 && len(scores) != k {
		return nil, fmt.Errorf("%w: base_score has %d entries for %d outputs", ErrMalformed, len(scores), k)
	}
	m.base = make([]float32, k)
	for g := range m.base {
		s := scores[0]
		if len(scores) == k {
			s = scores[g]
		}
		if m.base[g], err = m.obj.toMargin(s); err != nil {
			return nil, err
		}
	}
	m.info.BaseMargin = m.base

	gb := learner.get("gradient_booster")
	boosterName, err := gb.get("name").asString("gradient_booster.name")
	if err != nil {
		return nil, err
	}
	m.info.Booster = boosterName
	switch boosterName {
	case "gbtree":
		err = m.buildTrees(gb.get("model"), nil, size)
		if err == nil {
			m.buildHeap()
		}
	case "dart":
		weights, werr := gb.get("weight_drop").floats("weight_drop")
		if werr != nil {
			return nil, werr
		}
		if weights == nil {
			return nil, fmt.Errorf("%w: dart booster without weight_drop", ErrMalformed)
		}
		err = m.buildTrees(gb.path("gbtree", "model"), weights, size)
		if err == nil {
			m.buildHeap()
		}
	case "gblinear":
		err = m.buildLinear(gb.get("model"))
	default:
		return nil, fmt.Errorf("%w: booster %q", ErrUnsupported, boosterName)
	}
	if err != nil {
		return nil, err
	}
	m.info.NumTrees = len(m.trees)
	return m, nil
}

// parseBaseScore reads "0.5", "5E-1" or the list form "[5E-1,2E-1]" into
// float32 values.
func parseBaseScore(s string) ([]float32, error) {
	t := strings.TrimSpace(s)
	if strings.HasPrefix(t, "[") {
		if !strings.HasSuffix(t, "]") {
			return nil, fmt.Errorf("%w: base_score %q", ErrMalformed, truncate(s))
		}
		t = t[1 : len(t)-1]
	}
	parts := strings.Split(t, ",")
	if len(parts) > maxOutputs {
		return nil, fmt.Errorf("%w: base_score has %d entries", ErrMalformed, len(parts))
	}
	out := make([]float32, 0, len(parts))
	for _, p := range parts {
		jp := &jsonParser{data: []byte(strings.TrimSpace(p))}
		if len(jp.data) == 0 {
			return nil, fmt.Errorf("%w: base_score %q", ErrMalformed, truncate(s))
		}
		f, err := jp.parseNumber()
		if err != nil || jp.pos != len(jp.data) {
			return nil, fmt.Errorf("%w: base_score %q", ErrMalformed, truncate(s))
		}
		out = append(out, float32(f))
	}
	return out, nil
}

func (m *Model) buildLinear(mv *value) error {
	w, err := mv.get("weights").floats("gblinear weights")
	if err != nil {
		return err
	}
	k := m.numOutputs
	want := (m.numFeatures + 1) * k
	if len(w) != want {
		return fmt.Errorf("%w: gblinear has %d weights, want (num_feature+1)*outputs = %d", ErrMalformed, len(w), want)
	}
	m.linear = w[:m.numFeatures*k]
	m.bias = w[m.numFeatures*k:]
	return nil
}

// treeArrays holds one tree's per-node arrays as read from the file.
type treeArrays struct {
	left, right, feat []int32
	cond              []float32
	defLeft           []int32
	splitType         []int32
	catNodes          []int32
	catSegs           []int32
	catSizes          []int32
	cats              []int32
	leafWeights       []float32
	leafVec           int
}

func (m *Model) buildTrees(mv *value, dartWeights []float32, size int) error {
	if mv == nil || mv.k != kindObj {
		return fmt.Errorf("%w: no gbtree model object", ErrMalformed)
	}
	tv := mv.get("trees")
	if tv == nil {
		return fmt.Errorf("%w: gbtree model without trees", ErrMalformed)
	}
	if tv.k == kindNums && len(tv.nums) == 0 {
		tv = &value{k: kindArr}
	}
	if tv.k != kindArr {
		return fmt.Errorf("%w: trees is a %s, want array", ErrMalformed, tv.k)
	}
	nTrees := len(tv.arr)
	info, err := mv.get("tree_info").ints("tree_info")
	if err != nil {
		return err
	}
	if len(info) != nTrees {
		return fmt.Errorf("%w: %d trees but %d tree_info entries", ErrMalformed, nTrees, len(info))
	}
	if dartWeights != nil && len(dartWeights) != nTrees {
		return fmt.Errorf("%w: %d trees but %d dart weight_drop entries", ErrMalformed, nTrees, len(dartWeights))
	}
	m.trees = make([]treeRef, 0, nTrees)
	for i := range tv.arr {
		t := &tv.arr[i]
		var a treeArrays
		if err := readTreeArrays(t, &a); err != nil {
			return fmt.Errorf("tree %d: %w", i, err)
		}
		group := info[i]
		if a.leafVec > 1 {
			if a.leafVec != m.numOutputs {
				return fmt.Errorf("tree %d: %w: leaf vectors of size %d for %d outputs", i, ErrMalformed, a.leafVec, m.numOutputs)
			}
			group = 0
		} else if group < 0 || int(group) >= m.numOutputs {
			return fmt.Errorf("tree %d: %w: tree_info %d outside [0, %d)", i, ErrMalformed, group, m.numOutputs)
		}
		var scale func(leaf, base float32) float32
		if dartWeights != nil {
			w := dartWeights[i]
			// XGBoost's dart predictor adds (prediction_with_tree - base) * w,
			// where the single-tree prediction starts from the base margin.
			scale = func(leaf, base float32) float32 {
				p := base + leaf
				d := p - base
				return d * w
			}
		}
		root, depth, err := m.appendTree(&a, int(group), scale, size)
		if err != nil {
			return fmt.Errorf("tree %d: %w", i, err)
		}
		m.trees = append(m.trees, treeRef{root: root, depth: depth, group: group, vector: a.leafVec > 1, heap: -1})
	}
	return nil
}

func readTreeArrays(t *value, a *treeArrays) error {
	if t.k != kindObj {
		return fmt.Errorf("%w: tree is a %s, want object", ErrMalformed, t.k)
	}
	var err error
	get := func(name string, required bool) ([]int32, error) {
		v := t.get(name)
		if v == nil && required {
			return nil, fmt.Errorf("%w: missing %s", ErrMalformed, name)
		}
		return v.ints(name)
	}
	if a.left, err = get("left_children", true); err != nil {
		return err
	}
	if a.right, err = get("right_children", true); err != nil {
		return err
	}
	if a.feat, err = get("split_indices", true); err != nil {
		return err
	}
	if a.defLeft, err = get("default_left", true); err != nil {
		return err
	}
	if a.splitType, err = get("split_type", false); err != nil {
		return err
	}
	if a.catNodes, err = get("categories_nodes", false); err != nil {
		return err
	}
	if a.catSegs, err = get("categories_segments", false); err != nil {
		return err
	}
	if a.catSizes, err = get("categories_sizes", false); err != nil {
		return err
	}
	if a.cats, err = get("categories", false); err != nil {
		return err
	}
	cv := t.get("split_conditions")
	if cv == nil {
		return fmt.Errorf("%w: missing split_conditions", ErrMalformed)
	}
	if a.cond, err = cv.floats("split_conditions"); err != nil {
		return err
	}
	n := len(a.left)
	if n == 0 {
		return fmt.Errorf("%w: tree has no nodes", ErrMalformed)
	}
	for _, l := range []struct {
		name string
		n    int
	}{
		{"right_children", len(a.right)}, {"split_indices", len(a.feat)},
		{"default_left", len(a.defLeft)}, {"split_conditions", len(a.cond)},
	} {
		if l.n != n {
			return fmt.Errorf("%w: %s has %d entries, left_children %d", ErrMalformed, l.name, l.n, n)
		}
	}
	if a.splitType != nil && len(a.splitType) != n {
		if len(a.splitType) != 0 {
			return fmt.Errorf("%w: split_type has %d entries, left_children %d", ErrMalformed, len(a.splitType), n)
		}
		a.splitType = nil
	}
	a.leafVec = 1
	if tp := t.get("tree_param"); tp != nil {
		if v := tp.get("size_leaf_vector"); v != nil {
			if a.leafVec, err = v.asIntParam("size_leaf_vector", 0, maxOutputs); err != nil {
				return err
			}
			a.leafVec = max(a.leafVec, 1)
		}
		if v := tp.get("num_nodes"); v != nil {
			nn, err := v.asIntParam("num_nodes", 0, math.MaxInt32)
			if err != nil {
				return err
			}
			if nn != n {
				return fmt.Errorf("%w: num_nodes %d but %d nodes", ErrMalformed, nn, n)
			}
		}
	}
	if a.leafVec > 1 {
		lw := t.get("leaf_weights")
		if lw == nil {
			return fmt.Errorf("%w: vector-leaf tree without leaf_weights (XGBoost 2.x multi-target layout)", ErrUnsupported)
		}
		if a.leafWeights, err = lw.floats("leaf_weights"); err != nil {
			return err
		}
	}
	return nil
}

// appendTree validates one tree and appends its reachable nodes to m.nodes in
// breadth-first order with the two children of each split adjacent. It
// returns the index of the root.
func (m *Model) appendTree(a *treeArrays, group int, scale func(leaf, base float32) float32, size int) (root, depth int32, err error) {
	n := len(a.left)
	if len(m.nodes)+n > math.MaxInt32/2 {
		return 0, 0, fmt.Errorf("%w: too many nodes", ErrMalformed)
	}
	// Categorical node -> index into catNodes.
	var catOf map[int32]int
	if len(a.catNodes) > 0 {
		if len(a.catSegs) != len(a.catNodes) || len(a.catSizes) != len(a.catNodes) {
			return 0, 0, fmt.Errorf("%w: categories_nodes/segments/sizes lengths differ", ErrMalformed)
		}
		catOf = make(map[int32]int, len(a.catNodes))
		for i, nid := range a.catNodes {
			if nid < 0 || int(nid) >= n {
				return 0, 0, fmt.Errorf("%w: categories_nodes[%d] = %d outside the tree", ErrMalformed, i, nid)
			}
			catOf[nid] = i
		}
	}
	root = int32(len(m.nodes))
	visited := make([]bool, n)
	// queue of (original node id, new index)
	type item struct{ orig, idx, depth int32 }
	queue := make([]item, 0, n)
	m.nodes = append(m.nodes, node{})
	m.vals = append(m.vals, 0)
	queue = append(queue, item{0, root, 0})
	depth = 0
	visited[0] = true
	for qi := 0; qi < len(queue); qi++ {
		it := queue[qi]
		o := it.orig
		depth = max(depth, it.depth)
		if a.left[o] == -1 {
			v, err := m.leafValue(a, o, group, scale)
			if err != nil {
				return 0, 0, err
			}
			m.nodes[it.idx] = node{thr: float32(math.NaN()), info: flagLeaf, left: it.idx}
			m.vals[it.idx] = v
			continue
		}
		if it.depth >= maxDepth {
			return 0, 0, fmt.Errorf("%w: tree deeper than %d", ErrMalformed, maxDepth)
		}
		l, r := a.left[o], a.right[o]
		if l <= 0 || r <= 0 || int(l) >= n || int(r) >= n || l == r {
			return 0, 0, fmt.Errorf("%w: node %d has children %d, %d outside (0, %d)", ErrMalformed, o, l, r, n)
		}
		if visited[l] || visited[r] {
			return 0, 0, fmt.Errorf("%w: node %d: a child is reached twice (cycle or shared node)", ErrMalformed, o)
		}
		visited[l], visited[r] = true, true
		f := a.feat[o]
		if f < 0 || int(f) >= m.numFeatures {
			return 0, 0, fmt.Errorf("%w: node %d splits on feature %d, model has %d", ErrMalformed, o, f, m.numFeatures)
		}
		info := uint32(f)
		if a.defLeft[o] != 0 {
			info |= flagDefaultLeft
		}
		var thr float32
		if a.splitType != nil && a.splitType[o] == 1 {
			ci, ok := catOf[o]
			if !ok {
				return 0, 0, fmt.Errorf("%w: categorical node %d has no categories entry", ErrMalformed, o)
			}
			off, err := m.addCatSet(a, ci, size)
			if err != nil {
				return 0, 0, fmt.Errorf("node %d: %w", o, err)
			}
			info |= flagSpecial | flagCategorical
			thr = math.Float32frombits(off)
		} else {
			if a.splitType != nil && a.splitType[o] != 0 {
				return 0, 0, fmt.Errorf("%w: node %d has split_type %d", ErrUnsupported, o, a.splitType[o])
			}
			thr = leThreshold(a.cond[o])
			if thr != thr {
				info |= flagSpecial
			}
		}
		li := int32(len(m.nodes))
		m.nodes = append(m.nodes, node{}, node{})
		m.vals = append(m.vals, 0, 0)
		m.nodes[it.idx] = node{thr: thr, info: info, left: li}
		queue = append(queue, item{l, li, it.depth + 1}, item{r, li + 1, it.depth + 1})
	}
	return root, depth, nil
}

// leafValue returns the value stored for leaf o: its (dart-scaled) value, or
// for a vector leaf the offset of its values in m.vecs as raw bits.
func (m *Model) leafValue(a *treeArrays, o int32, group int, scale func(leaf, base float32) float32) (float32, error) {
	if a.leafVec <= 1 {
		v := a.cond[o]
		if scale != nil {
			v = scale(v, m.base[group])
		}
		return v, nil
	}
	j, kk := a.right[o], a.leafVec
	if j < 0 || (int(j)+1)*kk > len(a.leafWeights) {
		return 0, fmt.Errorf("%w: node %d: leaf index %d outside leaf_weights", ErrMalformed, o, j)
	}
	off := len(m.vecs)
	if off > math.MaxInt32-kk {
		return 0, fmt.Errorf("%w: too many leaf values", ErrMalformed)
	}
	for g := 0; g < kk; g++ {
		v := a.leafWeights[int(j)*kk+g]
		if scale != nil {
			v = scale(v, m.base[g])
		}
		m.vecs = append(m.vecs, v)
	}
	return math.Float32frombits(uint32(off)), nil
}

// leThreshold turns XGBoost's "go left iff x < t" into the canonical
// "go left iff x <= thr" for every non-NaN float32 x.
func leThreshold(t float32) float32 {
	switch {
	case math.IsNaN(float64(t)):
		return t // x < NaN and x <= NaN are both false
	case math.IsInf(float64(t), -1):
		return float32(math.NaN()) // x < -Inf is never true
	}
	return math.Nextafter32(t, float32(math.Inf(-1)))
}

// addCatSet stores the category set of categorical entry ci in m.cats and
// returns its offset. A set is a header word followed by either a bitset
// (header = number of words) or, when a bitset would be much larger than the
// list, the sorted list itself (header = catSorted | length).
func (m *Model) addCatSet(a *treeArrays, ci int, size int) (uint32, error) {
	seg, sz := a.catSegs[ci], a.catSizes[ci]
	if seg < 0 || sz < 0 || int(seg)+int(sz) > len(a.cats) {
		return 0, fmt.Errorf("%w: category segment [%d, +%d) outside %d categories", ErrMalformed, seg, sz, len(a.cats))
	}
	list := a.cats[seg : seg+sz]
	maxc := int32(-1)
	for _, c := range list {
		if c < 0 {
			return 0, fmt.Errorf("%w: negative category %d", ErrMalformed, c)
		}
		maxc = max(maxc, c)
	}
	off := len(m.cats)
	if off > math.MaxInt32 {
		return 0, fmt.Errorf("%w: too many categories", ErrMalformed)
	}
	words := int(maxc)/32 + 1
	if maxc < 0 {
		words = 0
	}
	if words <= 4*len(list)+64 {
		m.cats = append(m.cats, uint32(words))
		start := len(m.cats)
		m.cats = append(m.cats, make([]uint32, words)...)
		for _, c := range list {
			m.cats[start+int(c)/32] |= 1 << (uint(c) % 32)
		}
		return uint32(off), nil
	}
	sorted := make([]uint32, 0, len(list))
	for _, c := range list {
		sorted = append(sorted, uint32(c))
	}
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	m.cats = append(m.cats, catSorted|uint32(len(sorted)))
	m.cats = append(m.cats, sorted...)
	return uint32(off), nil
}
