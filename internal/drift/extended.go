package drift

import (
	"math"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/batchinfer/batchinfer/internal/stats"
)

// MaxUnseenNames bounds the unseen category names kept per feature in
// Result.Unseen (Feature.Unseen counts them all).
const MaxUnseenNames = 100

// psiFloor replaces a zero share in PSI's logarithm (the same 1e-4 as
// MLRun's KLD capping).
const psiFloor = 1e-4

// KS sources.
const (
	KSFromSketch = "sketch"
	KSFromHist   = "hist"
)

// extend sets f's extended metrics and updates r's extended aggregates.
func (r *Result) extend(f *Feature, rc, bc *stats.Column, th Thresholds) {
	if rt, bt := rc.Count+float64(rc.NaNCount), bc.Count+float64(bc.NaNCount); rt > 0 && bt > 0 {
		f.HasMissing = true
		f.MissingRef = float64(rc.NaNCount) / rt
		f.MissingBatch = float64(bc.NaNCount) / bt
		f.MissingChange = f.MissingBatch - f.MissingRef
	}
	if f.Compared {
		f.PSI, f.JSD = PSIJS(rc.Hist.Counts, rc.Count, bc.Hist.Counts, bc.Count)
		if ks, ok := stats.KS(rc.Sketch, bc.Sketch); ok {
			f.KS, f.KSSource = ks, KSFromSketch
		} else {
			f.KS, f.KSSource = HistKS(rc.Hist.Counts, rc.Count, bc.Hist.Counts, bc.Count), KSFromHist
		}
		r.PSIMean += f.PSI // sums; Analyze divides
		r.JSDMean += f.JSD
		r.KSMean += f.KS
		r.Assessed++
		if f.Status == DriftDetected {
			r.Drifted++
		}
		return
	}
	if rc.Kind != stats.KindCategorical || bc.Kind != stats.KindCategorical ||
		rc.Freqs == nil || bc.Freqs == nil || !(rc.Count > 0) || !(bc.Count > 0) {
		return
	}
	c := CompareCategories(rc.Freqs, bc.Freqs)
	f.Categorical = true
	f.CatTVD, f.CatHellinger, f.CatLInf = c.TVD, c.Hellinger, c.LInf
	f.ChiSquare, f.ChiSquareDoF, f.ChiSquareP = c.ChiSquare, c.DoF, c.P
	f.CatValue = (c.TVD + c.Hellinger) / 2
	f.CatStatus = StatusOf(f.CatValue, th)
	f.Unseen, f.UnseenShare = c.Unseen, c.UnseenShare
	if len(c.UnseenNames) > 0 {
		if r.Unseen == nil {
			r.Unseen = make(map[string][]string)
		}
		r.Unseen[f.Name] = c.UnseenNames
	}
	r.Assessed++
	if f.CatStatus == DriftDetected {
		r.Drifted++
	}
}

// withOutside returns the shares of counts over count, plus a last "outside"
// share: the count not in any bin (out-of-range values and infinities),
// so that the shares sum to 1.
func withOutside(counts []int64, count float64) []float64 {
	p := make([]float64, len(counts)+1)
	var in int64
	for i, c := range counts {
		p[i] = float64(c) / count
		in += c
	}
	p[len(counts)] = max(0, (count-float64(in))/count)
	return p
}

// PSIJS returns the population stability index and the Jensen-Shannon
// distance between the reference histogram ref (count refCount) and the
// batch histogram in (count inCount), over the same bins plus an "outside"
// bin holding the share of each count outside the edges (t_out =
// 1 - sum_b t_b), so that both sides are distributions:
//
//	PSI = sum_i (u_i - t_i) * ln(u'_i / t'_i),  x' = max(x, 1e-4)
//	JS  = 1/2 sum_{t_i>0} t_i log2(t_i/m_i) + 1/2 sum_{u_i>0} u_i log2(u_i/m_i),  m = (t+u)/2
//	JSD = sqrt(JS)   (in [0, 1]; scipy.spatial.distance.jensenshannon(t, u, base=2))
//
// It panics if the histograms have different lengths.
func PSIJS(ref []int64, refCount float64, in []int64, inCount float64) (psi, jsd float64) {
	if len(ref) != len(in) {
		panic("drift: PSIJS of histograms with different bin counts")
	}
	t, u := withOutside(ref, refCount), withOutside(in, inCount)
	var js float64
	for i := range t {
		if t[i] != u[i] {
			psi += (u[i] - t[i]) * math.Log(max(u[i], psiFloor)/max(t[i], psiFloor))
		}
		m := (t[i] + u[i]) / 2
		if t[i] > 0 {
			js += t[i] * math.Log2(t[i]/m)
		}
		if u[i] > 0 {
			js += u[i] * math.Log2(u[i]/m)
		}
	}
	return psi, math.Sqrt(max(0, js/2))
}

// HistKS returns the Kolmogorov-Smirnov statistic over the histogram CDFs
// at the reference edges, for statistics without a sketch (MLRun's):
//
//	KS = max_k |sum_{b<k} t_b - sum_{b<k} u_b|,  k = 1..B
//
// with t, u normalised by the counts as in Analyze. Mass outside the edges
// is left out (its side is unknown), so with all values inside the edges
// this is the KS statistic of the binned data, a lower bound of the true
// one. It panics if the histograms have different lengths.
func HistKS(ref []int64, refCount float64, in []int64, inCount float64) float64 {
	if len(ref) != len(in) {
		panic("drift: HistKS of histograms with different bin counts")
	}
	var ft, fu, d float64
	for b := range ref {
		ft += float64(ref[b]) / refCount
		fu += float64(in[b]) / inCount
		d = math.Max(d, math.Abs(ft-fu))
	}
	return d
}

// CategoryComparison is CompareCategories' result.
type CategoryComparison struct {
	TVD, Hellinger, LInf float64
	ChiSquare            float64
	DoF                  int
	P                    float64
	// Unseen counts the batch categories absent from the reference table,
	// UnseenShare their share of the batch, UnseenNames the first
	// MaxUnseenNames of them, most frequent first.
	Unseen      int
	UnseenShare float64
	UnseenNames []string
}

// CompareCategories compares the category shares of a reference and a
// batch frequency table. The categories are the union of both tables plus
// an "other" category holding each side's Other count (values a summary did
// not list); with R and N the sides' totals (table plus other), p_c =
// ref_c/R and q_c = batch_c/N:
//
//	TVD = 1/2 sum_c |p_c - q_c|
//	H   = sqrt(max(0, 1 - sum_c sqrt(p_c q_c)))
//	L∞  = max_c |p_c - q_c|
//	chi-square test of homogeneity of the 2 x K table of counts:
//	  E_{s,c} = total_s * (ref_c + batch_c) / (R + N),
//	  X² = sum_{s,c} (O_{s,c} - E_{s,c})² / E_{s,c},
//	  DoF = K - 1 (K: categories seen on either side),
//	  P = P(chi²_DoF >= X²) (gonum distuv.ChiSquared.Survival); P = 1 when DoF = 0.
//
// A batch category is unseen when the reference table does not list it;
// with an exact reference table it never occurred in the reference, with a
// summary it was not among the reference's frequent items.
func CompareCategories(ref, batch *stats.FreqTable) CategoryComparison {
	var out CategoryComparison
	refIdx := make(map[string]int, len(ref.Values))
	type cat struct{ r, b float64 }
	cats := make([]cat, 0, len(ref.Values)+len(batch.Values)+1)
	var R, N float64
	for i, v := range ref.Values {
		refIdx[v] = len(cats)
		cats = append(cats, cat{r: float64(ref.Counts[i])})
		R += float64(ref.Counts[i])
	}
	var unseen float64
	for i, v := range batch.Values {
		n := float64(batch.Counts[i])
		N += n
		if j, ok := refIdx[v]; ok {
			cats[j].b += n
			continue
		}
		cats = append(cats, cat{b: n})
		if n > 0 {
			out.Unseen++
			unseen += n
			if len(out.UnseenNames) < MaxUnseenNames {
				out.UnseenNames = append(out.UnseenNames, v)
			}
		}
	}
	if ref.Other > 0 || batch.Other > 0 {
		cats = append(cats, cat{r: float64(ref.Other), b: float64(batch.Other)})
		R += float64(ref.Other)
		N += float64(batch.Other)
	}
	if !(R > 0) || !(N > 0) {
		return out
	}
	out.UnseenShare = unseen / N
	var abs, bc float64
	k := 0
	for _, c := range cats {
		p, q := c.r/R, c.b/N
		d := math.Abs(p - q)
		abs += d
		out.LInf = max(out.LInf, d)
		bc += math.Sqrt(p * q)
		tot := c.r + c.b
		if tot == 0 {
			continue
		}
		k++
		er, eb := R*tot/(R+N), N*tot/(R+N)
		out.ChiSquare += (c.r-er)*(c.r-er)/er + (c.b-eb)*(c.b-eb)/eb
	}
	out.TVD = abs / 2
	out.Hellinger = math.Sqrt(max(0, 1-bc))
	out.DoF = k - 1
	if out.DoF < 1 {
		out.ChiSquare, out.P = 0, 1
	} else {
		out.P = chiSF(out.ChiSquare, float64(out.DoF))
	}
	return out
}

// chiSF is the chi-square survival function P(X >= x) with dof degrees of
// freedom.
func chiSF(x, dof float64) float64 { return distuv.ChiSquared{K: dof}.Survival(x) }
