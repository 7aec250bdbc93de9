package report

import (
	"embed"
	"fmt"
	"html/template"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/batchinfer/batchinfer/internal/drift"
	"github.com/batchinfer/batchinfer/internal/stats"
)

// Input is what Render shows. Fields may be added but never renamed or
// removed.
type Input struct {
	// Title heads the page; default "Drift analysis".
	Title string
	// BatchID identifies the scored batch (MLRun's batch_id result).
	BatchID string
	// GeneratedAt is shown in UTC; the zero time is left out.
	GeneratedAt time.Time
	// Reference and Batch are the statistics compared; either may be nil.
	Reference, Batch *stats.Dataset
	// Drift is drift.Analyze's result for Reference and Batch.
	Drift drift.Result
	// Thresholds are the ones Drift was computed with.
	Thresholds drift.Thresholds
}

//go:embed page.html.tmpl
var templates embed.FS

var page = template.Must(template.New("page.html.tmpl").ParseFS(templates, "page.html.tmpl"))

// Histogram sparkline geometry, in SVG user units.
const (
	svgW = 120
	svgH = 32
)

// statNames are the statistics shown per feature, in MLRun's order.
var statNames = []string{"count", "mean", "std", "min", "25%", "50%", "75%", "max"}

type pageData struct {
	Title, BatchID, Generated  string
	DriftStatus                bool
	DriftMetric                string
	Drift, Possible            string
	Detected, PossibleN, OK    int
	NotCompared, Compared      int
	TVDMean, HellMean, KLDMean string
	PSIMean, JSDMean, KSMean   string
	Assessed, Drifted          int
	DriftedShare               string
	Stats                      []string
	Rows                       []row
}

type row struct {
	Name             string
	Status           string   // status, or "NONE" when not compared
	Class            string   // dot class
	Value            string   // sort key: d_f, or -1 when not compared
	Cells            []string // reference, batch for each of statNames
	TVD, Hel, KLD, D string
	// Extended metrics: PSI, JS distance, KS, missing-rate change,
	// chi-square p-value (categorical).
	PSI, JSD, KS, Miss, ChiP string
	Note                     string
	RefPts, InPts            string // SVG polyline points; empty when absent
}

// Render writes the drift_table_plot page to w: a header with drift_status,
// drift_metric, the thresholds and how many features drifted, possibly
// drifted, did not drift or were not compared; then one row per feature in
// in.Drift.Features order with its reference ("Sample") and batch ("Input")
// statistics, TVD, Hellinger, KLD, the extended metrics (PSI, Jensen-Shannon
// distance, KS, missing-rate change, and for categorical features the
// chi-square p-value, L-infinity distance and unseen categories), drift value, the two normalised
// histograms (counts/count at the bin centres; reference rgb(0,112,192),
// input rgb(208,0,106)) and a status dot (NO_DRIFT rgb(0,176,80),
// POSSIBLE_DRIFT rgb(255,192,0), DRIFT_DETECTED rgb(208,0,106)); a
// categorical feature shows its categorical TVD, Hellinger and status.
// The header also gives the drifted features' count and share
// (drift.Result.Drifted, DriftedShare). Rows sort by drift value or any
// metric (click the header; again to reverse) and filter by status and name
// with a few lines of inline JavaScript. Names are HTML-escaped. A page
// weighs about 1.1 KB per feature (about 1.1 MB at 1,000 features).
func Render(w io.Writer, in Input) error {
	d := pageData{
		Title:        in.Title,
		BatchID:      in.BatchID,
		DriftStatus:  in.Drift.DriftStatus,
		DriftMetric:  num(in.Drift.DriftMetric),
		Drift:        num(in.Thresholds.Drift),
		Possible:     num(in.Thresholds.Possible),
		Compared:     in.Drift.Compared,
		TVDMean:      num(in.Drift.TVDMean),
		HellMean:     num(in.Drift.HellingerMean),
		KLDMean:      num(in.Drift.KLDMean),
		PSIMean:      num(in.Drift.PSIMean),
		JSDMean:      num(in.Drift.JSDMean),
		KSMean:       num(in.Drift.KSMean),
		Assessed:     in.Drift.Assessed,
		Drifted:      in.Drift.Drifted,
		DriftedShare: strconv.FormatFloat(100*in.Drift.DriftedShare, 'f', 1, 64) + "%",
		Stats:        statNames,
	}
	if d.Title == "" {
		d.Title = "Drift analysis"
	}
	if !in.GeneratedAt.IsZero() {
		d.Generated = in.GeneratedAt.UTC().Format(time.RFC3339)
	}
	d.OK, d.PossibleN, d.Detected = in.Drift.Counts()
	d.NotCompared = len(in.Drift.Features) - in.Drift.Compared
	d.Rows = make([]row, 0, len(in.Drift.Features))
	for _, f := range in.Drift.Features {
		rc, _ := in.Reference.Get(f.Name)
		bc, _ := in.Batch.Get(f.Name)
		r := row{Name: f.Name, Status: "NONE", Class: "x", Value: "-1", Note: f.Note}
		if f.Compared {
			r.Status = string(f.Status)
			r.Class = dotClass(f.Status)
			r.Value = strconv.FormatFloat(f.Value, 'g', -1, 64)
			r.TVD, r.Hel, r.KLD, r.D = num(f.TVD), num(f.Hellinger), num(f.KLD), num(f.Value)
			r.PSI, r.JSD, r.KS = num(f.PSI), num(f.JSD), num(f.KS)
		}
		if f.HasMissing {
			r.Miss = num(f.MissingChange)
		}
		if f.Categorical {
			// Categorical features are not in MLRun's comparison; their
			// status is that of the category shares' (TVD + Hellinger)/2.
			r.Status = string(f.CatStatus)
			r.Class = dotClass(f.CatStatus)
			r.Value = strconv.FormatFloat(f.CatValue, 'g', -1, 64)
			r.TVD, r.Hel, r.D, r.ChiP = num(f.CatTVD), num(f.CatHellinger), num(f.CatValue), num(f.ChiSquareP)
			note := "categorical: L\u221e " + num(f.CatLInf)
			if f.Unseen > 0 {
				note += fmt.Sprintf(", %d unseen (%s of batch): %s", f.Unseen, num(f.UnseenShare), strings.Join(firstN(in.Drift.Unseen[f.Name], 5), ", "))
				if f.Unseen > 5 {
					note += ", ..."
				}
			}
			r.Note = note
		}
		r.Cells = make([]string, 0, 2*len(statNames))
		for i := range statNames {
			r.Cells = append(r.Cells, statCell(rc, i), statCell(bc, i))
		}
		r.RefPts, r.InPts = sparkline(rc, bc, f.Compared)
		d.Rows = append(d.Rows, r)
	}
	if err := page.Execute(w, d); err != nil {
		return fmt.Errorf("rendering drift table: %w", err)
	}
	return nil
}

func firstN(xs []string, n int) []string { return xs[:min(n, len(xs))] }

func dotClass(s drift.Status) string {
	switch s {
	case drift.DriftDetected:
		return "d"
	case drift.PossibleDrift:
		return "p"
	default:
		return "n"
	}
}

// statCell formats statistic i of statNames for c ("" when absent).
func statCell(c *stats.Column, i int) string {
	if c == nil {
		return ""
	}
	if i == 0 {
		return num(c.Count)
	}
	if c.Kind != stats.KindNumeric {
		return ""
	}
	switch i {
	case 1:
		return num(c.Mean)
	case 2:
		if !c.HasStd {
			return ""
		}
		return num(c.Std)
	case 3:
		return num(c.Min)
	case 4:
		return num(c.Q25)
	case 5:
		return num(c.Q50)
	case 6:
		return num(c.Q75)
	default:
		return num(c.Max)
	}
}

// num formats f compactly: 5 significant digits, "nan", "inf", "-inf".
func num(f float64) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	return strconv.FormatFloat(f, 'g', 5, 64)
}

// sparkline returns the SVG points of the normalised reference and batch
// histograms. Both are drawn on one scale when the feature was compared
// (same edges); otherwise each side that has a histogram is drawn alone on
// its own scale, and only if the other side is absent, since bins over
// different edges cannot be overlaid.
func sparkline(rc, bc *stats.Column, compared bool) (ref, in string) {
	rp, bp := probs(rc), probs(bc)
	if !compared && rp != nil && bp != nil {
		return "", ""
	}
	top := 0.0
	for _, p := range [][]float64{rp, bp} {
		for _, v := range p {
			top = math.Max(top, v)
		}
	}
	return points(rp, top), points(bp, top)
}

func probs(c *stats.Column) []float64 {
	if c == nil || c.Hist == nil || !(c.Count > 0) || len(c.Hist.Counts) == 0 {
		return nil
	}
	p := make([]float64, len(c.Hist.Counts))
	for i, n := range c.Hist.Counts {
		p[i] = float64(n) / c.Count
	}
	return p
}

func points(p []float64, top float64) string {
	if p == nil {
		return ""
	}
	var b strings.Builder
	for i, v := range p {
		x := (float64(i) + 0.5) / float64(len(p)) * svgW
		y := float64(svgH - 1)
		if top > 0 {
			y -= v / top * (svgH - 2)
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.FormatFloat(x, 'f', 1, 64))
		b.WriteByte(',')
		b.WriteString(strconv.FormatFloat(y, 'f', 1, 64))
	}
	return b.String()
}

// Table writes r as a plain-text table, one line per feature (feature, TVD,
// Hellinger, KLD, value, status; "-" and the note for features not compared),
// then the aggregates, drift_metric and drift_status.
func Table(w io.Writer, r drift.Result) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FEATURE\tTVD\tHELLINGER\tKLD\tVALUE\tSTATUS")
	for _, f := range r.Features {
		name := strings.Map(func(r rune) rune {
			if r == '\t' || r == '\n' || r == '\r' {
				return ' '
			}
			return r
		}, f.Name)
		if !f.Compared {
			fmt.Fprintf(tw, "%s\t-\t-\t-\t-\t(%s)\n", name, f.Note)
			continue
		}
		fmt.Fprintf(tw, "%s\t%.6f\t%.6f\t%.6f\t%.6f\t%s\n", name, f.TVD, f.Hellinger, f.KLD, f.Value, f.Status)
	}
	fmt.Fprintf(tw, "MEAN (%d compared)\t%.6f\t%.6f\t%.6f\t\t\n", r.Compared, r.TVDMean, r.HellingerMean, r.KLDMean)
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("writing drift table: %w", err)
	}
	if _, err := fmt.Fprintf(w, "drift_metric %.6f  drift_status %v\n", r.DriftMetric, r.DriftStatus); err != nil {
		return fmt.Errorf("writing drift table: %w", err)
	}
	return nil
}
