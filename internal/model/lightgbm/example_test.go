package lightgbm_test

import (
	"fmt"
	"math"

	"github.com/batchinfer/batchinfer/internal/model/lightgbm"
)

// A two-leaf binary model: f0 <= 0.5 goes left (-1), NaN follows the default
// (decision_type 10: missing type NaN, default left).
const stumpModel = `tree
version=v4
num_class=1
num_tree_per_iteration=1
label_index=0
max_feature_idx=1
objective=binary sigmoid:1
feature_names=f0 f1

Tree=0
num_leaves=2
num_cat=0
split_feature=0
threshold=0.5
decision_type=10
left_child=-1
right_child=-2
leaf_value=-1 1
is_linear=0
shrinkage=1


end of trees
`

func ExampleLoad() {
	m, err := lightgbm.Load([]byte(stumpModel))
	if err != nil {
		fmt.Println(err)
		return
	}
	x := []float64{
		0.2, 7, // left
		0.9, 7, // right
		math.NaN(), 7, // missing: default left
	}
	raw := make([]float64, 3)
	m.PredictRaw(x, 3, raw)
	prob := make([]float64, 3)
	m.TransformRaw(raw, 3, prob)
	cls := make([]int32, 3)
	m.ClassesOf(prob, 3, cls)
	fmt.Println(m.Info().Objective, m.Info().NumClasses)
	fmt.Println(raw)
	fmt.Printf("%.4f\n", prob)
	fmt.Println(cls)
	// Output:
	// binary sigmoid:1 2
	// [-1 1 -1]
	// [0.2689 0.7311 0.2689]
	// [0 1 0]
}
