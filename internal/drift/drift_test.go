package drift

import (
	"encoding/json"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/batchinfer/batchinfer/internal/stats"
)

func seq(lo, hi float64) []float64 {
	var xs []float64
	for x := lo; x <= hi; x++ {
		xs = append(xs, x)
	}
	return xs
}

type rawColumn struct {
	name string
	xs   []float64
}

// reference builds reference statistics from raw values (own edges).
func reference(cols ...rawColumn) *stats.Dataset {
	var d stats.Dataset
	for _, c := range cols {
		n := stats.NewNumeric(nil, stats.DefaultBins)
		n.Add(c.xs)
		col := n.Column()
		d.Set(c.name, &col)
	}
	return &d
}

// batch builds batch statistics over the reference edges where the reference
// has them, own edges otherwise.
func batch(ref *stats.Dataset, cols ...rawColumn) *stats.Dataset {
	var d stats.Dataset
	for _, c := range cols {
		n := stats.NewNumeric(EdgesFor(ref, c.name), stats.DefaultBins)
		n.Add(c.xs)
		col := n.Column()
		d.Set(c.name, &col)
	}
	return &d
}

// golden returns drift-spec section 5's reference and batch statistics.
func golden() (ref, bat *stats.Dataset) {
	ref = reference(
		rawColumn{"a", seq(1, 10)},
		rawColumn{"b", []float64{0, 0, 0, 0, 0, 1, 1, 1, 1, 1}},
		rawColumn{"label", []float64{0, 1, 0, 1, 0, 1, 0, 1, 0, 1}},
	)
	bat = batch(ref,
		rawColumn{"a", seq(5, 14)},
		rawColumn{"b", []float64{0, 0, 1, 1, 1, 1, 1, 1, 1, 1}},
		rawColumn{"label", []float64{1, 1, 1, 1, 1, 1, 0, 1, 1, 1}},
	)
	return ref, bat
}

// TestGolden checks drift-spec section 5 end to end. The expected numbers
// come from numpy 1.24 / pandas 1.5 (MLRun 1.3-1.4 math); the spec asks for
// 1e-12 (absolute; every value is O(1)), which covers numpy's pairwise
// summation against our in-order sums.
func TestGolden(t *testing.T) {
	const tol = 1e-12
	ref, bat := golden()
	ca, _ := ref.Get("a")
	if ca.Hist.Edges[13] != 6.8500000000000005 || ca.Hist.Edges[1] != 1.45 || ca.Hist.Edges[20] != 10 {
		t.Fatalf("reference a edges = %v", ca.Hist.Edges)
	}
	ba, _ := bat.Get("a")
	var mass float64
	for _, c := range ba.Hist.Counts {
		mass += float64(c) / ba.Count
	}
	if math.Abs(mass-0.6) > tol {
		t.Errorf("batch a mass = %v, want 0.6 (11..14 outside the edges)", mass)
	}

	r := Analyze(ref, bat, DefaultThresholds())
	want := []struct {
		name                  string
		tvd, hell, kld, value float64
	}{
		{"a", 0.2, 0.6324555320336759, 2.763102111592855, 0.416227766016838},
		{"b", 0.30000000000000004, 0.22653190051179597, 0.4158883083359672, 0.263265950255898},
		{"label", 0.4, 0.32491969623290634, 0.8788898309344878, 0.36245984811645315},
	}
	if len(r.Features) != len(want) || r.Compared != 3 {
		t.Fatalf("features %+v, compared %d", r.Features, r.Compared)
	}
	for i, w := range want {
		f := r.Features[i]
		if f.Name != w.name || !f.Compared || f.Status != NoDrift || f.Note != "" {
			t.Errorf("feature %d = %+v", i, f)
		}
		for _, v := range []struct {
			k         string
			got, want float64
		}{{"tvd", f.TVD, w.tvd}, {"hellinger", f.Hellinger, w.hell}, {"kld", f.KLD, w.kld}, {"value", f.Value, w.value}} {
			if math.Abs(v.got-v.want) > tol {
				t.Errorf("%s %s = %.17g, want %.17g", w.name, v.k, v.got, v.want)
			}
		}
	}
	for _, v := range []struct {
		k         string
		got, want float64
	}{
		{"tvd_mean", r.TVDMean, 0.3}, {"hellinger_mean", r.HellingerMean, 0.39463570959279276},
		{"kld_mean", r.KLDMean, 1.3526267502877698}, {"drift_metric", r.DriftMetric, 0.3473178547963964},
		{"tvd_sum", r.TVDSum, 0.9}, {"hellinger_sum", r.HellingerSum, 3 * 0.39463570959279276},
		{"kld_sum", r.KLDSum, 3 * 1.3526267502877698},
	} {
		if math.Abs(v.got-v.want) > tol {
			t.Errorf("%s = %.17g, want %.17g", v.k, v.got, v.want)
		}
	}
	if r.DriftStatus {
		t.Error("drift_status = true, want false")
	}
	if st := r.FeatureStatus(); len(st) != 3 || st["a"] != NoDrift || st["b"] != NoDrift || st["label"] != NoDrift {
		t.Errorf("statuses %v", st)
	}

	// The artifacts: valid JSON, column order, MLRun's keys.
	dr, err := r.DriftResultsJSON()
	if err != nil || !json.Valid(dr) {
		t.Fatalf("drift_results %s: %v", dr, err)
	}
	if !strings.HasPrefix(string(dr), `{"a":{"tvd":0.2,"hellinger":0.63245553203367`) ||
		!strings.Contains(string(dr), `"label":{"tvd":0.4,`) ||
		!strings.Contains(string(dr), `},"tvd_sum":`) || !strings.Contains(string(dr), `,"kld_mean":1.35262675028776`) {
		t.Errorf("drift_results = %s", dr)
	}
	var parsed map[string]any
	if err := json.Unmarshal(dr, &parsed); err != nil || len(parsed) != 9 {
		t.Errorf("drift_results keys: %v %v", parsed, err)
	}
	fd, err := r.FeaturesDriftJSON()
	if err != nil {
		t.Fatal(err)
	}
	var fdm map[string]float64
	if err := json.Unmarshal(fd, &fdm); err != nil || len(fdm) != 3 || math.Abs(fdm["b"]-0.263265950255898) > tol ||
		!strings.HasPrefix(string(fd), `{"a":`) {
		t.Errorf("features_drift_results = %s (%v)", fd, err)
	}
}

// TestGoldenThroughJSON reruns the golden example after a JSON round trip of
// both datasets, as the workflow stores them between activities: the numbers
// must not move at all.
func TestGoldenThroughJSON(t *testing.T) {
	ref, bat := golden()
	direct := Analyze(ref, bat, DefaultThresholds())
	rt := func(d *stats.Dataset) *stats.Dataset {
		b, err := d.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		out, err := stats.ParseDataset(b)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	got := Analyze(rt(ref), rt(bat), DefaultThresholds())
	if !slices.Equal(got.Features, direct.Features) || got.DriftMetric != direct.DriftMetric {
		t.Errorf("after JSON: %+v\nwant %+v", got, direct)
	}
}

func TestStatusOf(t *testing.T) {
	th := DefaultThresholds()
	for _, tc := range []struct {
		d    float64
		want Status
	}{{0, NoDrift}, {0.4999, NoDrift}, {0.5, PossibleDrift}, {0.69, PossibleDrift}, {0.7, DriftDetected}, {1, DriftDetected}} {
		if got := StatusOf(tc.d, th); got != tc.want {
			t.Errorf("StatusOf(%v) = %s, want %s", tc.d, got, tc.want)
		}
	}
}

// TestDistances checks the formulas on hand-computed cases (tolerance 1e-15
// absolute: a handful of operations on O(1) values).
func TestDistances(t *testing.T) {
	for _, tc := range []struct {
		name           string
		ref            []int64
		rc             float64
		in             []int64
		ic             float64
		tvd, hell, kld float64
	}{
		{"identical", []int64{1, 1}, 2, []int64{2, 2}, 4, 0, 0, 0},
		// Disjoint: TVD 1, H 1, KLD = 2 * ln(1/1e-4).
		{"disjoint", []int64{2, 0}, 2, []int64{0, 3}, 3, 1, 1, 2 * math.Log(1e4)},
		// All batch mass outside the edges: u = 0.
		{"batch all outside", []int64{1, 1}, 2, []int64{0, 0}, 5, 0.5, 1, math.Log(0.5 / 1e-4)},
	} {
		tvd, h, k := Distances(tc.ref, tc.rc, tc.in, tc.ic)
		if math.Abs(tvd-tc.tvd) > 1e-15 || math.Abs(h-tc.hell) > 1e-15 || math.Abs(k-tc.kld) > 1e-12 {
			t.Errorf("%s: got %v %v %v, want %v %v %v", tc.name, tvd, h, k, tc.tvd, tc.hell, tc.kld)
		}
	}
	// Hellinger is clamped at 0 when rounding pushes the Bhattacharyya sum above 1.
	_, h, _ := Distances([]int64{1, 1, 1}, 3, []int64{1, 1, 1}, 3)
	if h != 0 {
		t.Errorf("identical thirds: hellinger %v, want 0", h)
	}
}

func TestMissingColumns(t *testing.T) {
	ref := reference(rawColumn{"a", seq(1, 10)}, rawColumn{"only_ref", seq(1, 3)})
	cc := stats.NewCategorical()
	cc.Add("x")
	ccol := cc.Column()
	ref.Set("cat", &ccol)
	empty := stats.NewNumeric(nil, 0)
	empty.AddNull(2)
	ecol := empty.Column()
	ref.Set("all_null", &ecol)

	bat := batch(ref,
		rawColumn{"new", seq(1, 4)},
		rawColumn{"a", []float64{1, 1000, 2}},
		rawColumn{"all_null", seq(1, 2)},
	)
	batCat := stats.NewCategorical()
	batCat.Add("x")
	bc := batCat.Column()
	bat.Set("cat", &bc)
	nothing := stats.NewNumeric(EdgesFor(ref, "a"), 0)
	nothing.AddNull(1)
	noth := nothing.Column()
	bat.Set("a_empty", &noth)
	ref.Set("a_empty", ref.Columns["a"])
	own := stats.NewNumeric(nil, 5)
	own.Add(seq(1, 10))
	oc := own.Column()
	bat.Set("own_edges", &oc)
	ref.Set("own_edges", ref.Columns["a"])

	r := Analyze(ref, bat, DefaultThresholds())
	want := []struct {
		name     string
		compared bool
		note     string
	}{
		{"new", false, NoteNoReference},
		{"a", true, ""},
		{"all_null", false, NoteNoRefHist},
		{"cat", false, NoteNoRefHist},
		{"a_empty", false, NoteNoValues},
		{"own_edges", false, NoteEdgesDiffer},
		{"only_ref", false, NoteNotInBatch},
	}
	if len(r.Features) != len(want) {
		t.Fatalf("features = %+v", r.Features)
	}
	for i, w := range want {
		f := r.Features[i]
		if f.Name != w.name || f.Compared != w.compared || f.Note != w.note {
			t.Errorf("feature %d = %+v, want %+v", i, f, w)
		}
	}
	if r.Compared != 1 || r.TVDMean != r.TVDSum {
		t.Errorf("compared %d tvd mean %v sum %v", r.Compared, r.TVDMean, r.TVDSum)
	}
	if _, ok := r.FeatureStatus()["new"]; ok {
		t.Error("status reported for a non-compared feature")
	}
}

func TestNothingCompared(t *testing.T) {
	for _, tc := range []struct {
		name     string
		ref, bat *stats.Dataset
	}{
		{"nil both", nil, nil},
		{"nil reference", nil, reference(rawColumn{"a", seq(1, 3)})},
		{"nil batch", reference(rawColumn{"a", seq(1, 3)}), nil},
		{"empty", &stats.Dataset{}, &stats.Dataset{}},
	} {
		r := Analyze(tc.ref, tc.bat, DefaultThresholds())
		if r.Compared != 0 || r.DriftMetric != 0 || r.DriftStatus || r.TVDMean != 0 || r.KLDSum != 0 {
			t.Errorf("%s: %+v", tc.name, r)
		}
		b, err := r.DriftResultsJSON()
		if err != nil || !json.Valid(b) {
			t.Errorf("%s: drift_results %s %v", tc.name, b, err)
		}
		if b, _ := r.FeaturesDriftJSON(); string(b) != "{}" {
			t.Errorf("%s: features_drift_results %s", tc.name, b)
		}
	}
	if EdgesFor(nil, "a") != nil {
		t.Error("EdgesFor(nil) != nil")
	}
}

func TestDriftDetected(t *testing.T) {
	ref := reference(rawColumn{"x", seq(1, 10)})
	bat := batch(ref, rawColumn{"x", []float64{10, 10, 10, 10}})
	r := Analyze(ref, bat, DefaultThresholds())
	f := r.Features[0]
	// t = 0.1 in 10 bins, u = 1 in the last: TVD 0.9, H = sqrt(1-sqrt(0.1)).
	if math.Abs(f.TVD-0.9) > 1e-15 || math.Abs(f.Hellinger-math.Sqrt(1-math.Sqrt(0.1))) > 1e-15 ||
		f.Status != DriftDetected || !r.DriftStatus {
		t.Errorf("%+v %+v", f, r)
	}
	noDrift, possible, detected := r.Counts()
	if noDrift != 0 || possible != 0 || detected != 1 {
		t.Errorf("counts %d %d %d", noDrift, possible, detected)
	}
}
