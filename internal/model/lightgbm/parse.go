package lightgbm

import (
	"errors"
	"fmt"
	"iter"
	"strconv"
	"strings"

	"github.com/batchinfer/batchinfer/internal/model"
)

// rawTree is one Tree=k block as written in the file, validated for lengths
// but not yet for structure.
type rawTree struct {
	numLeaves     int
	splitFeature  []int32
	threshold     []float64
	decisionType  []uint8
	left, right   []int32
	leafValue     []float64
	catBoundaries []int32
	catThreshold  []uint32

	isLinear     bool
	leafConst    []float64
	numFeatures  []int32 // per leaf
	leafFeatures []int32 // all leaves' features, concatenated
	leafCoeff    []float64
}

// rawModel is the parsed text before flattening.
type rawModel struct {
	version       string
	numClass      int
	treesPerIter  int
	maxFeatureIdx int
	objective     string
	averageOutput bool
	featureNames  []string
	boosting      string // from the parameters block, "" when absent
	dataSample    string // data_sample_strategy (v4), "" when absent
	trees         []rawTree
}

// maxFeatures bounds max_feature_idx+1 so that feature indices fit the node
// encoding (see node) whatever the file says.
const maxFeatures = 1 << 26

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: lightgbm: %s", model.ErrMalformed, fmt.Sprintf(format, args...))
}

// lines iterates over the lines of s without copying; a trailing '\r' is
// dropped.
type lines struct {
	s    string
	pos  int
	line int // 1-based number of the line last returned
}

func (l *lines) next() (string, bool) {
	if l.pos >= len(l.s) {
		return "", false
	}
	rest := l.s[l.pos:]
	i := strings.IndexByte(rest, '\n')
	var ln string
	if i < 0 {
		ln = rest
		l.pos = len(l.s)
	} else {
		ln = rest[:i]
		l.pos += i + 1
	}
	l.line++
	return strings.TrimSuffix(ln, "\r"), true
}

// parseText parses a LightGBM text model. Every allocation is bounded by the
// length of the text that holds its elements.
func parseText(s string) (*rawModel, error) {
	rm := &rawModel{numClass: -1, treesPerIter: -1, maxFeatureIdx: -1}
	l := &lines{s: s}

	// Header: "tree", then key=value lines (and the bare "average_output")
	// up to the first Tree= block or "end of trees".
	first := ""
	for {
		ln, ok := l.next()
		if !ok {
			return nil, malformed("empty model text")
		}
		if ln = strings.TrimSpace(ln); ln != "" {
			first = ln
			break
		}
	}
	if first != "tree" {
		return nil, malformed("first line is %.40q, want \"tree\"", first)
	}
	header := map[string]string{}
	var pending string // the line that ended the header
	for {
		ln, ok := l.next()
		if !ok {
			return nil, malformed("truncated: no trees and no \"end of trees\"")
		}
		if strings.HasPrefix(ln, "Tree=") || ln == "end of trees" {
			pending = ln
			break
		}
		if ln == "" {
			continue
		}
		k, v, _ := strings.Cut(ln, "=")
		if _, dup := header[k]; !dup {
			header[k] = v
		}
	}
	if err := rm.readHeader(header, len(s)); err != nil {
		return nil, err
	}

	// Tree blocks.
	for pending != "end of trees" {
		kv := map[string]string{}
		for {
			ln, ok := l.next()
			if !ok {
				return nil, malformed("truncated in tree %d (line %d): no \"end of trees\"", len(rm.trees), l.line)
			}
			if strings.HasPrefix(ln, "Tree=") || ln == "end of trees" {
				pending = ln
				break
			}
			if ln == "" {
				continue
			}
			k, v, ok := strings.Cut(ln, "=")
			if !ok {
				return nil, malformed("tree %d: line %d is not key=value: %.40q", len(rm.trees), l.line, ln)
			}
			if _, dup := kv[k]; dup {
				return nil, malformed("tree %d: duplicate key %q", len(rm.trees), k)
			}
			kv[k] = v
		}
		t, err := parseTree(kv, len(s))
		if err != nil {
			return nil, fmt.Errorf("tree %d: %w", len(rm.trees), err)
		}
		rm.trees = append(rm.trees, t)
	}

	// Trailer: feature importances, then the parameters block, whose
	// "[boosting: x]" names the booster (absent in some older files).
	for {
		ln, ok := l.next()
		if !ok {
			break
		}
		if v, ok := paramValue(ln, "boosting"); ok && rm.boosting == "" {
			rm.boosting = v
		}
		if v, ok := paramValue(ln, "data_sample_strategy"); ok && rm.dataSample == "" {
			rm.dataSample = v
		}
	}
	return rm, nil
}

// paramValue extracts x from a parameters-block line "[name: x]".
func paramValue(ln, name string) (string, bool) {
	ln = strings.TrimSpace(ln)
	if !strings.HasPrefix(ln, "[") || !strings.HasSuffix(ln, "]") {
		return "", false
	}
	k, v, ok := strings.Cut(ln[1:len(ln)-1], ":")
	if !ok || strings.TrimSpace(k) != name {
		return "", false
	}
	return strings.TrimSpace(v), true
}

func (rm *rawModel) readHeader(h map[string]string, size int) error {
	v, ok := h["version"]
	if !ok {
		return fmt.Errorf("%w: lightgbm: no version line (pre-2.0 text model)", model.ErrUnsupported)
	}
	switch v {
	case "v2", "v3", "v4":
		rm.version = v
	default:
		return fmt.Errorf("%w: lightgbm: text model version %.20q", model.ErrUnsupported, v)
	}
	var err error
	if rm.numClass, err = headerInt(h, "num_class", size); err != nil {
		return err
	}
	if rm.numClass < 1 {
		return malformed("num_class=%d", rm.numClass)
	}
	rm.treesPerIter = rm.numClass
	if _, ok := h["num_tree_per_iteration"]; ok {
		if rm.treesPerIter, err = headerInt(h, "num_tree_per_iteration", size); err != nil {
			return err
		}
	}
	if rm.treesPerIter < 1 {
		return malformed("num_tree_per_iteration=%d", rm.treesPerIter)
	}
	if rm.maxFeatureIdx, err = headerInt(h, "max_feature_idx", size); err != nil {
		return err
	}
	if rm.maxFeatureIdx < 0 || rm.maxFeatureIdx >= maxFeatures || rm.maxFeatureIdx >= size {
		return malformed("max_feature_idx=%d out of range", rm.maxFeatureIdx)
	}
	rm.objective = strings.TrimSpace(h["objective"])
	_, rm.averageOutput = h["average_output"]
	if names, ok := h["feature_names"]; ok {
		n := countFields(names)
		if n != rm.maxFeatureIdx+1 {
			return malformed("feature_names has %d names, max_feature_idx+1 = %d", n, rm.maxFeatureIdx+1)
		}
		rm.featureNames = make([]string, 0, n)
		for f := range spaceFields(names) {
			rm.featureNames = append(rm.featureNames, f)
		}
	}
	return nil
}

func headerInt(h map[string]string, key string, size int) (int, error) {
	v, ok := h[key]
	if !ok {
		return 0, malformed("missing %s", key)
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return 0, malformed("%s: %v", key, err)
	}
	if n > size || n < -size {
		return 0, malformed("%s=%d exceeds the file size", key, n)
	}
	return n, nil
}

func parseTree(kv map[string]string, size int) (rawTree, error) {
	var t rawTree
	n, err := headerInt(kv, "num_leaves", size)
	if err != nil {
		return t, err
	}
	if n < 1 {
		return t, malformed("num_leaves=%d", n)
	}
	t.numLeaves = n
	numCat := 0
	if _, ok := kv["num_cat"]; ok {
		if numCat, err = headerInt(kv, "num_cat", size); err != nil {
			return t, err
		}
		if numCat < 0 || numCat > n {
			return t, malformed("num_cat=%d with %d leaves", numCat, n)
		}
	}
	if t.leafValue, err = floatsOf(kv, "leaf_value", n); err != nil {
		return t, err
	}
	if li, ok := kv["is_linear"]; ok {
		switch strings.TrimSpace(li) {
		case "0":
		case "1":
			t.isLinear = true
		default:
			return t, malformed("is_linear=%.20q", li)
		}
	}
	if n > 1 {
		in := n - 1
		if t.splitFeature, err = intsOf(kv, "split_feature", in); err != nil {
			return t, err
		}
		if t.threshold, err = floatsOf(kv, "threshold", in); err != nil {
			return t, err
		}
		dt, err := intsOf(kv, "decision_type", in)
		if err != nil {
			return t, err
		}
		t.decisionType = make([]uint8, in)
		for i, d := range dt {
			if d < -128 || d > 255 {
				return t, malformed("decision_type %d out of range", d)
			}
			t.decisionType[i] = uint8(d)
		}
		if t.left, err = intsOf(kv, "left_child", in); err != nil {
			return t, err
		}
		if t.right, err = intsOf(kv, "right_child", in); err != nil {
			return t, err
		}
	}
	if numCat > 0 {
		if t.catBoundaries, err = intsOf(kv, "cat_boundaries", numCat+1); err != nil {
			return t, err
		}
		total := int(t.catBoundaries[numCat])
		if t.catBoundaries[0] != 0 || total < 0 || total > size {
			return t, malformed("cat_boundaries out of range")
		}
		for i := 1; i <= numCat; i++ {
			if t.catBoundaries[i] < t.catBoundaries[i-1] {
				return t, malformed("cat_boundaries not increasing")
			}
		}
		s, ok := kv["cat_threshold"]
		if !ok {
			return t, malformed("missing cat_threshold")
		}
		if c := countFields(s); c != total {
			return t, malformed("cat_threshold has %d values, cat_boundaries end at %d", c, total)
		}
		t.catThreshold = make([]uint32, 0, total)
		for f := range spaceFields(s) {
			u, err := strconv.ParseUint(f, 10, 32)
			if err != nil {
				return t, malformed("cat_threshold: %v", err)
			}
			t.catThreshold = append(t.catThreshold, uint32(u))
		}
	}
	if t.isLinear {
		if t.leafConst, err = floatsOf(kv, "leaf_const", n); err != nil {
			return t, err
		}
		if t.numFeatures, err = intsOf(kv, "num_features", n); err != nil {
			return t, err
		}
		total := 0
		for _, c := range t.numFeatures {
			if c < 0 || int(c) > size {
				return t, malformed("num_features %d out of range", c)
			}
			total += int(c)
		}
		if total > size {
			return t, malformed("num_features total %d exceeds the file size", total)
		}
		if t.leafFeatures, err = intsOf(kv, "leaf_features", total); err != nil {
			return t, err
		}
		if t.leafCoeff, err = floatsOf(kv, "leaf_coeff", total); err != nil {
			return t, err
		}
	}
	return t, nil
}

// countFields counts the space-separated fields of s without allocating.
func countFields(s string) int {
	n := 0
	in := false
	for i := 0; i < len(s); i++ {
		sp := s[i] == ' ' || s[i] == '\t'
		if !sp && !in {
			n++
		}
		in = !sp
	}
	return n
}

// spaceFields yields the fields of s separated by runs of ' ' or '\t' (the
// same fields countFields counts).
func spaceFields(s string) iter.Seq[string] {
	return func(yield func(string) bool) {
		i := 0
		for i < len(s) {
			for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
				i++
			}
			j := i
			for j < len(s) && s[j] != ' ' && s[j] != '\t' {
				j++
			}
			if j > i && !yield(s[i:j]) {
				return
			}
			i = j
		}
	}
}

// intsOf parses exactly want int32 values from kv[key]. A missing key counts
// as empty.
func intsOf(kv map[string]string, key string, want int) ([]int32, error) {
	s, ok := kv[key]
	if !ok && want > 0 {
		return nil, malformed("missing %s", key)
	}
	if c := countFields(s); c != want {
		return nil, malformed("%s has %d values, want %d", key, c, want)
	}
	out := make([]int32, 0, want)
	for f := range spaceFields(s) {
		v, err := strconv.ParseInt(f, 10, 32)
		if err != nil {
			return nil, malformed("%s: %v", key, err)
		}
		out = append(out, int32(v))
	}
	return out, nil
}

// floatsOf parses exactly want float64 values from kv[key] (correctly
// rounded, as LightGBM's reader).
func floatsOf(kv map[string]string, key string, want int) ([]float64, error) {
	s, ok := kv[key]
	if !ok && want > 0 {
		return nil, malformed("missing %s", key)
	}
	if c := countFields(s); c != want {
		return nil, malformed("%s has %d values, want %d", key, c, want)
	}
	out := make([]float64, 0, want)
	for f := range spaceFields(s) {
		v, err := strconv.ParseFloat(f, 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) { // out of range: ±Inf or 0, as C's strtod
			return nil, malformed("%s: %v", key, err)
		}
		out = append(out, v)
	}
	return out, nil
}
