package model_test

import (
	"fmt"
	"math"

	"github.com/batchinfer/batchinfer/internal/model"
)

func Example() {
	// One split on feature 1 (x < 0.5 goes left; missing goes left).
	src := `{"learner":{"gradient_booster":{"name":"gbtree","model":{"tree_info":[0],"trees":[` +
		`{"left_children":[1,-1,-1],"right_children":[2,-1,-1],"split_indices":[1,0,0],` +
		`"split_conditions":[0.5,-1,2],"default_left":[1,0,0]}]}},` +
		`"learner_model_param":{"base_score":"5E-1","num_class":"0","num_feature":"2"},` +
		`"objective":{"name":"binary:logistic"}},"version":[1,7,4]}`
	m, err := model.Load([]byte(src))
	if err != nil {
		panic(err)
	}
	x := []float32{0, 0.2, 0, 0.5, 0, float32(math.NaN())}
	margin := make([]float32, 3)
	m.PredictMargin(x, 3, margin)
	prob := make([]float32, 3)
	m.Transform(margin, 3, prob)
	class := make([]int32, 3)
	m.Classes(prob, 3, class)
	fmt.Println(margin, prob, class)
	// Output: [-1 2 -1] [0.26894143 0.880797 0.26894143] [0 1 0]
}
