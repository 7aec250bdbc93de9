package model

import "math"

// node is one entry of the flattened tree array (12 bytes).
//
// A split node sends a row to nodes[left] when its feature value x satisfies
// x <= thr and to nodes[left+1] otherwise (the children are adjacent).
// XGBoost's strict "x < t" is stored as thr = the largest float32 below t. A
// missing value (NaN) is replaced before the comparison by -Inf when
// flagDefaultLeft is set and by +Inf otherwise, which sends it the default
// way for every non-NaN thr. Nodes where that substitution does not hold
// (categorical splits, NaN thresholds) carry flagSpecial and take a slower
// path; for categorical splits thr holds, as raw bits, the offset of the
// category set in Model.cats.
//
// A leaf has thr = NaN and left = its own index, so stepping from a leaf
// stays there; this lets several rows descend one tree in lock-step for a
// fixed number of levels (the tree's depth) without testing for leaves. Its
// value is Model.vals[index] (for vector leaves, the offset of its values in
// Model.vecs, as raw bits).
type node struct {
	thr  float32
	info uint32 // feature index | flags
	left int32
}

const (
	flagLeaf        uint32 = 1 << 31
	flagSpecial     uint32 = 1 << 30
	flagDefaultLeft uint32 = 1 << 29
	flagCategorical uint32 = 1 << 28
	featMask        uint32 = 1<<28 - 1

	catSorted uint32 = 1 << 31 // category set header: sorted list, not bitset
)

type treeRef struct {
	root   int32
	depth  int32 // levels from root to the deepest leaf
	group  int32 // output the tree adds to
	vector bool  // leaves add a vector to all outputs
	heap   int32 // index in Model.heaps, or -1: general path
}

// lanes is the number of rows that descend a tree in lock-step on the
// general path; their independent memory loads overlap. blockRows rows are
// evaluated tree by tree so that a block's rows stay in cache (the fast path
// in forest.go sizes its blocks itself). minHeapRows is the smallest call
// that uses the fast path: below it, padding its lanes costs more than it
// saves. None of these affects results: every row's margin is accumulated
// in tree order, and both paths compute the same margins.
const (
	lanes       = 8
	blockRows   = 128
	minHeapRows = 4
)

// PredictMargin writes rows x NumOutputs raw margins (row-major) into out for
// x, a row-major rows x NumFeatures float32 matrix in which NaN marks a
// missing value. Each output starts at its base margin (Info.BaseMargin) and
// adds the leaf value of every tree for that output, in float32, in file
// order, exactly as XGBoost does; results do not depend on rows or on how a
// data set is split into calls. PredictMargin does not allocate and is safe
// for concurrent use on disjoint out buffers. It panics if len(x) <
// rows*NumFeatures or len(out) < rows*NumOutputs.
func (m *Model) PredictMargin(x []float32, rows int, out []float32) {
	m.checkShapes(len(x), rows, len(out), m.numOutputs)
	if m.bias != nil {
		m.predictLinear(x, rows, out)
		return
	}
	if m.heaps == nil || rows < minHeapRows {
		m.predictGeneral(x, rows, out)
		return
	}
	m.predictFast(x, rows, out)
}

// predictFast is PredictMargin with the fast path for the heap-ordered trees
// (a separate function so that small calls do not pay for its 16 KiB stack
// buffer).
func (m *Model) predictFast(x []float32, rows int, out []float32) {
	k := m.numOutputs
	nf := m.numFeatures
	block := m.blockRows
	var stack [tileBytes / 4]uint32
	tiles := stack[:]
	if need := block * 2 * len(m.tileFeat); need > len(tiles) {
		// Wider than the stack buffer (> 256 features in use).
		p, ok := m.tilePool.Get().(*[]uint32)
		if !ok {
			b := make([]uint32, need)
			p = &b
		}
		defer m.tilePool.Put(p)
		tiles = *p
	}
	ts := 2 * len(m.tileFeat) * hlanes
	for r0 := 0; r0 < rows; r0 += block {
		r1 := min(r0+block, rows)
		for r := r0; r < r1; r++ {
			copy(out[r*k:(r+1)*k], m.base)
		}
		fillTiles(tiles, x[r0*nf:r1*nf], r1-r0, nf, m.tileFeat)
		for ti := range m.trees {
			t := &m.trees[ti]
			if t.heap >= 0 {
				m.evalHeap(&m.heaps[t.heap], tiles, r1-r0, ts, out[r0*k:r1*k], k, int(t.group))
			} else {
				m.evalTree(t, x, r0, r1, out)
			}
		}
	}
}

// predictGeneral is PredictMargin on the general path only.
func (m *Model) predictGeneral(x []float32, rows int, out []float32) {
	k := m.numOutputs
	for r0 := 0; r0 < rows; r0 += blockRows {
		r1 := min(r0+blockRows, rows)
		for r := r0; r < r1; r++ {
			copy(out[r*k:(r+1)*k], m.base)
		}
		for ti := range m.trees {
			m.evalTree(&m.trees[ti], x, r0, r1, out)
		}
	}
}

// evalTree adds tree t's leaves for rows [r0, r1) to out on the general
// path: lanes rows in lock-step, then the remaining rows one by one.
func (m *Model) evalTree(t *treeRef, x []float32, r0, r1 int, out []float32) {
	k := m.numOutputs
	nf := m.numFeatures
	r := r0
	for ; r+lanes <= r1; r += lanes {
		var idx [lanes]int32
		m.descend(t, x[r*nf:(r+lanes)*nf], nf, &idx)
		for j, leaf := range idx {
			m.addLeaf(t, leaf, out[(r+j)*k:(r+j+1)*k])
		}
	}
	for ; r < r1; r++ {
		leaf := m.walk(t.root, x[r*nf:(r+1)*nf])
		m.addLeaf(t, leaf, out[r*k:(r+1)*k])
	}
}

func (m *Model) addLeaf(t *treeRef, leaf int32, dst []float32) {
	if !t.vector {
		dst[t.group] += m.vals[leaf]
		return
	}
	off := int(math.Float32bits(m.vals[leaf]))
	for g, v := range m.vecs[off : off+len(dst)] {
		dst[g] += v
	}
}

// descend moves lanes rows (x holds lanes*nf values) from the root of t to
// their leaves, one level at a time.
func (m *Model) descend(t *treeRef, x []float32, nf int, idx *[lanes]int32) {
	nodes := m.nodes
	for j := range idx {
		idx[j] = t.root
	}
	_ = x[lanes*nf-1]
	for d := int32(0); d < t.depth; d++ {
		for j := 0; j < lanes; j++ {
			i := idx[j]
			n := &nodes[i]
			if n.info&flagSpecial != 0 {
				idx[j] = m.stepSpecial(n, x[j*nf:(j+1)*nf])
				continue
			}
			v := x[j*nf+int(n.info&featMask)]
			if v != v {
				v = nanSubstitute(n.info)
			}
			next := n.left
			if v > n.thr {
				next++
			}
			idx[j] = next
		}
		if d >= 8 && d&3 == 3 && m.allLeaves(idx) {
			return
		}
	}
}

func (m *Model) allLeaves(idx *[lanes]int32) bool {
	acc := flagLeaf
	for _, i := range idx {
		acc &= m.nodes[i].info
	}
	return acc != 0
}

func nanSubstitute(info uint32) float32 {
	if info&flagDefaultLeft != 0 {
		return float32(math.Inf(-1))
	}
	return float32(math.Inf(1))
}

// walk descends one tree from node i for one row and returns the leaf index.
func (m *Model) walk(i int32, row []float32) int32 {
	nodes := m.nodes
	for {
		n := &nodes[i]
		if n.info&(flagLeaf|flagSpecial) != 0 {
			if n.info&flagLeaf != 0 {
				return i
			}
			i = m.stepSpecial(n, row)
			continue
		}
		v := row[n.info&featMask]
		if v != v {
			v = nanSubstitute(n.info)
		}
		i = n.left
		if v > n.thr {
			i++
		}
	}
}

// stepSpecial returns the child of a categorical split or of a numeric split
// whose threshold is NaN.
func (m *Model) stepSpecial(n *node, row []float32) int32 {
	v := row[n.info&featMask]
	left := false
	switch {
	case v != v:
		left = n.info&flagDefaultLeft != 0
	case n.info&flagCategorical != 0:
		left = m.catLeft(n, v)
	default:
		left = v <= n.thr
	}
	if left {
		return n.left
	}
	return n.left + 1
}

// catLeft reports whether a non-NaN x goes left at categorical split n: a
// category listed in the node's set goes right; anything else, including
// negative values, values >= 2^24 and unseen categories, goes left.
func (m *Model) catLeft(n *node, x float32) bool {
	if x < 0 || x >= maxCategory {
		return true
	}
	c := uint32(x) // truncation, as XGBoost's static_cast<int>
	off := math.Float32bits(n.thr)
	hdr := m.cats[off]
	set := m.cats[off+1:]
	if hdr&catSorted == 0 {
		w := c / 32
		return w >= hdr || set[w]&(1<<(c%32)) == 0
	}
	set = set[:hdr&^catSorted]
	lo, hi := 0, len(set)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if set[mid] < c {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo >= len(set) || set[lo] != c
}

// predictLinear evaluates a gblinear model: margin[g] = (bias[g] + base[g])
// + sum over non-missing features of x[f]*w[f][g], in float32 in feature
// order, as XGBoost does.
func (m *Model) predictLinear(x []float32, rows int, out []float32) {
	k := m.numOutputs
	nf := m.numFeatures
	for r := 0; r < rows; r++ {
		row := x[r*nf : (r+1)*nf]
		for g := 0; g < k; g++ {
			psum := m.bias[g] + m.base[g]
			for f, v := range row {
				if v != v {
					continue
				}
				psum += float32(v * m.linear[f*k+g]) // explicit rounding: no FMA
			}
			out[r*k+g] = psum
		}
	}
}
