package stats

import "testing"

// Values whose range overflows float64 still get a histogram, no panic.
func TestOverflowingRange(t *testing.T) {
	n := NewNumeric(nil, 20)
	n.Add([]float64{-1e308, 1e308, 0, 5})
	c := n.Column()
	var total int64
	for _, k := range c.Hist.Counts {
		total += k
	}
	if total != 4 {
		t.Fatalf("histogram holds %d of 4 values: %+v", total, c.Hist)
	}
}
