package lightgbm

import (
	"fmt"
	"unsafe"
)

// Rows are scored a block at a time: a block of up to maxBlockRows rows is
// copied into an evaluation buffer (fillBlock) and scored tree by tree, so
// that the block stays in cache while each tree's nodes are reused across
// it. Within a block, groups of lanes rows descend a tree in lock-step: their
// independent loads overlap. Neither affects results: every row adds its
// trees' outputs in file order.
const (
	lanes        = 8
	maxBlockRows = 64
	blockBudget  = 1 << 14 // float64s per evaluation buffer (128 KiB), at least one group
	// A group with at most scalarRows real rows (a small call, or a block's
	// remainder) walks them one by one instead of stepping all lanes.
	scalarRows = 2
)

// PredictRaw writes rows x NumOutputs raw scores (row-major) into out for x,
// a row-major rows x NumFeatures matrix in which NaN means missing: what
// LightGBM's predict with predict_raw_score=true prints. Output j starts at
// 0.0 and adds, in float64 and in file order, the output of every tree i with
// i mod NumOutputs = j; for average_output (rf) models that is the plain sum,
// not the average. Results do not depend on rows or on how a data set is
// split into calls. It panics if len(x) < rows*NumFeatures or len(out) <
// rows*NumOutputs.
func (m *Model) PredictRaw(x []float64, rows int, out []float64) {
	k, nf := m.numOutputs, m.numFeatures
	checkLen("input", len(x), rows, nf)
	checkLen("output", len(out), rows, k)
	clear(out[:rows*k])
	if rows == 0 || len(m.trees) == 0 {
		return
	}
	bp := m.bufPool.Get().(*[]float64)
	buf := *bp
	for r0 := 0; r0 < rows; r0 += m.blockRows {
		n := min(m.blockRows, rows-r0)
		m.fillBlock(x[r0*nf:(r0+n)*nf], n, buf)
		m.scoreBlock(buf, n, out[r0*k:(r0+n)*k])
	}
	m.bufPool.Put(bp)
}

// fillBlock copies n rows of x into buf as ceil(n/lanes) lane groups. A
// group holds lanes rows column-interleaved, column c of lane j at
// c*lanes+j; the columns are the used features' values v (|v| <=
// zeroThreshold read as +0, as LightGBM's text parser does), then their
// negations, then a constant 0. Lanes past n are zero rows.
func (m *Model) fillBlock(x []float64, n int, buf []float64) {
	nf, nu, st := m.numFeatures, len(m.used), m.stride
	gs := st * lanes
	for g := 0; g*lanes < n; g++ {
		grp := buf[g*gs : (g+1)*gs]
		for j := range lanes {
			r := g*lanes + j
			if r >= n {
				for c := range st {
					grp[c*lanes+j] = 0
				}
				continue
			}
			row := x[r*nf : (r+1)*nf]
			pos := grp[j : j+nu*lanes]
			neg := grp[nu*lanes+j : 2*nu*lanes+j]
			for c, f := range m.used {
				v := row[f]
				if v >= -zeroThreshold && v <= zeroThreshold {
					v = 0
				}
				pos[c*lanes] = v
				neg[c*lanes] = -v
			}
			grp[2*nu*lanes+j] = 0
		}
	}
}

// scoreBlock adds every tree's output to out (n x NumOutputs) for the n rows
// in buf.
func (m *Model) scoreBlock(buf []float64, n int, out []float64) {
	k := m.numOutputs
	gs := m.stride * lanes
	var leaves [lanes]uint32
	for ti := range m.trees {
		t := &m.trees[ti]
		for g := 0; g*lanes < n; g++ {
			grp := buf[g*gs : (g+1)*gs]
			nr := min(lanes, n-g*lanes)
			o := out[g*lanes*k : (g*lanes+nr)*k]
			switch {
			case nr <= scalarRows:
				for j := range nr {
					leaves[j] = m.walk(t, grp, j)
				}
			case t.kind&treeSpecial == 0:
				m.groupFast(t, grp, &leaves)
			default:
				m.groupGeneral(t, grp, &leaves)
			}
			if t.kind&treeLinear == 0 {
				for j := range nr {
					o[j*k+int(t.out)] += m.leafVal[leaves[j]/nodeStep]
				}
			} else {
				for j := range nr {
					o[j*k+int(t.out)] += m.linearOut(leaves[j]/nodeStep, grp, j)
				}
			}
		}
	}
}

// groupFast moves the lanes rows of group grp from the root of t (which has
// no special nodes) to their leaves and stores the leaves' node offsets in
// leaves. Every lane steps once per level: a leaf steps to itself, and the
// descent stops at the first level where no lane moved.
//
// It uses unchecked pointer arithmetic: Load guarantees that every child
// offset lies in m.nodes and every column offset in a group of
// m.stride*lanes float64s.
func (m *Model) groupFast(t *treeRef, grp []float64, leaves *[lanes]uint32) {
	_ = grp[m.stride*lanes-1]
	nb := unsafe.Pointer(unsafe.SliceData(m.nodes))
	gb := unsafe.Pointer(unsafe.SliceData(grp))
	i0 := uintptr(t.root)
	i1, i2, i3, i4, i5, i6, i7 := i0, i0, i0, i0, i0, i0, i0
	// Above the shallowest leaf every lane moves: no need to check.
	for d := t.short; d > 0; d-- {
		n0 := (*node)(unsafe.Add(nb, i0*8))
		g0 := *(*float64)(unsafe.Add(gb, uintptr(n0.col)+0)) <= n0.thr
		i0 = uintptr(n0.child) + uintptr(bit(&g0))*nodeStep
		n1 := (*node)(unsafe.Add(nb, i1*8))
		g1 := *(*float64)(unsafe.Add(gb, uintptr(n1.col)+8)) <= n1.thr
		i1 = uintptr(n1.child) + uintptr(bit(&g1))*nodeStep
		n2 := (*node)(unsafe.Add(nb, i2*8))
		g2 := *(*float64)(unsafe.Add(gb, uintptr(n2.col)+16)) <= n2.thr
		i2 = uintptr(n2.child) + uintptr(bit(&g2))*nodeStep
		n3 := (*node)(unsafe.Add(nb, i3*8))
		g3 := *(*float64)(unsafe.Add(gb, uintptr(n3.col)+24)) <= n3.thr
		i3 = uintptr(n3.child) + uintptr(bit(&g3))*nodeStep
		n4 := (*node)(unsafe.Add(nb, i4*8))
		g4 := *(*float64)(unsafe.Add(gb, uintptr(n4.col)+32)) <= n4.thr
		i4 = uintptr(n4.child) + uintptr(bit(&g4))*nodeStep
		n5 := (*node)(unsafe.Add(nb, i5*8))
		g5 := *(*float64)(unsafe.Add(gb, uintptr(n5.col)+40)) <= n5.thr
		i5 = uintptr(n5.child) + uintptr(bit(&g5))*nodeStep
		n6 := (*node)(unsafe.Add(nb, i6*8))
		g6 := *(*float64)(unsafe.Add(gb, uintptr(n6.col)+48)) <= n6.thr
		i6 = uintptr(n6.child) + uintptr(bit(&g6))*nodeStep
		n7 := (*node)(unsafe.Add(nb, i7*8))
		g7 := *(*float64)(unsafe.Add(gb, uintptr(n7.col)+56)) <= n7.thr
		i7 = uintptr(n7.child) + uintptr(bit(&g7))*nodeStep
	}
	for d := t.depth - t.short; d > 0; d -= 2 {
		n0 := (*node)(unsafe.Add(nb, i0*8))
		g0 := *(*float64)(unsafe.Add(gb, uintptr(n0.col)+0)) <= n0.thr
		i0 = uintptr(n0.child) + uintptr(bit(&g0))*nodeStep
		n1 := (*node)(unsafe.Add(nb, i1*8))
		g1 := *(*float64)(unsafe.Add(gb, uintptr(n1.col)+8)) <= n1.thr
		i1 = uintptr(n1.child) + uintptr(bit(&g1))*nodeStep
		n2 := (*node)(unsafe.Add(nb, i2*8))
		g2 := *(*float64)(unsafe.Add(gb, uintptr(n2.col)+16)) <= n2.thr
		i2 = uintptr(n2.child) + uintptr(bit(&g2))*nodeStep
		n3 := (*node)(unsafe.Add(nb, i3*8))
		g3 := *(*float64)(unsafe.Add(gb, uintptr(n3.col)+24)) <= n3.thr
		i3 = uintptr(n3.child) + uintptr(bit(&g3))*nodeStep
		n4 := (*node)(unsafe.Add(nb, i4*8))
		g4 := *(*float64)(unsafe.Add(gb, uintptr(n4.col)+32)) <= n4.thr
		i4 = uintptr(n4.child) + uintptr(bit(&g4))*nodeStep
		n5 := (*node)(unsafe.Add(nb, i5*8))
		g5 := *(*float64)(unsafe.Add(gb, uintptr(n5.col)+40)) <= n5.thr
		i5 = uintptr(n5.child) + uintptr(bit(&g5))*nodeStep
		n6 := (*node)(unsafe.Add(nb, i6*8))
		g6 := *(*float64)(unsafe.Add(gb, uintptr(n6.col)+48)) <= n6.thr
		i6 = uintptr(n6.child) + uintptr(bit(&g6))*nodeStep
		n7 := (*node)(unsafe.Add(nb, i7*8))
		g7 := *(*float64)(unsafe.Add(gb, uintptr(n7.col)+56)) <= n7.thr
		i7 = uintptr(n7.child) + uintptr(bit(&g7))*nodeStep
		var moved uintptr
		m0 := (*node)(unsafe.Add(nb, i0*8))
		h0 := *(*float64)(unsafe.Add(gb, uintptr(m0.col)+0)) <= m0.thr
		c0 := uintptr(m0.child) + uintptr(bit(&h0))*nodeStep
		moved |= c0 ^ i0
		i0 = c0
		m1 := (*node)(unsafe.Add(nb, i1*8))
		h1 := *(*float64)(unsafe.Add(gb, uintptr(m1.col)+8)) <= m1.thr
		c1 := uintptr(m1.child) + uintptr(bit(&h1))*nodeStep
		moved |= c1 ^ i1
		i1 = c1
		m2 := (*node)(unsafe.Add(nb, i2*8))
		h2 := *(*float64)(unsafe.Add(gb, uintptr(m2.col)+16)) <= m2.thr
		c2 := uintptr(m2.child) + uintptr(bit(&h2))*nodeStep
		moved |= c2 ^ i2
		i2 = c2
		m3 := (*node)(unsafe.Add(nb, i3*8))
		h3 := *(*float64)(unsafe.Add(gb, uintptr(m3.col)+24)) <= m3.thr
		c3 := uintptr(m3.child) + uintptr(bit(&h3))*nodeStep
		moved |= c3 ^ i3
		i3 = c3
		m4 := (*node)(unsafe.Add(nb, i4*8))
		h4 := *(*float64)(unsafe.Add(gb, uintptr(m4.col)+32)) <= m4.thr
		c4 := uintptr(m4.child) + uintptr(bit(&h4))*nodeStep
		moved |= c4 ^ i4
		i4 = c4
		m5 := (*node)(unsafe.Add(nb, i5*8))
		h5 := *(*float64)(unsafe.Add(gb, uintptr(m5.col)+40)) <= m5.thr
		c5 := uintptr(m5.child) + uintptr(bit(&h5))*nodeStep
		moved |= c5 ^ i5
		i5 = c5
		m6 := (*node)(unsafe.Add(nb, i6*8))
		h6 := *(*float64)(unsafe.Add(gb, uintptr(m6.col)+48)) <= m6.thr
		c6 := uintptr(m6.child) + uintptr(bit(&h6))*nodeStep
		moved |= c6 ^ i6
		i6 = c6
		m7 := (*node)(unsafe.Add(nb, i7*8))
		h7 := *(*float64)(unsafe.Add(gb, uintptr(m7.col)+56)) <= m7.thr
		c7 := uintptr(m7.child) + uintptr(bit(&h7))*nodeStep
		moved |= c7 ^ i7
		i7 = c7
		if moved == 0 {
			break
		}
	}
	*leaves = [lanes]uint32{uint32(i0), uint32(i1), uint32(i2), uint32(i3), uint32(i4), uint32(i5), uint32(i6), uint32(i7)}
}

// bit is 1 if *b else 0, read from the bool's byte so that the compiler
// materialises the comparison with SETcc rather than a branch (tree splits
// are unpredictable).
func bit(b *bool) uint8 { return *(*uint8)(unsafe.Pointer(b)) }

// groupGeneral is groupFast for trees with special nodes (categorical
// splits, Zero-missing splits that do not fit the canonical rule), with
// bounds-checked indexing.
func (m *Model) groupGeneral(t *treeRef, grp []float64, leaves *[lanes]uint32) {
	for j := range leaves {
		leaves[j] = t.root
	}
	for d := int32(0); d < t.depth; d++ {
		for j := range lanes {
			leaves[j] = m.step(leaves[j], grp, j)
		}
	}
}

// step returns the child node offset of node offset i for lane j of grp.
func (m *Model) step(i uint32, grp []float64, j int) uint32 {
	n := &m.nodes[i/nodeStep]
	if n.col&flagSpecial != 0 {
		return m.stepSpecial(n, grp[int(n.col&colMask)*lanes+j])
	}
	le := grp[int(n.col)/8+j] <= n.thr
	return n.child + uint32(bit(&le))*nodeStep
}

// walk returns the leaf node offset lane j of grp reaches in t, stepping
// until a node steps to itself (only leaves do).
func (m *Model) walk(t *treeRef, grp []float64, j int) uint32 {
	i := t.root
	for {
		c := m.step(i, grp, j)
		if c == i {
			return i
		}
		i = c
	}
}

// linearOut is the output of the linear leaf at node index i for lane j of
// grp: leaf_const + Σ coeff_j * x_j summed left to right, each product
// rounded on its own (no fused multiply-add, as LightGBM's x86-64 build), or
// leaf_value when any x_j is NaN.
func (m *Model) linearOut(i uint32, grp []float64, j int) float64 {
	ll := m.lin[i]
	s := ll.c
	for t := ll.off; t < ll.end; t++ {
		v := grp[int(m.linCol[t])*lanes+j]
		if v != v {
			return m.leafVal[i]
		}
		s += float64(m.linCoef[t] * v)
	}
	return s
}

// predictLeaf writes rows x NumTrees leaf indices (LightGBM's
// predict_leaf_index output) into out.
func (m *Model) predictLeaf(x []float64, rows int, out []int32) {
	nf, nt := m.numFeatures, len(m.trees)
	checkLen("input", len(x), rows, nf)
	if len(out) < rows*nt {
		panic(fmt.Sprintf("lightgbm: leaf output has %d values, want %d", len(out), rows*nt))
	}
	buf := make([]float64, m.stride*lanes)
	var leaves [lanes]uint32
	for r0 := 0; r0 < rows; r0 += lanes {
		n := min(lanes, rows-r0)
		m.fillBlock(x[r0*nf:(r0+n)*nf], n, buf)
		for ti := range m.trees {
			m.groupGeneral(&m.trees[ti], buf, &leaves)
			for j := range n {
				out[(r0+j)*nt+ti] = m.leafNum[leaves[j]/nodeStep]
			}
		}
	}
}
