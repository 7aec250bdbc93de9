package dataset_test

import (
	"fmt"

	"github.com/batchinfer/batchinfer/internal/dataset"
)

func ExampleParseInline() {
	out, err := dataset.ParseInline([]byte(`[[5.1, 3.5], [6.2, null]]`), []string{"sepal_length", "sepal_width"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(string(out))
	// Output:
	// {"sepal_length":5.1,"sepal_width":3.5}
	// {"sepal_length":6.2,"sepal_width":null}
}

func ExampleFormatFloat() {
	fmt.Println(dataset.FormatFloat(0.1), dataset.FormatFloat(1e23), dataset.FormatFloat(2.0/3))
	// Output:
	// 0.1 1e+23 0.6666666666666666
}
