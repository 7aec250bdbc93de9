package stats

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
)

// Binary encoding of partial statistics (accumulator state), for shards
// that compute statistics on one worker and merge them on another.
//
// Every encoding starts with a 4-byte magic ("BISN" Numeric, "BISC"
// Categorical, "BISP" Partial) and a version byte (PartialVersion); then
// unsigned varints (counts, lengths), little-endian IEEE 754 float64s
// (moments, min, max, edges, exact values) and length-prefixed strings.
// The encoding holds the whole state, so decode(encode(p)) merges and
// reports exactly as p does (the moments are kept bit for bit). It is
// canonical: equal states encode to equal bytes (the sketch's buckets are
// trimmed, the frequency table sorted by value, and a Categorical's
// distinct-count hashes reduced to the distinctK smallest).
//
// Decoding checks every length against the bytes left (so a corrupt or
// hostile input cannot make it allocate more than a small multiple of its
// own size) and the state's invariants (counts agree, exact values within
// [min, max], sketch keys in range), returning ErrBadPartial rather than
// panicking or building an accumulator that would panic later.

// PartialVersion is the version byte written after the magic. Decoders
// accept this version only; a later version that changes the layout bumps
// it.
const PartialVersion = 1

// ErrBadPartial is wrapped by every decoding error: the bytes are not an
// encoding of this kind and version, or are truncated or inconsistent.
var ErrBadPartial = errors.New("malformed statistics partial")

var (
	magicNumeric     = []byte("BISN")
	magicCategorical = []byte("BISC")
	magicPartial     = []byte("BISP")
)

// Decoding limits beyond the input size.
const (
	// maxCount bounds every count on decode: 2^53, the largest integer a
	// float64 holds exactly (Column reports counts as float64).
	maxCount = 1 << 53
	// maxDecodeBins bounds the own-edge bin count of a decoded Numeric,
	// which Column allocates: 2^20 bins.
	maxDecodeBins = 1 << 20
	// maxDecodeDistinct bounds a decoded Categorical's ExactDistinct.
	maxDecodeDistinct = 1 << 31
)

const (
	numFlagEdges = 1 << iota
	numFlagExact
)

// MarshalBinary encodes the accumulator's whole state. It does not change n.
func (n *Numeric) MarshalBinary() ([]byte, error) {
	b := make([]byte, 0, 128+8*len(n.values)+8*len(n.edges)+2*(len(n.sk.Pos.Counts)+len(n.sk.Neg.Counts)))
	b = append(b, magicNumeric...)
	b = append(b, PartialVersion)
	var flags byte
	if n.edges != nil {
		flags |= numFlagEdges
	}
	if n.exact {
		flags |= numFlagExact
	}
	b = append(b, flags)
	b = binary.AppendUvarint(b, uint64(n.bins))
	b = binary.AppendUvarint(b, uint64(n.exactCap))
	if n.edges != nil {
		b = binary.AppendUvarint(b, uint64(len(n.edges)))
		for _, e := range n.edges {
			b = appendFloat(b, e)
		}
		for _, c := range n.counts {
			b = binary.AppendUvarint(b, uint64(c))
		}
	}
	b = binary.AppendUvarint(b, uint64(n.finite))
	b = appendFloat(b, n.min)
	b = appendFloat(b, n.max)
	b = appendFloat(b, n.n)
	b = appendFloat(b, n.mean)
	b = appendFloat(b, n.m2)
	b = binary.AppendUvarint(b, uint64(n.posInf))
	b = binary.AppendUvarint(b, uint64(n.negInf))
	b = binary.AppendUvarint(b, uint64(n.nan))
	b = binary.AppendUvarint(b, uint64(n.sk.Zeros))
	b = appendBuckets(b, &n.sk.Pos)
	b = appendBuckets(b, &n.sk.Neg)
	if n.exact {
		b = binary.AppendUvarint(b, uint64(len(n.values)))
		for _, v := range n.values {
			b = appendFloat(b, v)
		}
	}
	return b, nil
}

func appendFloat(b []byte, f float64) []byte {
	return binary.LittleEndian.AppendUint64(b, math.Float64bits(f))
}

// appendBuckets writes the trimmed run: offset, length, counts.
func appendBuckets(b []byte, bk *Buckets) []byte {
	first, last, ok := bk.span()
	if !ok {
		return append(b, 0, 0)
	}
	b = binary.AppendUvarint(b, uint64(bk.Offset+first))
	b = binary.AppendUvarint(b, uint64(last-first+1))
	for _, c := range bk.Counts[first : last+1] {
		b = binary.AppendUvarint(b, uint64(c))
	}
	return b
}

// UnmarshalBinary replaces n's state with the one encoded in data (see
// MarshalBinary). On error n is unchanged. Errors wrap ErrBadPartial.
func (n *Numeric) UnmarshalBinary(data []byte) error {
	d := decoder{b: data}
	d.header(magicNumeric)
	flags := d.byte()
	bins := d.count(maxDecodeBins)
	exactCap := d.uvarint()
	if exactCap > math.MaxInt {
		d.fail("ExactCap %d out of range", exactCap)
	}
	if flags&^(numFlagEdges|numFlagExact) != 0 {
		d.fail("unknown flags %#x", flags)
	}
	var edges []float64
	var counts []int64
	if flags&numFlagEdges != 0 {
		k := d.length(8)
		if d.err == nil && (k < 2 || k-1 != int(bins)) {
			d.fail("%d edges for %d bins", k, bins)
		}
		edges = make([]float64, 0, k)
		for i := 0; i < k && d.err == nil; i++ {
			e := d.float()
			if math.IsNaN(e) || i > 0 && e < edges[i-1] {
				d.fail("edges not ascending")
			}
			edges = append(edges, e)
		}
		if d.err == nil {
			counts = make([]int64, 0, max(k-1, 0))
			for i := 0; i < k-1 && d.err == nil; i++ {
				counts = append(counts, d.count(maxCount))
			}
		}
	} else if d.err == nil && bins < 1 {
		d.fail("0 bins")
	}
	finite := d.count(maxCount)
	mn, mx := d.float(), d.float()
	nn, mean, m2 := d.float(), d.float(), d.float()
	posInf, negInf, nan := d.count(maxCount), d.count(maxCount), d.count(maxCount)
	var sk Sketch
	sk.Zeros = d.count(maxCount)
	d.buckets(&sk.Pos)
	d.buckets(&sk.Neg)
	exact := flags&numFlagExact != 0
	var values []float64
	if exact {
		k := d.length(8)
		values = make([]float64, 0, k)
		for i := 0; i < k && d.err == nil; i++ {
			values = append(values, d.float())
		}
	}
	d.end()
	if d.err != nil {
		return d.err
	}
	// Invariants Column, Merge and Add rely on.
	switch {
	case finite == 0 && (mn != math.Inf(1) || mx != math.Inf(-1)):
		return badf("numeric: min %v and max %v without values", mn, mx)
	case finite > 0 && (math.IsInf(mn, 0) || math.IsInf(mx, 0) || math.IsNaN(mn) || math.IsNaN(mx) || mn > mx):
		return badf("numeric: min %v, max %v", mn, mx)
	case nn != float64(finite):
		return badf("numeric: moment count %v for %d values", nn, finite)
	case exact && (int64(len(values)) != finite || uint64(len(values)) > exactCap):
		return badf("numeric: %d exact values for %d finite values (ExactCap %d)", len(values), finite, exactCap)
	case finite+posInf+negInf+nan > maxCount:
		return badf("numeric: count over 2^53")
	}
	for _, v := range values {
		if !(v >= mn && v <= mx) {
			return badf("numeric: exact value %v outside [%v, %v]", v, mn, mx)
		}
	}
	var hist int64
	for _, c := range counts {
		if hist += c; hist > finite {
			return badf("numeric: histogram counts more than the %d values", finite)
		}
	}
	if t, ok := sketchTotal(&sk); !ok || t != finite {
		return badf("numeric: sketch holds %d values, want %d", t, finite)
	}
	out := NewNumericWith(edges, NumericOptions{Bins: int(bins), ExactCap: -1})
	out.exactCap = int(exactCap)
	if counts != nil {
		out.counts = counts
	}
	out.exact, out.values, out.finite = exact, values, finite
	out.min, out.max = mn, mx
	out.sk = sk
	out.n, out.mean, out.m2 = nn, mean, m2
	out.posInf, out.negInf, out.nan = posInf, negInf, nan
	*n = *out
	return nil
}

// sketchTotal returns the number of finite values in a decoded sketch
// (false when over maxCount).
func sketchTotal(s *Sketch) (int64, bool) {
	t := s.Zeros
	for _, bk := range []*Buckets{&s.Pos, &s.Neg} {
		for _, c := range bk.Counts {
			if t += c; t > maxCount {
				return t, false
			}
		}
	}
	return t, true
}

const catFlagExact = 1

// MarshalBinary encodes the accumulator's whole state. It does not change c.
func (c *Categorical) MarshalBinary() ([]byte, error) {
	keys := make([]string, 0, len(c.freq))
	size := 64
	for v := range c.freq {
		keys = append(keys, v)
		size += len(v) + 4
	}
	slices.Sort(keys)
	b := make([]byte, 0, size)
	b = append(b, magicCategorical...)
	b = append(b, PartialVersion)
	var flags byte
	if c.exact {
		flags |= catFlagExact
	}
	b = append(b, flags)
	b = binary.AppendUvarint(b, uint64(c.k))
	b = binary.AppendUvarint(b, uint64(c.total))
	b = binary.AppendUvarint(b, uint64(c.nulls))
	b = binary.AppendUvarint(b, uint64(len(keys)))
	for _, v := range keys {
		b = binary.AppendUvarint(b, uint64(len(v)))
		b = append(b, v...)
		b = binary.AppendUvarint(b, uint64(c.freq[v]))
	}
	if !c.exact {
		// The distinctK smallest distinct hashes, ascending, as deltas.
		h := kmv{h: slices.Clone(c.kmv.h), thresh: c.kmv.thresh}
		h.compact()
		b = binary.AppendUvarint(b, uint64(len(h.h)))
		var prev uint64
		for _, x := range h.h {
			b = binary.AppendUvarint(b, x-prev)
			prev = x
		}
	}
	return b, nil
}

// UnmarshalBinary replaces c's state with the one encoded in data (see
// MarshalBinary). On error c is unchanged. Errors wrap ErrBadPartial.
func (c *Categorical) UnmarshalBinary(data []byte) error {
	d := decoder{b: data}
	d.header(magicCategorical)
	flags := d.byte()
	if flags&^catFlagExact != 0 {
		d.fail("unknown flags %#x", flags)
	}
	exact := flags&catFlagExact != 0
	k := d.count(maxDecodeDistinct)
	total, nulls := d.count(maxCount), d.count(maxCount)
	m := d.length(2)
	if d.err == nil && k < 1 {
		d.fail("ExactDistinct 0")
	}
	if d.err == nil && (exact && int64(m) > k || int64(m) > 2*k) {
		d.fail("%d table entries for ExactDistinct %d", m, k)
	}
	freq := make(map[string]int64, m)
	var sum int64
	prev := ""
	for i := 0; i < m && d.err == nil; i++ {
		v := d.str()
		n := d.count(maxCount)
		switch {
		case d.err != nil:
		case i > 0 && v <= prev:
			d.fail("table values not sorted")
		case n < 1:
			d.fail("count 0 for %q", v)
		}
		freq[v], prev = n, v
		sum += n
	}
	var h kmv
	if !exact {
		nh := d.length(1)
		if d.err == nil && nh > distinctK {
			d.fail("%d distinct-count hashes, at most %d", nh, distinctK)
		}
		if nh > 0 && d.err == nil {
			h.h = make([]uint64, 0, nh)
		}
		var x uint64
		for i := 0; i < nh && d.err == nil; i++ {
			delta := d.uvarint()
			if i > 0 && delta == 0 || x+delta < x {
				d.fail("distinct-count hashes not ascending")
			}
			x += delta
			h.h = append(h.h, x)
		}
		if len(h.h) == distinctK {
			if h.thresh = h.h[distinctK-1] + 1; h.thresh == 0 {
				h.thresh = math.MaxUint64
			}
		}
	}
	d.end()
	if d.err != nil {
		return d.err
	}
	switch {
	case exact && sum != total:
		return badf("categorical: table counts %d values, total is %d", sum, total)
	case sum > total:
		return badf("categorical: table counts %d values, more than the total %d", sum, total)
	case total+nulls > maxCount:
		return badf("categorical: count over 2^53")
	}
	*c = Categorical{freq: freq, nulls: nulls, total: total, k: int(k), exact: exact, kmv: h}
	return nil
}

// Partial is the statistics state of one shard of a dataset: the row
// count and one accumulator per column, in column order. Partials of the
// shards of a dataset merge (in any order) into the state of the whole;
// Dataset turns it into the final statistics.
//
// Fields may be added but never renamed or removed.
type Partial struct {
	// Rows is the number of rows accumulated.
	Rows int64
	// Names are the column names, unique, in order.
	Names []string
	// Columns holds the accumulator of each name, in the same order.
	Columns []PartialColumn
}

// PartialColumn holds the accumulator of one column: exactly one of
// Numeric and Categorical is non-nil.
type PartialColumn struct {
	Numeric     *Numeric
	Categorical *Categorical
}

const (
	kindByteNumeric     = 1
	kindByteCategorical = 2
)

// MarshalBinary encodes the partial: header, Rows, then per column its
// name, kind and the accumulator's own encoding. It fails when Names and
// Columns differ in length or a column does not hold exactly one
// accumulator.
func (p *Partial) MarshalBinary() ([]byte, error) {
	if err := p.check(); err != nil {
		return nil, fmt.Errorf("encoding statistics partial: %w", err)
	}
	b := append([]byte(nil), magicPartial...)
	b = append(b, PartialVersion)
	b = binary.AppendUvarint(b, uint64(p.Rows))
	b = binary.AppendUvarint(b, uint64(len(p.Names)))
	for i, name := range p.Names {
		b = binary.AppendUvarint(b, uint64(len(name)))
		b = append(b, name...)
		var (
			enc  []byte
			kind byte
		)
		if col := p.Columns[i]; col.Numeric != nil {
			kind = kindByteNumeric
			enc, _ = col.Numeric.MarshalBinary()
		} else {
			kind = kindByteCategorical
			enc, _ = col.Categorical.MarshalBinary()
		}
		b = append(b, kind)
		b = binary.AppendUvarint(b, uint64(len(enc)))
		b = append(b, enc...)
	}
	return b, nil
}

// check validates the shape of p.
func (p *Partial) check() error {
	if len(p.Names) != len(p.Columns) {
		return fmt.Errorf("%d names for %d columns", len(p.Names), len(p.Columns))
	}
	if p.Rows < 0 {
		return fmt.Errorf("negative row count %d", p.Rows)
	}
	seen := make(map[string]bool, len(p.Names))
	for i, col := range p.Columns {
		if (col.Numeric == nil) == (col.Categorical == nil) {
			return fmt.Errorf("column %q: want exactly one of Numeric and Categorical", p.Names[i])
		}
		if seen[p.Names[i]] {
			return fmt.Errorf("duplicate column name %q", p.Names[i])
		}
		seen[p.Names[i]] = true
	}
	return nil
}

// UnmarshalBinary replaces p with the partial encoded in data. On error p
// is unchanged. Errors wrap ErrBadPartial.
func (p *Partial) UnmarshalBinary(data []byte) error {
	d := decoder{b: data}
	d.header(magicPartial)
	rows := d.count(maxCount)
	// Each column takes at least 3 bytes: name length, kind, body length.
	nc := d.length(3)
	out := Partial{Rows: rows, Names: make([]string, 0, nc), Columns: make([]PartialColumn, 0, nc)}
	seen := make(map[string]bool, nc)
	for i := 0; i < nc && d.err == nil; i++ {
		name := d.str()
		kind := d.byte()
		body := d.bytes()
		if d.err != nil {
			break
		}
		if seen[name] {
			d.fail("duplicate column name %q", name)
			break
		}
		seen[name] = true
		var col PartialColumn
		var err error
		switch kind {
		case kindByteNumeric:
			col.Numeric = new(Numeric)
			err = col.Numeric.UnmarshalBinary(body)
		case kindByteCategorical:
			col.Categorical = new(Categorical)
			err = col.Categorical.UnmarshalBinary(body)
		default:
			d.fail("column %q: unknown kind %d", name, kind)
		}
		if err != nil {
			return fmt.Errorf("decoding column %q: %w", name, err)
		}
		out.Names = append(out.Names, name)
		out.Columns = append(out.Columns, col)
	}
	d.end()
	if d.err != nil {
		return d.err
	}
	*p = out
	return nil
}

// Merge adds other's state into p; other is unchanged. Merging into a
// Partial with no columns and no rows (the zero value) makes p a deep copy
// of other. Otherwise the column names must be equal, in the same order,
// with the same kinds and compatible accumulators (same edges, bins and
// ExactCap; same ExactDistinct); if not, Merge returns an error and leaves
// p unchanged. Results per column follow Numeric.Merge and
// Categorical.Merge.
func (p *Partial) Merge(other *Partial) error {
	if err := other.check(); err != nil {
		return fmt.Errorf("merging statistics partials: %w", err)
	}
	if len(p.Names) == 0 && len(p.Columns) == 0 && p.Rows == 0 {
		p.Names = slices.Clone(other.Names)
		p.Columns = make([]PartialColumn, len(other.Columns))
		for i, col := range other.Columns {
			if col.Numeric != nil {
				p.Columns[i].Numeric = emptyLike(col.Numeric)
			} else {
				p.Columns[i].Categorical = NewCategoricalWith(CategoricalOptions{ExactDistinct: col.Categorical.k})
			}
		}
	}
	if err := p.check(); err != nil {
		return fmt.Errorf("merging statistics partials: %w", err)
	}
	if !slices.Equal(p.Names, other.Names) {
		return fmt.Errorf("merging statistics partials: columns %q and %q differ", p.Names, other.Names)
	}
	for i, a := range p.Columns {
		b := other.Columns[i]
		switch {
		case (a.Numeric == nil) != (b.Numeric == nil):
			return fmt.Errorf("merging statistics partials: column %q is numeric in one and categorical in the other", p.Names[i])
		case a.Numeric != nil && !numericCompatible(a.Numeric, b.Numeric):
			return fmt.Errorf("merging statistics partials: column %q: different edges, bins or ExactCap", p.Names[i])
		case a.Categorical != nil && a.Categorical.k != b.Categorical.k:
			return fmt.Errorf("merging statistics partials: column %q: ExactDistinct %d and %d differ", p.Names[i], a.Categorical.k, b.Categorical.k)
		}
	}
	for i, a := range p.Columns {
		if a.Numeric != nil {
			a.Numeric.Merge(other.Columns[i].Numeric)
		} else {
			a.Categorical.Merge(other.Columns[i].Categorical)
		}
	}
	p.Rows += other.Rows
	return nil
}

// emptyLike returns an empty Numeric configured as n.
func emptyLike(n *Numeric) *Numeric {
	e := NewNumericWith(n.edges, NumericOptions{Bins: n.bins, ExactCap: -1})
	e.exactCap = n.exactCap
	return e
}

// numericCompatible reports whether Numeric.Merge accepts a and b.
func numericCompatible(a, b *Numeric) bool {
	return (a.edges == nil) == (b.edges == nil) && slices.Equal(a.edges, b.edges) && a.bins == b.bins && a.exactCap == b.exactCap
}

// Dataset returns the final statistics: Column() of each accumulator, in
// order. (Numeric.Column sorts its exact values in place, which changes
// nothing observable.)
func (p *Partial) Dataset() *Dataset {
	d := &Dataset{Names: make([]string, 0, len(p.Names)), Columns: make(map[string]*Column, len(p.Names))}
	for i, name := range p.Names {
		var c Column
		if i < len(p.Columns) && p.Columns[i].Numeric != nil {
			c = p.Columns[i].Numeric.Column()
		} else if i < len(p.Columns) && p.Columns[i].Categorical != nil {
			c = p.Columns[i].Categorical.Column()
		} else {
			continue
		}
		d.Set(name, &c)
	}
	return d
}

// decoder reads the encoding; the first error sticks and later reads
// return zero values.
type decoder struct {
	b   []byte
	err error
}

func badf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrBadPartial, fmt.Sprintf(format, args...))
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = badf(format, args...)
	}
}

func (d *decoder) header(magic []byte) {
	if len(d.b) < len(magic)+1 || !bytes.Equal(d.b[:len(magic)], magic) {
		d.fail("not a %q encoding", magic)
		return
	}
	if v := d.b[len(magic)]; v != PartialVersion {
		d.fail("version %d, this build reads %d", v, PartialVersion)
		return
	}
	d.b = d.b[len(magic)+1:]
}

func (d *decoder) byte() byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) < 1 {
		d.fail("truncated")
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, k := binary.Uvarint(d.b)
	if k <= 0 {
		d.fail("truncated or overlong varint")
		return 0
	}
	d.b = d.b[k:]
	return v
}

// count reads a count of at most limit.
func (d *decoder) count(limit uint64) int64 {
	v := d.uvarint()
	if v > limit {
		d.fail("count %d over %d", v, limit)
		return 0
	}
	return int64(v)
}

// length reads the number of following items of at least minSize bytes
// each, which the bytes left must be able to hold.
func (d *decoder) length(minSize int) int {
	v := d.uvarint()
	if d.err == nil && v > uint64(len(d.b)/minSize) {
		d.fail("length %d with %d bytes left", v, len(d.b))
		return 0
	}
	return int(v)
}

func (d *decoder) float() float64 {
	if d.err != nil {
		return 0
	}
	if len(d.b) < 8 {
		d.fail("truncated")
		return 0
	}
	f := math.Float64frombits(binary.LittleEndian.Uint64(d.b))
	d.b = d.b[8:]
	return f
}

func (d *decoder) bytes() []byte {
	k := d.length(1)
	if d.err != nil {
		return nil
	}
	s := d.b[:k:k]
	d.b = d.b[k:]
	return s
}

func (d *decoder) str() string { return string(d.bytes()) }

// buckets reads a trimmed bucket run.
func (d *decoder) buckets(bk *Buckets) {
	off := d.count(sketchMaxKey)
	k := d.length(1)
	if d.err != nil {
		return
	}
	if off+int64(k)-1 > sketchMaxKey {
		d.fail("sketch keys %d..%d out of range", off, off+int64(k)-1)
		return
	}
	if k == 0 {
		return
	}
	counts := make([]int64, k)
	for i := range counts {
		counts[i] = d.count(maxCount)
	}
	bk.Offset, bk.Counts = int(off), counts
}

func (d *decoder) end() {
	if d.err == nil && len(d.b) != 0 {
		d.fail("%d bytes after the end", len(d.b))
	}
}
