package sklearn_test

import (
	"fmt"
	"log"

	"github.com/batchinfer/batchinfer/internal/model/sklearn"
)

// The values match scikit-learn 1.2.1: decision_function -0.86081088,
// predict_proba [0.70283004 0.29716996], predict 0.
func Example() {
	m, err := sklearn.LoadFile("testdata/sklearn-1.2/gb_clf_binary/model.joblib.z")
	if err != nil {
		log.Fatal(err)
	}
	info := m.Info()
	fmt.Println(info.Framework, info.Format, info.Booster, info.Objective, info.NumFeatures, info.NumTrees)

	x := []float64{0.1, -200, 0.002, 1, -0.5, 101, 0.3, -1.2} // one row
	raw := make([]float64, info.NumOutputs)                   // decision_function
	m.PredictRaw(x, 1, raw)
	proba := make([]float64, info.PredColumns) // predict_proba
	m.TransformRaw(raw, 1, proba)
	class := make([]int32, 1)
	m.ClassesOf(proba, 1, class)
	fmt.Printf("raw %.4f proba [%.4f %.4f] label %s\n", raw[0], proba[0], proba[1], m.ClassNames()[class[0]])
	// Output:
	// sklearn joblib GradientBoostingClassifier binary:logistic 8 15
	// raw -0.8608 proba [0.7028 0.2972] label 0
}
