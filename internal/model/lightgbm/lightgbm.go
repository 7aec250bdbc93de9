package lightgbm

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/batchinfer/batchinfer/internal/model"
)

var _ model.Predictor = (*Model)(nil)

// Model is a loaded LightGBM model. It is immutable after Load and safe for
// concurrent use.
type Model struct {
	info model.Info
	obj  objective

	numFeatures int
	numOutputs  int
	numIters    int // trees / num_tree_per_iteration (the rf divisor)
	average     bool

	// used[c] is the input feature held in column c of the evaluation
	// buffer (see fillBlock); only features that some split or linear leaf
	// reads are copied.
	used   []int32
	stride int // buffer columns: 2*len(used)+1 (see fillGroup)

	nodes   []node
	trees   []treeRef
	leafVal []float64 // leaf_value of each leaf node (by node index)
	leafNum []int32   // LightGBM leaf index of each leaf node
	cats    []uint32  // all categorical bitsets
	catSpan [][2]int32

	// Linear leaves (only for models with is_linear trees): lin[i] for leaf
	// node i, terms linCol/linCoef[lin[i].off:lin[i].end].
	lin     []linLeaf
	linCol  []int32 // buffer column
	linCoef []float64

	blockRows int
	bufPool   sync.Pool // *[]float64 of blockRows*stride
}

type linLeaf struct {
	c        float64 // leaf_const
	off, end int32
}

// Info returns a description of the model. The slices are shared with the
// model and must not be modified.
func (m *Model) Info() model.Info { return m.info }

// IsLightGBM reports whether data looks like a LightGBM text model: its first
// non-blank line is "tree", or one of its first lines starts with
// "version=v". It does not validate the model.
func IsLightGBM(data []byte) bool {
	head := data[:min(len(data), 4096)]
	head = bytes.TrimLeft(head, " \t\r\n")
	if bytes.HasPrefix(head, []byte("tree\n")) || bytes.HasPrefix(head, []byte("tree\r\n")) {
		return true
	}
	for ln := range bytes.Lines(head) {
		if bytes.HasPrefix(ln, []byte("version=v")) {
			return true
		}
	}
	return false
}

// Load parses a LightGBM text model (version=v2, v3 or v4) from its bytes.
//
// Errors wrap model.ErrMalformed for invalid input and model.ErrUnsupported
// for valid models using something this package does not implement (an
// unknown objective, a pre-2.0 file).
func Load(data []byte) (*Model, error) {
	rm, err := parseText(string(data))
	if err != nil {
		return nil, err
	}
	obj, err := parseObjective(rm.objective, rm.treesPerIter)
	if err != nil {
		return nil, err
	}
	k := rm.treesPerIter
	if len(rm.trees)%k != 0 {
		return nil, malformed("%d trees is not a multiple of num_tree_per_iteration=%d", len(rm.trees), k)
	}
	m := &Model{
		obj:         obj,
		numFeatures: rm.maxFeatureIdx + 1,
		numOutputs:  k,
		numIters:    len(rm.trees) / k,
		average:     rm.averageOutput,
	}
	if err := m.build(rm); err != nil {
		return nil, err
	}
	m.info = model.Info{
		Framework:    "lightgbm",
		Format:       "text",
		Booster:      boosterName(rm),
		Objective:    rm.objective,
		NumFeatures:  m.numFeatures,
		FeatureNames: rm.featureNames,
		NumOutputs:   k,
		NumClasses:   obj.numClasses,
		PredColumns:  k,
		NumTrees:     len(rm.trees),
	}
	m.blockRows = max(lanes, min(maxBlockRows, blockBudget/m.stride)/lanes*lanes)
	size := m.blockRows * m.stride
	m.bufPool.New = func() any {
		b := make([]float64, size)
		return &b
	}
	return m, nil
}

func boosterName(rm *rawModel) string {
	switch b := rm.boosting; {
	case b == "gbdt" && rm.dataSample == "goss":
		return "goss"
	case b == "random_forest":
		return "rf"
	case b != "":
		return b
	case rm.averageOutput:
		return "rf"
	}
	return "gbdt"
}

// build validates the trees and flattens them into m.nodes.
func (m *Model) build(rm *rawModel) error {
	nf := m.numFeatures
	// Columns: every feature some split or linear leaf reads, in index order.
	colOf := map[int32]int32{}
	mark := func(f int32) error {
		if f < 0 || int(f) >= nf {
			return malformed("feature index %d out of range [0, %d)", f, nf)
		}
		colOf[f] = 0
		return nil
	}
	total := 0
	for ti := range rm.trees {
		t := &rm.trees[ti]
		for _, f := range t.splitFeature {
			if err := mark(f); err != nil {
				return fmt.Errorf("tree %d: %w", ti, err)
			}
		}
		for _, f := range t.leafFeatures {
			if err := mark(f); err != nil {
				return fmt.Errorf("tree %d: linear leaf: %w", ti, err)
			}
		}
		total += 2*t.numLeaves - 1
	}
	if total > maxNodes {
		return malformed("%d nodes exceed the limit %d", total, maxNodes)
	}
	m.used = make([]int32, 0, len(colOf))
	for f := range colOf {
		m.used = append(m.used, f)
	}
	slices.Sort(m.used)
	for c, f := range m.used {
		colOf[f] = int32(c)
	}
	nu := len(m.used)
	if nu > maxUsedFeatures {
		return fmt.Errorf("%w: lightgbm: %d distinct split features (limit %d)", model.ErrUnsupported, nu, maxUsedFeatures)
	}
	m.stride = 2*nu + 1

	m.nodes = make([]node, 0, total)
	m.leafVal = make([]float64, 0, total)
	m.leafNum = make([]int32, 0, total)
	m.trees = make([]treeRef, 0, len(rm.trees))
	for ti := range rm.trees {
		if err := m.addTree(&rm.trees[ti], int32(ti%m.numOutputs), colOf); err != nil {
			return fmt.Errorf("tree %d: %w", ti, err)
		}
	}
	m.encode()
	return nil
}

// encode turns node and column indices into the byte offsets the kernels
// use: child and root offsets into nodes (index*16), and for non-special
// nodes the offset of the column in a lane group (column*lanes*8).
func (m *Model) encode() {
	for i := range m.nodes {
		n := &m.nodes[i]
		n.child *= nodeStep
		if n.col&flagSpecial == 0 {
			n.col *= lanes * 8
		}
	}
	for i := range m.trees {
		m.trees[i].root *= nodeStep
	}
}

// ref is a child reference as in the file: >= 0 an internal node, < 0 the
// leaf ^ref.
type ref = int32

// addTree validates t (children in range, every node reached exactly once
// from the root) and appends its nodes in breadth-first order, the two
// children of a split adjacent.
func (m *Model) addTree(t *rawTree, out int32, colOf map[int32]int32) error {
	n := t.numLeaves
	nu := int32(len(m.used))
	constCol := 2 * nu
	base := int32(len(m.nodes))
	tr := treeRef{root: uint32(base), out: out}
	var linOff []int32 // offset of each leaf's terms in t.leafFeatures
	if t.isLinear {
		tr.kind |= treeLinear
		if m.lin == nil {
			m.lin = make([]linLeaf, cap(m.nodes))
		}
		linOff = make([]int32, n)
		o := int32(0)
		for l, c := range t.numFeatures {
			linOff[l] = o
			o += c
		}
	}
	catBase := int32(len(m.catSpan))
	for i := 0; i+1 < len(t.catBoundaries); i++ {
		lo, hi := t.catBoundaries[i], t.catBoundaries[i+1]
		off := int32(len(m.cats))
		m.cats = append(m.cats, t.catThreshold[lo:hi]...)
		m.catSpan = append(m.catSpan, [2]int32{off, off + hi - lo})
	}
	numCat := int32(max(0, len(t.catBoundaries)-1))

	seenInner := make([]bool, n-1)
	seenLeaf := make([]bool, n)
	type item struct {
		r     ref
		at    int32
		level int32
	}
	queue := make([]item, 0, 2*n-1)
	m.nodes = m.nodes[:base+1]
	m.leafVal = m.leafVal[:base+1]
	m.leafNum = m.leafNum[:base+1]
	if n == 1 {
		queue = append(queue, item{r: ^0, at: base})
		seenLeaf[0] = true
	} else {
		queue = append(queue, item{r: 0, at: base})
		seenInner[0] = true
	}
	visit := func(r ref) error {
		if r >= 0 {
			if int(r) >= n-1 {
				return malformed("child %d out of range (%d splits)", r, n-1)
			}
			if seenInner[r] {
				return malformed("node %d reached twice (cycle or shared child)", r)
			}
			seenInner[r] = true
			return nil
		}
		l := ^r
		if int(l) >= n {
			return malformed("leaf %d out of range (%d leaves)", l, n)
		}
		if seenLeaf[l] {
			return malformed("leaf %d reached twice", l)
		}
		seenLeaf[l] = true
		return nil
	}
	for qi := 0; qi < len(queue); qi++ {
		it := queue[qi]
		if it.r < 0 {
			l := ^it.r
			m.nodes[it.at] = node{thr: math.Inf(-1), col: uint32(constCol), child: uint32(it.at)}
			m.leafVal[it.at] = t.leafValue[l]
			m.leafNum[it.at] = l
			if tr.depth == 0 || it.level < tr.short {
				tr.short = it.level
			}
			tr.depth = max(tr.depth, it.level)
			if t.isLinear {
				m.addLinear(t, l, linOff[l], it.at, colOf)
			}
			continue
		}
		i := it.r
		lc, rc := t.left[i], t.right[i]
		if err := visit(lc); err != nil {
			return err
		}
		if err := visit(rc); err != nil {
			return err
		}
		first := int32(len(m.nodes))
		m.nodes = append(m.nodes, node{}, node{})
		m.leafVal = append(m.leafVal, 0, 0)
		m.leafNum = append(m.leafNum, -1, -1)
		col := uint32(colOf[t.splitFeature[i]])
		nd, leftSecond, special := splitNode(t.threshold[i], t.decisionType[i], col, uint32(nu), uint32(constCol))
		if special {
			tr.kind |= treeSpecial
			if t.decisionType[i]&1 != 0 {
				if !(t.threshold[i] >= 0 && t.threshold[i] < float64(numCat)) {
					return malformed("categorical split %d: threshold %v is not a category set index in [0, %d)", i, t.threshold[i], numCat)
				}
				ci := int32(t.threshold[i]) // C++ static_cast<int>
				nd.thr = float64(catBase + ci)
			}
		}
		nd.child = uint32(first)
		m.nodes[it.at] = nd
		a, b := lc, rc // (first, second)
		if leftSecond {
			a, b = rc, lc
		}
		queue = append(queue, item{r: a, at: first, level: it.level + 1}, item{r: b, at: first + 1, level: it.level + 1})
	}
	for i, s := range seenInner {
		if !s {
			return malformed("split %d not reachable from the root", i)
		}
	}
	for i, s := range seenLeaf {
		if !s {
			return malformed("leaf %d not reachable from the root", i)
		}
	}
	m.trees = append(m.trees, tr)
	return nil
}

// addLinear records the linear model of leaf (file index) at node at; off is
// the offset of its terms in t.leafFeatures.
func (m *Model) addLinear(t *rawTree, leaf, off, at int32, colOf map[int32]int32) {
	cnt := t.numFeatures[leaf]
	ll := linLeaf{c: t.leafConst[leaf], off: int32(len(m.linCol))}
	for j := off; j < off+cnt; j++ {
		m.linCol = append(m.linCol, colOf[t.leafFeatures[j]])
		m.linCoef = append(m.linCoef, t.leafCoeff[j])
	}
	ll.end = int32(len(m.linCol))
	m.lin[at] = ll
}
