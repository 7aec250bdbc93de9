package model

import (
	"math"
	"unsafe"
)

// The fast path (XGBoost margins, bit-identical to the general path).
//
// Most trees XGBoost grows are plain: numeric splits with non-NaN thresholds
// and scalar leaves, and close to complete up to their depth D. At load time
// such a tree is re-laid out as a complete binary tree of depth D in 1-based
// heap order (the children of inner node i are 2i and 2i+1), so a node needs
// no child index: 8 bytes, a threshold key and a tile offset. A leaf above
// depth D becomes a pass-through node (threshold +Inf: every value goes left)
// whose descendants all carry its value, so every row takes exactly D steps
// and ends at heap position 2^D + j, the j-th of 2^D leaf slots.
//
// Rows are evaluated in blocks. For each block the features the heap trees
// use are copied into tiles of hlanes rows, transposed (feature-major, so the
// hlanes rows of a tile read one feature at consecutive addresses) and
// converted to order-preserving integer keys (orderKey), twice: once with
// NaN replaced by the key of -Inf and once by the key of +Inf. A split with
// default_left reads the first copy, one without reads the second: every
// threshold is a non-NaN float32 below +Inf (the "x <= thr" form of XGBoost's
// "x < t"), so -Inf always goes left and +Inf always right, which is where
// XGBoost sends a missing value. A step is then two loads, an integer
// subtraction whose sign bit is the direction, and i = 2i + bit: no
// data-dependent branch and no NaN test. hlanes rows descend together so
// their dependency chains overlap.
//
// Trees that do not qualify (categorical splits, NaN thresholds, vector
// leaves, deep sparse trees) are evaluated by the general path in eval.go in
// their place in tree order, so every output still adds its leaves in file
// order and results do not depend on which path a tree takes, on the block
// size or on how rows are split into calls.
//
// The descent indexes without bounds checks (unsafe) because the indices are
// bounded by construction, independently of the input values: a heap position
// after d < D steps is below 2^D = len(nodes), a tile offset is below
// 2*len(tileFeat)*hlanes*4 bytes = the tile's size (buildHeap only writes
// offsets of existing slots), and a final position minus 2^D is below
// 2^D = len(leaves). Bounds-checked indexing measured about 10% slower.

// hnode is an inner node of a heap-ordered tree: a row goes to child 2i
// (left) iff its tile key at off <= thr, else to 2i+1.
type hnode struct {
	thr uint32 // thrKey of the threshold
	off uint32 // byte offset of the feature's slot in a tile (slot*hlanes*4)
}

// heapTree locates one heap-ordered tree in Model.hnodes and Model.hleaves.
type heapTree struct {
	nodes  int32 // offset of its 2^depth nodes in Model.hnodes (index 0 unused)
	leaves int32 // offset of its 2^depth leaf values in Model.hleaves
	depth  int32
}

const (
	// hlanes is the number of rows that descend a heap-ordered tree
	// together (descend8 is written out for 8). More lanes did not help:
	// Go keeps 8 lane indices in registers, not 16.
	hlanes = 8
	// maxHeapDepth bounds the depth of a tree laid out in heap order.
	maxHeapDepth = 14
	// tileBytes is the target size of a block's tiles (both copies): small
	// enough to stay in L1 together with the tree being evaluated. 4-32 KiB
	// measured within 5% of each other.
	tileBytes = 16 << 10
)

// heapWorthwhile reports whether a tree of depth d with n reachable nodes
// should be laid out in heap order: always up to depth 6 (768 bytes), deeper
// only if its 2^(d+1) heap slots are at most 8 times its nodes, which also
// bounds the memory a hostile file can make the layout take.
func heapWorthwhile(d int32, n int) bool {
	if d > maxHeapDepth {
		return false
	}
	return d <= 6 || 1<<(d+1) <= 8*n
}

// buildHeap lays the qualifying trees out in heap order. It runs once at
// load time, after all trees have been appended.
func (m *Model) buildHeap() {
	// Only the features heap trees split on are copied into the tiles; slot
	// maps such a feature to its place in a tile.
	slot := make(map[int32]uint32)
	var used []int32
	eligible := make([]bool, len(m.trees))
	any := false
	for ti := range m.trees {
		t := &m.trees[ti]
		if t.vector {
			continue
		}
		ok, n := true, 0
		m.visit(t.root, func(i int32) {
			n++
			ok = ok && m.nodes[i].info&flagSpecial == 0
		})
		if !ok || !heapWorthwhile(t.depth, n) {
			continue
		}
		eligible[ti], any = true, true
		m.visit(t.root, func(i int32) {
			nd := &m.nodes[i]
			if nd.info&flagLeaf != 0 {
				return
			}
			f := int32(nd.info & featMask)
			if _, seen := slot[f]; !seen {
				slot[f] = uint32(len(used))
				used = append(used, f)
			}
		})
	}
	if !any || m.numFeatures == 0 {
		return
	}
	if len(used) == 0 {
		used = []int32{0} // only pass-through nodes, which read slot 0
	}
	m.tileFeat = used
	nu := uint32(len(used))
	passThrough := hnode{thr: thrKey(float32(math.Inf(1))), off: 0}
	for ti := range m.trees {
		if !eligible[ti] {
			continue
		}
		t := &m.trees[ti]
		d := t.depth
		h := heapTree{nodes: int32(len(m.hnodes)), leaves: int32(len(m.hleaves)), depth: d}
		m.hnodes = append(m.hnodes, make([]hnode, 1<<d)...)
		m.hleaves = append(m.hleaves, make([]float32, 1<<d)...)
		nodes, leaves := m.hnodes[h.nodes:], m.hleaves[h.leaves:]
		// place puts general-path node i at heap position pos on level
		// level (recursion depth <= maxHeapDepth).
		var place func(i, pos, level int32)
		place = func(i, pos, level int32) {
			nd := &m.nodes[i]
			switch {
			case level == d:
				leaves[pos-1<<d] = m.vals[i]
			case nd.info&flagLeaf != 0:
				nodes[pos] = passThrough
				place(i, 2*pos, level+1)
				place(i, 2*pos+1, level+1)
			default:
				s := slot[int32(nd.info&featMask)]
				if nd.info&flagDefaultLeft == 0 {
					s += nu // the copy with NaN -> +Inf
				}
				nodes[pos] = hnode{thr: thrKey(nd.thr), off: s * hlanes * 4}
				place(nd.left, 2*pos, level+1)
				place(nd.left+1, 2*pos+1, level+1)
			}
		}
		place(t.root, 1, 0)
		t.heap = int32(len(m.heaps))
		m.heaps = append(m.heaps, h)
	}
	// Rows per block: whole tiles within tileBytes, at least one.
	m.blockRows = max(1, tileBytes/(2*int(nu)*4*hlanes)) * hlanes
}

// visit calls f for every node of the tree rooted at root.
func (m *Model) visit(root int32, f func(i int32)) {
	stack := []int32{root}
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		f(i)
		if m.nodes[i].info&flagLeaf == 0 {
			stack = append(stack, m.nodes[i].left, m.nodes[i].left+1)
		}
	}
}

// fillTiles writes the tiles for rows [0, n) of x (row-major, nf columns):
// for each group of hlanes rows, 2*len(feat) slots of hlanes keys. Slot s <
// len(feat) holds orderKey of feature feat[s] with NaN -> -Inf, slot
// len(feat)+s the same with NaN -> +Inf. Lanes beyond n are set to 0 (their
// results are discarded).
func fillTiles(tiles []uint32, x []float32, n, nf int, feat []int32) {
	nu := len(feat)
	ts := 2 * nu * hlanes
	ninf, pinf := orderKey(float32(math.Inf(-1))), orderKey(float32(math.Inf(1)))
	for g := 0; g*hlanes < n; g++ {
		tile := tiles[g*ts : (g+1)*ts]
		lo, hi := tile[:nu*hlanes], tile[nu*hlanes:]
		for j := 0; j < hlanes; j++ {
			r := g*hlanes + j
			if r >= n {
				for s := 0; s < nu; s++ {
					lo[s*hlanes+j], hi[s*hlanes+j] = 0, 0
				}
				continue
			}
			row := x[r*nf : (r+1)*nf]
			for s, f := range feat {
				v := row[f]
				a, b := ninf, pinf
				if v == v {
					a = orderKey(v)
					b = a
				}
				lo[s*hlanes+j], hi[s*hlanes+j] = a, b
			}
		}
	}
}

// step moves lane j of a tile one level down a heap-ordered tree: from node
// i to 2i if the lane's key <= the node's threshold key, else to 2i+1. The
// subtraction is done in 64 bits, so its sign bit is the comparison.
func step(np, tp unsafe.Pointer, i, j uintptr) uintptr {
	n := (*hnode)(unsafe.Add(np, i*unsafe.Sizeof(hnode{})))
	v := *(*uint32)(unsafe.Add(tp, uintptr(n.off)+j*4))
	return 2*i + uintptr((uint64(n.thr)-uint64(v))>>63)
}

// evalHeap adds tree h's leaf value for each row r in [0, n) (tiles as
// filled by fillTiles, ts keys each) to out[r*k+group].
func (m *Model) evalHeap(h *heapTree, tiles []uint32, n, ts int, out []float32, k, group int) {
	nodes := m.hnodes[h.nodes : h.nodes+1<<h.depth]
	leaves := m.hleaves[h.leaves : h.leaves+1<<h.depth]
	depth := int(h.depth)
	first := uintptr(1) << depth
	lp := unsafe.Pointer(unsafe.SliceData(leaves))
	for g := 0; g*hlanes < n; g++ {
		tile := tiles[g*ts : (g+1)*ts]
		i0, i1, i2, i3, i4, i5, i6, i7 := descend8(nodes, tile, depth)
		r := g * hlanes
		if r+hlanes <= n {
			if k == 1 {
				o := (*[hlanes]float32)(out[r : r+hlanes])
				o[0] += leaf(lp, i0-first)
				o[1] += leaf(lp, i1-first)
				o[2] += leaf(lp, i2-first)
				o[3] += leaf(lp, i3-first)
				o[4] += leaf(lp, i4-first)
				o[5] += leaf(lp, i5-first)
				o[6] += leaf(lp, i6-first)
				o[7] += leaf(lp, i7-first)
				continue
			}
			o := out[r*k : (r+hlanes)*k]
			o[0*k+group] += leaf(lp, i0-first)
			o[1*k+group] += leaf(lp, i1-first)
			o[2*k+group] += leaf(lp, i2-first)
			o[3*k+group] += leaf(lp, i3-first)
			o[4*k+group] += leaf(lp, i4-first)
			o[5*k+group] += leaf(lp, i5-first)
			o[6*k+group] += leaf(lp, i6-first)
			o[7*k+group] += leaf(lp, i7-first)
			continue
		}
		idx := [hlanes]uintptr{i0, i1, i2, i3, i4, i5, i6, i7}
		for j := 0; r+j < n; j++ {
			out[(r+j)*k+group] += leaves[idx[j]-first]
		}
	}
}

// descend8 moves the 8 lanes of tile from the root of a heap-ordered tree
// down depth levels and returns their final heap positions, in [2^depth,
// 2^(depth+1)). It is a separate function so that the compiler keeps the
// lane positions in registers; two levels per iteration keep most updates
// out of the loop's back edge, where they would be spilled.
func descend8(nodes []hnode, tile []uint32, depth int) (i0, i1, i2, i3, i4, i5, i6, i7 uintptr) {
	np, tp := unsafe.Pointer(unsafe.SliceData(nodes)), unsafe.Pointer(unsafe.SliceData(tile))
	i0, i1, i2, i3, i4, i5, i6, i7 = 1, 1, 1, 1, 1, 1, 1, 1
	d := depth
	for ; d >= 2; d -= 2 {
		i0 = step(np, tp, i0, 0)
		i1 = step(np, tp, i1, 1)
		i2 = step(np, tp, i2, 2)
		i3 = step(np, tp, i3, 3)
		i4 = step(np, tp, i4, 4)
		i5 = step(np, tp, i5, 5)
		i6 = step(np, tp, i6, 6)
		i7 = step(np, tp, i7, 7)
		i0 = step(np, tp, i0, 0)
		i1 = step(np, tp, i1, 1)
		i2 = step(np, tp, i2, 2)
		i3 = step(np, tp, i3, 3)
		i4 = step(np, tp, i4, 4)
		i5 = step(np, tp, i5, 5)
		i6 = step(np, tp, i6, 6)
		i7 = step(np, tp, i7, 7)
	}
	if d > 0 {
		i0 = step(np, tp, i0, 0)
		i1 = step(np, tp, i1, 1)
		i2 = step(np, tp, i2, 2)
		i3 = step(np, tp, i3, 3)
		i4 = step(np, tp, i4, 4)
		i5 = step(np, tp, i5, 5)
		i6 = step(np, tp, i6, 6)
		i7 = step(np, tp, i7, 7)
	}
	return
}

// orderKey maps a float32 to a uint32 with the same order for non-NaN
// values, except that -0 < +0: keys(-0) + 1 == key(+0). Thresholds are keyed
// with thrKey, which maps -0 to +0, so that "key(x) <= thrKey(thr)" equals
// "x <= thr" for every non-NaN x: the two zeros are adjacent keys and no
// threshold key lies between them.
func orderKey(f float32) uint32 {
	b := math.Float32bits(f)
	return b ^ (uint32(int32(b)>>31) | 1<<31)
}

func thrKey(f float32) uint32 { return orderKey(f + 0) } // -0 + 0 = +0

// leaf returns leaf slot j (< 2^depth) of the leaf array at lp.
func leaf(lp unsafe.Pointer, j uintptr) float32 {
	return *(*float32)(unsafe.Add(lp, j*4))
}
