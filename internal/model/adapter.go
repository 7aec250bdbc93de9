package model

// The float64 Predictor interface over the float32 engine. XGBoost itself
// converts its input to float32 and produces float32 margins, so going
// through float32 loses nothing: inputs are narrowed exactly as XGBoost
// narrows them, and float32 results widen to float64 exactly.

var _ Predictor = (*Model)(nil)

// Sizes of the adapter's stack buffers, in float32 values: 16 KiB of
// inputs and 4 KiB of outputs per block. Wider rows use pooled buffers.
const (
	adaptIn  = 4096
	adaptOut = 1024
)

// adaptBuf is a pair of block buffers for rows too wide for the stack ones.
type adaptBuf struct{ in, out []float32 }

// adaptRows returns the rows per block for the given buffer capacities, a
// multiple of the fast path's block size when possible so that no block
// ends in a short tail; 0 if not even one row fits.
func (m *Model) adaptRows(inCap, outCap, inWidth, outWidth int) int {
	rows := min(inCap/max(inWidth, 1), outCap/max(outWidth, 1))
	if b := m.blockRows; b > 0 && rows >= b {
		rows -= rows % b
	}
	return rows
}

// wideBuffers returns pooled buffers for blocks of rows rows; put it back
// with m.adaptPool.Put.
func (m *Model) wideBuffers(in, out int) *adaptBuf {
	if b, ok := m.adaptPool.Get().(*adaptBuf); ok && len(b.in) >= in && len(b.out) >= out {
		return b
	}
	return &adaptBuf{in: make([]float32, in), out: make([]float32, out)}
}

// wideRows is the rows per block of pooled buffers for rows of width
// values: up to 64, fewer for very wide rows (at most ~1 MiB per buffer).
func wideRows(width int) int {
	return max(1, min(64, (1<<18)/max(width, 1)))
}

// PredictRaw writes rows x NumOutputs raw margins (row-major) into out for x,
// a row-major rows x NumFeatures float64 matrix in which NaN marks a missing
// value. Inputs are converted to float32 as XGBoost converts them, and the
// float32 margins of PredictMargin are widened exactly: out holds
// float64(PredictMargin(float32(x))). It works in fixed-size blocks on stack
// buffers (pooled ones for rows wider than 4096 features or 1024 outputs),
// does not allocate per call in the steady state, and its results do not
// depend on the block boundaries. It panics if len(x) < rows*NumFeatures or
// len(out) < rows*NumOutputs.
func (m *Model) PredictRaw(x []float64, rows int, out []float64) {
	m.checkShapes(len(x), rows, len(out), m.numOutputs)
	nf, k := m.numFeatures, m.numOutputs
	var inStack [adaptIn]float32
	var outStack [adaptOut]float32
	in, res := inStack[:], outStack[:]
	per := m.adaptRows(adaptIn, adaptOut, nf, k)
	if per == 0 {
		per = wideRows(max(nf, k))
		b := m.wideBuffers(per*nf, per*k)
		defer m.adaptPool.Put(b)
		in, res = b.in, b.out
	}
	for r0 := 0; r0 < rows; r0 += per {
		n := min(per, rows-r0)
		xb := in[:n*nf]
		for i, v := range x[r0*nf : (r0+n)*nf] {
			xb[i] = float32(v)
		}
		ob := res[:n*k]
		m.PredictMargin(xb, n, ob)
		dst := out[r0*k : (r0+n)*k]
		for i, v := range ob {
			dst[i] = float64(v)
		}
	}
}

// TransformRaw turns raw margins from PredictRaw (rows x NumOutputs) into the
// objective's default prediction (rows x PredColumns), as Transform does: the
// margins are narrowed to float32 (exact, since PredictRaw's values are
// float32 values), transformed in float32 and widened. out may be raw itself.
// It panics if raw or out is too short.
func (m *Model) TransformRaw(raw []float64, rows int, out []float64) {
	k, pc := m.numOutputs, m.info.PredColumns
	m.checkShapesOut(len(raw), rows, k)
	m.checkShapesOut(len(out), rows, pc)
	var stack [adaptIn]float32
	buf := stack[:]
	per := m.adaptRows(adaptIn, adaptIn, k, k)
	if per == 0 {
		per = wideRows(k)
		b := m.wideBuffers(per*k, 0)
		defer m.adaptPool.Put(b)
		buf = b.in
	}
	// Block by block, raw rows [r0, r0+n) are read before out rows
	// [r0, r0+n) are written, and out row r ends at or before raw row r
	// starts when pc <= k, so aliasing is safe.
	for r0 := 0; r0 < rows; r0 += per {
		n := min(per, rows-r0)
		b := buf[:n*k]
		for i, v := range raw[r0*k : (r0+n)*k] {
			b[i] = float32(v)
		}
		m.Transform(b, n, b)
		dst := out[r0*pc : (r0+n)*pc]
		for i, v := range b[:n*pc] {
			dst[i] = float64(v)
		}
	}
}

// ClassesOf writes the predicted class of each row from TransformRaw output,
// with the rules of Classes (the float64 values are float32 values, so the
// comparisons are the same). It panics if NumClasses == 0.
func (m *Model) ClassesOf(pred []float64, rows int, out []int32) {
	classes(m, "ClassesOf", pred, rows, out)
}
