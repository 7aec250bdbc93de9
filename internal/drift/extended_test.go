package drift

import (
	"encoding/json"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/batchinfer/batchinfer/internal/stats"
)

// TestPSIJSHistKS checks the formulas on a hand-made case. Expected values
// from numpy 1.24 and scipy 1.10 (jensenshannon(t, u, base=2)) on
// t = [0.5, 0.5, 0], u = [0.2, 0.6, 0.2] (the last bin is "outside": the
// batch has 1 of 5 values beyond the edges). Tolerance 1e-15 absolute: a
// dozen operations on O(1) values.
func TestPSIJSHistKS(t *testing.T) {
	psi, jsd := PSIJS([]int64{2, 2}, 4, []int64{1, 3}, 5)
	for _, c := range []struct {
		k         string
		got, want float64
	}{
		{"psi", psi, 1.8132998671500584},
		{"jsd", jsd, 0.38883310647288394},
		{"hist ks", HistKS([]int64{2, 2}, 4, []int64{1, 3}, 5), 0.3},
	} {
		if math.Abs(c.got-c.want) > 1e-15 {
			t.Errorf("%s = %.17g, want %.17g", c.k, c.got, c.want)
		}
	}
	// Identical distributions: 0; disjoint: JSD 1.
	if psi, jsd := PSIJS([]int64{1, 3}, 4, []int64{2, 6}, 8); psi != 0 || jsd != 0 {
		t.Errorf("identical: psi %v jsd %v", psi, jsd)
	}
	if _, jsd := PSIJS([]int64{4, 0}, 4, []int64{0, 4}, 4); math.Abs(jsd-1) > 1e-15 {
		t.Errorf("disjoint: jsd %v", jsd)
	}
}

// TestChiSquareP checks gonum's survival function against known values
// (scipy.stats.chi2.sf) to 1e-12 absolute.
func TestChiSquareP(t *testing.T) {
	for _, c := range []struct {
		x, dof, want float64
	}{{3.841458820694124, 1, 0.04999999999999989}, {11.349206349206348, 2, 0.003432030623025766}, {20, 7, 0.005569683072945574}} {
		got := chiSurvival(c.x, c.dof)
		if math.Abs(got-c.want) > 1e-12 {
			t.Errorf("chi2.sf(%v, %v) = %.17g, want %.17g", c.x, c.dof, got, c.want)
		}
	}
}

func chiSurvival(x, dof float64) float64 { return chiSF(x, dof) }

func categorical(vals map[string]int, nulls int) *stats.Column {
	c := stats.NewCategorical()
	keys := make([]string, 0, len(vals))
	for k := range vals {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		for range vals[k] {
			c.Add(k)
		}
	}
	c.AddNull(nulls)
	col := c.Column()
	return &col
}

// TestCategoricalDrift: reference {a:10, b:20}, batch {a:20, b:10, c:5}
// with c unseen. Expected values from numpy/scipy (see TestPSIJSHistKS):
// p = [1/3, 2/3, 0], q = [4/7, 2/7, 1/7]; TVD = L∞ = 8/21; chi-square over
// the 2x3 table 11.349206349206348 with 2 DoF, p = exp(-X²/2).
func TestCategoricalDrift(t *testing.T) {
	ref, bat := &stats.Dataset{}, &stats.Dataset{}
	ref.Set("color", categorical(map[string]int{"a": 10, "b": 20}, 0))
	bat.Set("color", categorical(map[string]int{"a": 20, "b": 10, "c": 5}, 5))
	r := Analyze(ref, bat, DefaultThresholds())
	f := r.Features[0]
	if f.Compared || f.Note != NoteNoRefHist || !f.Categorical || r.Compared != 0 {
		t.Fatalf("feature %+v", f)
	}
	for _, c := range []struct {
		k         string
		got, want float64
	}{
		{"tvd", f.CatTVD, 0.38095238095238093},
		{"hellinger", f.CatHellinger, 0.35655075242667844},
		{"linf", f.CatLInf, 0.38095238095238093},
		{"chi2", f.ChiSquare, 11.349206349206348},
		{"p", f.ChiSquareP, 0.003432030623025766},
		{"p closed form", f.ChiSquareP, math.Exp(-f.ChiSquare / 2)},
		{"unseen share", f.UnseenShare, 5.0 / 35},
		{"missing batch", f.MissingBatch, 5.0 / 40},
		{"missing change", f.MissingChange, 5.0 / 40},
	} {
		if math.Abs(c.got-c.want) > 1e-12 {
			t.Errorf("%s = %.17g, want %.17g", c.k, c.got, c.want)
		}
	}
	if f.ChiSquareDoF != 2 || f.Unseen != 1 || !slices.Equal(r.Unseen["color"], []string{"c"}) ||
		f.CatStatus != NoDrift || r.Assessed != 1 || r.Drifted != 0 || r.DriftedShare != 0 {
		t.Errorf("feature %+v result %+v", f, r)
	}
	// Drift results stay MLRun's (no categorical entry); the extended
	// document carries the categorical metrics.
	if b, _ := r.DriftResultsJSON(); strings.Contains(string(b), "color") {
		t.Errorf("drift_results lists a categorical feature: %s", b)
	}
	ext, err := r.ExtendedJSON()
	if err != nil || !json.Valid(ext) {
		t.Fatalf("extended %s: %v", ext, err)
	}
	var doc struct {
		Features map[string]struct {
			Categorical struct {
				Unseen []string `json:"unseen"`
				P      float64  `json:"chi_square_p_value"`
				DoF    int      `json:"chi_square_dof"`
			} `json:"categorical"`
		} `json:"features"`
		Assessed int `json:"assessed_features"`
	}
	if err := json.Unmarshal(ext, &doc); err != nil {
		t.Fatal(err)
	}
	if c := doc.Features["color"].Categorical; !slices.Equal(c.Unseen, []string{"c"}) || c.DoF != 2 || math.Abs(c.P-0.003432030623025766) > 1e-15 || doc.Assessed != 1 {
		t.Errorf("extended %s", ext)
	}

	// A categorical feature that drifts counts in the drifted share.
	bat.Set("color", categorical(map[string]int{"z": 30}, 0))
	r = Analyze(ref, bat, DefaultThresholds())
	if f := r.Features[0]; f.CatStatus != DriftDetected || f.CatTVD != 1 || f.CatHellinger != 1 || f.Unseen != 1 ||
		r.Drifted != 1 || r.DriftedShare != 1 {
		t.Errorf("disjoint categories: %+v %+v", f, r)
	}
	// A reference without a frequency table (MLRun's) is not compared.
	old := &stats.Column{Kind: stats.KindCategorical, Count: 30, Unique: 2, Top: "b", Freq: 20}
	ref.Set("color", old)
	if f := Analyze(ref, bat, DefaultThresholds()).Features[0]; f.Categorical {
		t.Errorf("compared without a reference table: %+v", f)
	}
}

// TestGoldenExtended: the golden example's extended metrics. KS from the
// sketches equals the exact two-sample KS here (every value in its own
// bucket): a 0.4, b 0.3, label 0.4; and the histogram KS of MLRun-style
// statistics without sketches gives the same on these data.
func TestGoldenExtended(t *testing.T) {
	ref, bat := golden()
	r := Analyze(ref, bat, DefaultThresholds())
	wantKS := map[string]float64{"a": 0.4, "b": 0.3, "label": 0.4}
	for _, f := range r.Features {
		if f.KSSource != KSFromSketch || math.Abs(f.KS-wantKS[f.Name]) > 1e-15 || !f.HasMissing || f.MissingChange != 0 {
			t.Errorf("%s: %+v", f.Name, f)
		}
	}
	// a: t = 0.1 in 10 bins, u = 0.1 in the 6 bins of 5..10 and 0.4 outside.
	psi, jsd := PSIJS(ref.Columns["a"].Hist.Counts, 10, bat.Columns["a"].Hist.Counts, 10)
	if f := r.Features[0]; f.PSI != psi || f.JSD != jsd ||
		math.Abs(psi-(4*(-0.1)*math.Log(1e-4/0.1)+0.4*math.Log(0.4/1e-4))) > 1e-12 {
		t.Errorf("a: psi %v jsd %v, feature %+v", psi, jsd, f)
	}
	if r.Assessed != 3 || r.Drifted != 0 || r.DriftedShare != 0 ||
		math.Abs(r.KSMean-1.1/3) > 1e-15 {
		t.Errorf("result %+v", r)
	}
	// MLRun's reference statistics have no sketch: KS from the histograms.
	for _, c := range ref.Columns {
		c.Sketch = nil
	}
	r = Analyze(ref, bat, DefaultThresholds())
	for _, f := range r.Features {
		if f.KSSource != KSFromHist || math.Abs(f.KS-wantKS[f.Name]) > 1e-15 {
			t.Errorf("hist KS %s: %+v", f.Name, f)
		}
	}
	b, err := r.ExtendedJSON()
	var doc map[string]any
	if err != nil || json.Unmarshal(b, &doc) != nil || doc["assessed_features"] != 3.0 ||
		!strings.Contains(string(b), `"ks_source":"hist"`) {
		t.Errorf("extended %s (%v)", b, err)
	}
	// drift_results keeps exactly MLRun's key set.
	dr, _ := r.DriftResultsJSON()
	var m map[string]any
	if err := json.Unmarshal(dr, &m); err != nil || len(m) != 9 {
		t.Errorf("drift_results %s", dr)
	}
}

func TestMissingRate(t *testing.T) {
	ref := reference(rawColumn{"x", []float64{1, 2, 3, 4, 5, 6, 7, 8, math.NaN(), math.NaN()}})
	bat := batch(ref, rawColumn{"x", []float64{1, 2, 3, 4}})
	f := Analyze(ref, bat, DefaultThresholds()).Features[0]
	if !f.HasMissing || f.MissingRef != 0.2 || f.MissingBatch != 0 || f.MissingChange != -0.2 {
		t.Errorf("%+v", f)
	}
}

// TestKindsDiffer: a column numeric on one side and categorical on the
// other (declared categorical for a run whose reference is numeric, or the
// reverse) is listed, not compared, with NoteKindsDiffer; the categorical
// metrics need tables on both sides.
func TestKindsDiffer(t *testing.T) {
	num := reference(rawColumn{"x", seq(0, 9)})
	numCol, _ := num.Get("x")
	for _, tc := range []struct {
		name     string
		ref, bat *stats.Column
	}{
		{"categorical batch, numeric reference", numCol, categorical(map[string]int{"1": 3}, 0)},
		{"numeric batch, categorical reference", categorical(map[string]int{"1": 3}, 0), numCol},
	} {
		ref, bat := &stats.Dataset{}, &stats.Dataset{}
		ref.Set("x", tc.ref)
		bat.Set("x", tc.bat)
		r := Analyze(ref, bat, DefaultThresholds())
		if f := r.Features[0]; f.Compared || f.Categorical || f.Note != NoteKindsDiffer || r.Assessed != 0 {
			t.Errorf("%s: %+v", tc.name, f)
		}
	}
}
