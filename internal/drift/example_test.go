package drift_test

import (
	"fmt"

	"github.com/batchinfer/batchinfer/internal/drift"
	"github.com/batchinfer/batchinfer/internal/stats"
)

func ExampleAnalyze() {
	// Reference: the training column, histogram over its own edges.
	ref := &stats.Dataset{}
	tr := stats.NewNumeric(nil, stats.DefaultBins)
	tr.Add([]float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10})
	refCol := tr.Column()
	ref.Set("a", &refCol)

	// Batch: the scored column, histogram over the reference edges.
	bat := &stats.Dataset{}
	sc := stats.NewNumeric(drift.EdgesFor(ref, "a"), stats.DefaultBins)
	sc.Add([]float64{5, 6, 7, 8, 9, 10, 11, 12, 13, 14})
	batCol := sc.Column()
	bat.Set("a", &batCol)

	r := drift.Analyze(ref, bat, drift.DefaultThresholds())
	f := r.Features[0]
	fmt.Printf("%s: tvd %.4f hellinger %.4f kld %.4f value %.4f %s\n", f.Name, f.TVD, f.Hellinger, f.KLD, f.Value, f.Status)
	fmt.Printf("drift_metric %.4f drift_status %v\n", r.DriftMetric, r.DriftStatus)
	// Output:
	// a: tvd 0.2000 hellinger 0.6325 kld 2.7631 value 0.4162 NO_DRIFT
	// drift_metric 0.4162 drift_status false
}
