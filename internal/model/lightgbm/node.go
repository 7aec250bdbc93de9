package lightgbm

import "math"

// zeroThreshold is LightGBM's kZeroThreshold, 1e-35f widened to float64: its
// text parser reads any |v| <= zeroThreshold as 0, and missing type Zero
// treats such values as missing.
const zeroThreshold = 1.0000000180025095e-35

// node is one entry of the flattened tree array (16 bytes). Prediction first
// copies rows into an evaluation buffer (see fillBlock) holding, for the used
// features, the value v (|v| <= zeroThreshold replaced by +0), then -v, then
// one constant 0 column. A split node's two children are adjacent, at
// offsets child and child+nodeStep in the node array (offsets count 8-byte
// units, so that the kernel's address arithmetic is one scaled index); a row
// goes to the second one when its buffer value b = buf[col] satisfies
// b <= thr, and to the first one otherwise, NaN included:
//
//	next = child + nodeStep*[b <= thr]
//
// LightGBM's numerical rule (x <= threshold goes left, NaN to the default or
// treated as 0 by missing type) maps onto it:
//
//   - NaN goes right: col = v, thr = threshold, children (right, left);
//   - NaN goes left: col = -v, thr = -nextafter(threshold, +Inf), children
//     (left, right), since -v <= -nextafter(t, +Inf) iff v > t;
//   - threshold +Inf with NaN left: col = the constant 0, thr = +Inf
//     (always the second child, left).
//
// Missing type Zero fits when default_left and threshold >= 0, or default
// right and threshold < 0. Everything else (categorical splits, the other
// Zero cases, NaN thresholds) carries flagSpecial and takes stepSpecial; its
// col holds the value column and the decision bits, its children are
// (right, left) and thr is the threshold or, for categorical splits, the
// index of its bitset in Model.catSpan.
//
// A leaf reads the constant column with thr = -Inf and child = its own
// offset, so stepping from a leaf stays there: rows can descend a tree in
// lock-step without testing for leaves.
//
// Non-special col values are byte offsets into a lane group (column index *
// lanes * 8); child and tree roots are offsets into the node array in 8-byte
// units (node index * nodeStep).
type node struct {
	thr   float64
	col   uint32
	child uint32
}

const (
	nodeStep        = 2       // node offsets count 8-byte units: a node is 2
	maxNodes        = 1 << 26 // so that byte offsets fit int32
	maxUsedFeatures = 1 << 22 // so that column byte offsets fit 31 bits

	flagSpecial uint32 = 1 << 31
	flagCat     uint32 = 1 << 30
	flagDefLeft uint32 = 1 << 29
	missShift          = 27 // 2 bits: LightGBM missing type
	colMask     uint32 = 1<<missShift - 1
)

// treeRef locates a tree in Model.nodes.
type treeRef struct {
	root  uint32
	depth int32 // levels from the root to the deepest leaf
	short int32 // levels from the root to the shallowest leaf
	out   int32 // output the tree adds to
	kind  uint8
}

const (
	treeSpecial uint8 = 1 << iota // has flagSpecial nodes
	treeLinear                    // linear leaves
)

// splitNode encodes a LightGBM numerical or categorical split on buffer
// column col (nu used features; constCol the constant column). leftSecond
// reports that the file's left child goes to the node's second (b <= thr)
// slot; special that the node needs stepSpecial.
func splitNode(t float64, dt uint8, col, nu, constCol uint32) (nd node, leftSecond, special bool) {
	if dt&1 != 0 {
		return node{col: flagSpecial | flagCat | col}, true, true
	}
	missing := uint32(dt>>2) & 3
	defLeft := dt&2 != 0
	sp := node{thr: t, col: flagSpecial | missing<<missShift | col}
	if defLeft {
		sp.col |= flagDefLeft
	}
	if math.IsNaN(t) {
		return sp, true, true
	}
	var nanLeft bool
	switch missing {
	case 1: // Zero: NaN and 0 go the default way
		if defLeft != (t >= 0) {
			return sp, true, true
		}
		nanLeft = defLeft
	case 2: // NaN
		nanLeft = defLeft
	default: // None (and the unused 3): NaN is read as 0
		nanLeft = 0 <= t
	}
	switch {
	case !nanLeft:
		return node{thr: t, col: col}, true, false
	case math.IsInf(t, 1):
		return node{thr: math.Inf(1), col: constCol}, true, false
	}
	return node{thr: -math.Nextafter(t, math.Inf(1)), col: nu + col}, false, false
}

// stepSpecial applies LightGBM's own decision rule at special node n to the
// buffer value v (zero-thresholded, NaN kept) and returns the child's node
// offset.
func (m *Model) stepSpecial(n *node, v float64) uint32 {
	var left bool
	if n.col&flagCat != 0 {
		left = m.catLeft(int(n.thr), v)
	} else {
		missing := (n.col >> missShift) & 3
		isNaN := v != v
		if isNaN && missing != 2 {
			v, isNaN = 0, false
		}
		if (missing == 1 && v >= -zeroThreshold && v <= zeroThreshold) || (missing == 2 && isNaN) {
			left = n.col&flagDefLeft != 0
		} else {
			left = v <= n.thr
		}
	}
	if left {
		return n.child + nodeStep
	}
	return n.child
}

// catLeft reports whether v goes left at a categorical split with bitset
// catSpan[set]: NaN and int(v) < 0 go right (as do v >= 2^31, where C++'s
// int conversion yields INT_MIN); category c goes left iff bit c%32 of word
// c/32 is set, and categories beyond the bitset go right.
func (m *Model) catLeft(set int, v float64) bool {
	if !(v > -1 && v < 1<<31) {
		return false
	}
	c := uint32(int32(v)) // truncation toward zero; v in (-1, 0) is category 0
	span := m.catSpan[set]
	words := m.cats[span[0]:span[1]]
	w := int(c / 32)
	return w < len(words) && words[w]>>(c%32)&1 != 0
}
