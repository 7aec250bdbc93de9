package model

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strconv"
)

// synthModel writes a JSON XGBoost model of nTrees complete binary trees of
// the given depth over nf features, with random thresholds in [-1, 1) and
// leaf values, in the 3.x layout. obj and base set the objective and the
// stored base_score; numClass > 0 makes a multi-class model.
func synthModel(seed uint64, nTrees, depth, nf int, obj, base string, numClass int) []byte {
	rng := rand.New(rand.NewPCG(seed, 1))
	k := max(numClass, 1)
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"learner":{"attributes":{},"feature_names":[],"feature_types":[],`)
	fmt.Fprintf(&b, `"gradient_booster":{"model":{"gbtree_model_param":{"num_parallel_tree":"1","num_trees":"%d"},`, nTrees)
	b.WriteString(`"tree_info":[`)
	for i := 0; i < nTrees; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(i % k))
	}
	b.WriteString(`],"trees":[`)
	n := 1<<(depth+1) - 1
	list := func(f func(i int) string) {
		b.WriteByte('[')
		for i := 0; i < n; i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(f(i))
		}
		b.WriteByte(']')
	}
	inner := 1<<depth - 1
	for t := 0; t < nTrees; t++ {
		if t > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"tree_param":{"num_nodes":"` + strconv.Itoa(n) + `","size_leaf_vector":"1"},"left_children":`)
		list(func(i int) string {
			if i >= inner {
				return "-1"
			}
			return strconv.Itoa(2*i + 1)
		})
		b.WriteString(`,"right_children":`)
		list(func(i int) string {
			if i >= inner {
				return "-1"
			}
			return strconv.Itoa(2*i + 2)
		})
		b.WriteString(`,"split_indices":`)
		list(func(i int) string {
			if i >= inner {
				return "0"
			}
			return strconv.Itoa(rng.IntN(nf))
		})
		b.WriteString(`,"split_conditions":`)
		list(func(i int) string {
			if i >= inner {
				return strconv.FormatFloat(float64(float32(rng.Float64()*0.2-0.1)), 'g', -1, 32)
			}
			return strconv.FormatFloat(float64(float32(rng.Float64()*2-1)), 'g', -1, 32)
		})
		b.WriteString(`,"default_left":`)
		list(func(int) string { return strconv.Itoa(rng.IntN(2)) })
		b.WriteString(`,"split_type":`)
		list(func(int) string { return "0" })
		b.WriteString(`,"categories":[],"categories_nodes":[],"categories_segments":[],"categories_sizes":[]}`)
	}
	b.WriteString(`]},"name":"gbtree"},`)
	fmt.Fprintf(&b, `"learner_model_param":{"base_score":"%s","num_class":"%d","num_feature":"%d","num_target":"1"},`, base, numClass, nf)
	fmt.Fprintf(&b, `"objective":{"name":"%s"}},"version":[3,4,1]}`, obj)
	return b.Bytes()
}

// synthRows returns rows x nf values in [-1.2, 1.2) with 2% NaN.
func synthRows(seed uint64, rows, nf int) []float32 {
	rng := rand.New(rand.NewPCG(seed, 2))
	x := make([]float32, rows*nf)
	for i := range x {
		if rng.IntN(50) == 0 {
			x[i] = float32NaN()
		} else {
			x[i] = float32(rng.Float64()*2.4 - 1.2)
		}
	}
	return x
}
