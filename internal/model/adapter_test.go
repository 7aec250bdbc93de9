package model

import (
	"math"
	"math/rand/v2"
	"testing"
)

// rows64 returns rows x nf float64 inputs: normal values, values that round
// to float32 in either direction, NaN and infinities.
func rows64(seed uint64, rows, nf int) []float64 {
	rng := rand.New(rand.NewPCG(seed, 5))
	x := make([]float64, rows*nf)
	for i := range x {
		switch rng.IntN(10) {
		case 0:
			x[i] = math.NaN()
		case 1:
			x[i] = math.Inf(1 - 2*rng.IntN(2))
		case 2:
			// Halfway between two float32 values, plus or minus a little.
			f := float32(rng.NormFloat64())
			x[i] = (float64(f)+float64(math.Nextafter32(f, 10)))/2 + (rng.Float64()-0.5)*1e-12
		default:
			x[i] = rng.NormFloat64()
		}
	}
	return x
}

// TestPredictRawBlocks checks the float64 adapter against the float32 engine
// on float32(x), whole and split into calls that cut across its blocks, for
// a narrow model (stack buffers), a multi-class one and one too wide for the
// stack buffers (pooled buffers).
func TestPredictRawBlocks(t *testing.T) {
	cases := []struct {
		name               string
		seed               uint64
		trees, depth, nf   int
		numClass, wantRows int
	}{
		{"narrow", 1, 30, 6, 28, 0, 1000},
		{"multiclass", 2, 30, 5, 10, 3, 700},
		{"wide", 3, 20, 6, 5000, 0, 150},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := Load(randomModel(c.seed, c.trees, c.depth, c.nf, c.numClass, 0))
			if err != nil {
				t.Fatal(err)
			}
			rows, nf, k := c.wantRows, c.nf, m.Info().NumOutputs
			x := rows64(c.seed, rows, nf)
			x32 := make([]float32, len(x))
			for i, v := range x {
				x32[i] = float32(v)
			}
			margin := make([]float32, rows*k)
			m.PredictMargin(x32, rows, margin)
			pred := make([]float32, rows*m.Info().PredColumns)
			m.Transform(margin, rows, pred)
			for _, chunk := range []int{rows, 1, 7, 64, 143, 144, 145, 300} {
				raw := make([]float64, rows*k)
				for r := 0; r < rows; r += chunk {
					n := min(chunk, rows-r)
					m.PredictRaw(x[r*nf:(r+n)*nf], n, raw[r*k:(r+n)*k])
				}
				for i := range raw {
					if math.Float64bits(raw[i]) != math.Float64bits(float64(margin[i])) {
						t.Fatalf("chunk %d: PredictRaw[%d] = %v, want %v", chunk, i, raw[i], margin[i])
					}
				}
				out := make([]float64, len(pred))
				for r := 0; r < rows; r += chunk {
					n := min(chunk, rows-r)
					pc := m.Info().PredColumns
					m.TransformRaw(raw[r*k:(r+n)*k], n, out[r*pc:(r+n)*pc])
				}
				for i := range out {
					if math.Float64bits(out[i]) != math.Float64bits(float64(pred[i])) {
						t.Fatalf("chunk %d: TransformRaw[%d] = %v, want %v", chunk, i, out[i], pred[i])
					}
				}
			}
		})
	}
}

// TestNoAllocs checks that prediction does not allocate: PredictMargin,
// PredictRaw (stack buffers), TransformRaw and ClassesOf.
func TestNoAllocs(t *testing.T) {
	m, err := Load(synthModel(1, 50, 6, 28, "binary:logistic", "[5E-1]", 0))
	if err != nil {
		t.Fatal(err)
	}
	const rows = 1000
	x32 := synthRows(2, rows, 28)
	x := make([]float64, len(x32))
	for i, v := range x32 {
		x[i] = float64(v)
	}
	out32 := make([]float32, rows)
	raw := make([]float64, rows)
	pred := make([]float64, rows)
	cls := make([]int32, rows)
	for name, f := range map[string]func(){
		"PredictMargin": func() { m.PredictMargin(x32, rows, out32) },
		"PredictRaw":    func() { m.PredictRaw(x, rows, raw) },
		"TransformRaw":  func() { m.TransformRaw(raw, rows, pred) },
		"ClassesOf":     func() { m.ClassesOf(pred, rows, cls) },
	} {
		if a := testing.AllocsPerRun(20, f); a != 0 {
			t.Errorf("%s: %v allocations per call, want 0", name, a)
		}
	}
}
