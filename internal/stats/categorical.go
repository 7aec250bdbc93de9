package stats

// Categorical accumulates the statistics of one non-numeric column: the
// frequency of every distinct value (memory grows with the number of
// distinct values) and the number of nulls.
//
// The zero value is not usable; call NewCategorical.
type Categorical struct {
	freq  map[string]int64
	nulls int64
}

// NewCategorical returns an empty accumulator.
func NewCategorical() *Categorical {
	return &Categorical{freq: make(map[string]int64)}
}

// Add adds one non-null value.
func (c *Categorical) Add(v string) { c.freq[v]++ }

// AddNull adds k null values (counted in NaNCount, not in Count). k <= 0 is a
// no-op.
func (c *Categorical) AddNull(k int) {
	if k > 0 {
		c.nulls += int64(k)
	}
}

// Merge adds the values accumulated by o into c; o is unchanged.
func (c *Categorical) Merge(o *Categorical) {
	for v, k := range o.freq {
		c.freq[v] += k
	}
	c.nulls += o.nulls
}

// Column returns count (non-null values), unique (distinct values), top (the
// most frequent value) and freq (its count).
//
// Ties for top: pandas keeps the value seen first, which depends on row order
// and therefore on how shards are merged; we take the lexicographically
// smallest (byte order) of the tied values instead, so the result is the same
// for any split and merge order. With no values, Unique is 0 and Top/Freq are
// empty (their keys are then omitted from JSON, as MLRun drops NaN stats).
func (c *Categorical) Column() Column {
	col := Column{Kind: KindCategorical, NaNCount: c.nulls, Unique: int64(len(c.freq))}
	var total int64
	for v, k := range c.freq {
		total += k
		if k > col.Freq || (k == col.Freq && v < col.Top) {
			col.Top, col.Freq = v, k
		}
	}
	col.Count = float64(total)
	return col
}
