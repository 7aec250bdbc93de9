package drift

import (
	"math"
	"slices"

	"github.com/batchinfer/batchinfer/internal/stats"
)

// Thresholds are the drift value limits, in the units of the drift value
// (a distance in [0, 1]).
type Thresholds struct {
	// Drift: a feature with d_f >= Drift is DRIFT_DETECTED, and the run
	// drifts when its drift metric is >= Drift. Default 0.7.
	Drift float64
	// Possible: a feature with Possible <= d_f < Drift is POSSIBLE_DRIFT.
	// Default 0.5. Not used for the run's drift status (as MLRun).
	Possible float64
}

// DefaultThresholds returns MLRun's defaults: Drift 0.7, Possible 0.5.
func DefaultThresholds() Thresholds { return Thresholds{Drift: 0.7, Possible: 0.5} }

// Status is a feature's drift status.
type Status string

// Feature statuses, spelled as MLRun's.
const (
	NoDrift       Status = "NO_DRIFT"
	PossibleDrift Status = "POSSIBLE_DRIFT"
	DriftDetected Status = "DRIFT_DETECTED"
)

// Notes explaining why a feature was not compared.
const (
	NoteNoReference = "no reference statistics"
	NoteNotInBatch  = "not in batch"
	NoteNoHistogram = "no histogram"
	NoteNoRefHist   = "no reference histogram"
	NoteEdgesDiffer = "histogram edges differ from the reference"
	NoteNoValues    = "no values"
	NoteNoRefValues = "no reference values"
	// NoteKindsDiffer: one side has numeric statistics (a histogram), the
	// other categorical ones (a frequency table), e.g. a column declared
	// categorical for a run whose reference statistics are numeric.
	NoteKindsDiffer = "numeric on one side, categorical on the other"
)

// StatusOf classifies a drift value: DriftDetected when d >= th.Drift, else
// PossibleDrift when d >= th.Possible, else NoDrift (both bounds inclusive).
func StatusOf(d float64, th Thresholds) Status {
	switch {
	case d >= th.Drift:
		return DriftDetected
	case d >= th.Possible:
		return PossibleDrift
	default:
		return NoDrift
	}
}

// Feature is one feature's comparison.
type Feature struct {
	Name string
	// Compared is true when both sides have a histogram over the same edges
	// and a non-zero count; the other fields below are then set.
	Compared bool
	// TVD, Hellinger and KLD are the distances of drift-spec section 3;
	// Value = (TVD + Hellinger) / 2.
	TVD, Hellinger, KLD, Value float64
	// Status is the classification of Value ("" when not compared).
	Status Status
	// Note says why the feature was not compared (one of the Note* constants).
	Note string

	// Extended metrics, beside MLRun's (see Extend and Result.ExtendedJSON).
	// All are plain values so that Features compare with ==; a metric that
	// does not apply is 0 with its flag false, never NaN.

	// PSI and JSD (Jensen-Shannon distance) compare the histograms on the
	// reference bins plus an "outside" bin; KS is the Kolmogorov-Smirnov
	// statistic, from the quantile sketches when both sides have one
	// (KSSource "sketch") else from the histogram CDFs (KSSource "hist").
	// Set when Compared.
	PSI, JSD, KS float64
	KSSource     string
	// HasMissing: both sides have statistics; MissingRef and MissingBatch
	// are the shares of missing values (NaN or null among all rows),
	// MissingChange = MissingBatch - MissingRef.
	HasMissing                              bool
	MissingRef, MissingBatch, MissingChange float64
	// Categorical: both sides are categorical with frequency tables; then
	// CatTVD, CatHellinger, CatLInf compare the category shares, ChiSquare
	// (with ChiSquareDoF degrees of freedom) and ChiSquareP test their
	// homogeneity, CatValue = (CatTVD + CatHellinger)/2 has status
	// CatStatus, and Unseen batch categories (absent from the reference
	// table) hold UnseenShare of the batch (names in Result.Unseen).
	Categorical                              bool
	CatTVD, CatHellinger, CatLInf, ChiSquare float64
	ChiSquareDoF                             int
	ChiSquareP, CatValue                     float64
	CatStatus                                Status
	Unseen                                   int
	UnseenShare                              float64
}

// Result is the outcome of Analyze.
type Result struct {
	// Features lists the batch columns in batch order, then the reference-only
	// columns (Compared false, Note NoteNotInBatch).
	Features []Feature
	// Sums and means over the compared features (0 when none).
	TVDSum, TVDMean, HellingerSum, HellingerMean, KLDSum, KLDMean float64
	// DriftMetric = (TVDMean + HellingerMean) / 2.
	DriftMetric float64
	// DriftStatus = DriftMetric >= Thresholds.Drift (false when none compared).
	DriftStatus bool
	// Compared is the number of compared features.
	Compared int

	// Extended results, beside MLRun's (see Result.ExtendedJSON).

	// PSIMean, JSDMean and KSMean are means over the compared features.
	PSIMean, JSDMean, KSMean float64
	// Assessed counts the features with a drift status: the compared ones
	// and the categorical ones (Feature.Categorical). Drifted counts those
	// whose status (Status, or CatStatus for categorical features) is
	// DRIFT_DETECTED; DriftedShare = Drifted / Assessed (0 when none).
	Assessed, Drifted int
	DriftedShare      float64
	// Unseen lists, per categorical feature with unseen categories, up to
	// MaxUnseenNames of them, most frequent in the batch first.
	Unseen map[string][]string
}

// EdgesFor returns a copy of the histogram edges of the named reference
// column, to pass to stats.NewNumeric for the batch column of that name, or
// nil when the reference has no such column or no histogram for it.
func EdgesFor(reference *stats.Dataset, name string) []float64 {
	c, ok := reference.Get(name)
	if !ok || c == nil || c.Hist == nil {
		return nil
	}
	return slices.Clone(c.Hist.Edges)
}

// Analyze compares the batch statistics (histograms counted over the
// reference edges) with the reference statistics, per drift-spec 2-3:
//
//	t_b = ref.Counts[b] / ref.Count,  u_b = batch.Counts[b] / batch.Count
//	TVD = 0.5 * sum_b |t_b - u_b|
//	H   = sqrt(max(0, 1 - sum_b sqrt(t_b*u_b)))
//	KLD = sum_{t_b>0} t_b ln(t_b/u'_b) + sum_{u_b>0} u_b ln(u_b/t'_b),  x' = x, or 1e-4 when x == 0
//	d_f = (TVD + H) / 2
//
// Sums run over bins and features in order. Features whose statistics are
// missing on either side, are numeric on one side and categorical on the
// other, lack a histogram, have histograms over different edges or a zero
// count are listed with Compared false and a Note; Analyze never fails (MLRun raises KeyError for a batch column missing from the
// reference). With no compared feature, every aggregate and DriftMetric are 0
// and DriftStatus is false. Nil datasets are treated as empty.
//
// Analyze also computes the extended metrics of every feature present on
// both sides (see the Feature and Result fields and ExtendedJSON); they
// never change MLRun's numbers.
func Analyze(reference, batch *stats.Dataset, th Thresholds) Result {
	var r Result
	if batch != nil {
		for _, name := range batch.Names {
			bc, _ := batch.Get(name)
			rc, ok := reference.Get(name)
			f := Feature{Name: name}
			switch {
			case !ok || rc == nil:
				f.Note = NoteNoReference
			case bc != nil && rc.Kind != bc.Kind:
				f.Note = NoteKindsDiffer
			case rc.Hist == nil:
				f.Note = NoteNoRefHist
			case bc == nil || bc.Hist == nil:
				f.Note = NoteNoHistogram
			case !slices.Equal(rc.Hist.Edges, bc.Hist.Edges) || len(rc.Hist.Counts) != len(bc.Hist.Counts):
				f.Note = NoteEdgesDiffer
			case !(rc.Count > 0):
				f.Note = NoteNoRefValues
			case !(bc.Count > 0):
				f.Note = NoteNoValues
			default:
				f.Compared = true
				f.TVD, f.Hellinger, f.KLD = Distances(rc.Hist.Counts, rc.Count, bc.Hist.Counts, bc.Count)
				f.Value = (f.TVD + f.Hellinger) / 2
				f.Status = StatusOf(f.Value, th)
				r.Compared++
				r.TVDSum += f.TVD
				r.HellingerSum += f.Hellinger
				r.KLDSum += f.KLD
			}
			if ok && rc != nil && bc != nil {
				r.extend(&f, rc, bc, th)
			}
			r.Features = append(r.Features, f)
		}
	}
	if reference != nil {
		for _, name := range reference.Names {
			if _, ok := batch.Get(name); !ok {
				r.Features = append(r.Features, Feature{Name: name, Note: NoteNotInBatch})
			}
		}
	}
	if r.Compared > 0 {
		n := float64(r.Compared)
		r.TVDMean = r.TVDSum / n
		r.HellingerMean = r.HellingerSum / n
		r.KLDMean = r.KLDSum / n
		r.DriftMetric = (r.TVDMean + r.HellingerMean) / 2
		r.DriftStatus = r.DriftMetric >= th.Drift
		r.PSIMean = r.PSIMean / n
		r.JSDMean = r.JSDMean / n
		r.KSMean = r.KSMean / n
	}
	if r.Assessed > 0 {
		r.DriftedShare = float64(r.Drifted) / float64(r.Assessed)
	}
	return r
}

// kldCap replaces a zero probability in the KLD denominators (MLRun's
// capping value).
const kldCap = 1e-4

// Distances returns the TVD, Hellinger distance and symmetric KLD between
// the reference histogram ref (normalised by refCount) and the batch
// histogram in (normalised by inCount), as documented on Analyze. The two
// histograms must have the same length; Distances panics otherwise.
func Distances(ref []int64, refCount float64, in []int64, inCount float64) (tvd, hellinger, kld float64) {
	if len(ref) != len(in) {
		panic("drift: Distances of histograms with different bin counts")
	}
	var absSum, bc, tu, ut float64
	for b := range ref {
		t := float64(ref[b]) / refCount
		u := float64(in[b]) / inCount
		absSum += math.Abs(t - u)
		bc += math.Sqrt(t * u)
		if t > 0 {
			tu += t * math.Log(t/capped(u))
		}
		if u > 0 {
			ut += u * math.Log(u/capped(t))
		}
	}
	tvd = absSum / 2
	hellinger = math.Sqrt(math.Max(0, 1-bc))
	kld = tu + ut
	return tvd, hellinger, kld
}

func capped(x float64) float64 {
	if x == 0 {
		return kldCap
	}
	return x
}

// FeatureStatus returns the status of every compared feature.
func (r Result) FeatureStatus() map[string]Status {
	m := make(map[string]Status, r.Compared)
	for _, f := range r.Features {
		if f.Compared {
			m[f.Name] = f.Status
		}
	}
	return m
}

// Counts returns how many compared features have each status.
func (r Result) Counts() (noDrift, possible, detected int) {
	for _, f := range r.Features {
		if !f.Compared {
			continue
		}
		switch f.Status {
		case DriftDetected:
			detected++
		case PossibleDrift:
			possible++
		default:
			noDrift++
		}
	}
	return noDrift, possible, detected
}
