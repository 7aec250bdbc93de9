package report

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/batchinfer/batchinfer/internal/drift"
	"github.com/batchinfer/batchinfer/internal/stats"
)

func seq(lo, hi float64) []float64 {
	var xs []float64
	for x := lo; x <= hi; x++ {
		xs = append(xs, x)
	}
	return xs
}

// build returns reference and batch statistics for the named raw columns
// (reference with own edges, batch over the reference edges) and the result.
func build(ref, bat map[string][]float64, names []string) Input {
	var rd, bd stats.Dataset
	for _, n := range names {
		if xs, ok := ref[n]; ok {
			a := stats.NewNumeric(nil, 0)
			a.Add(xs)
			c := a.Column()
			rd.Set(n, &c)
		}
	}
	for _, n := range names {
		if xs, ok := bat[n]; ok {
			a := stats.NewNumeric(drift.EdgesFor(&rd, n), 0)
			a.Add(xs)
			c := a.Column()
			bd.Set(n, &c)
		}
	}
	th := drift.DefaultThresholds()
	return Input{
		Title: "golden", BatchID: "batch-1", GeneratedAt: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC),
		Reference: &rd, Batch: &bd, Drift: drift.Analyze(&rd, &bd, th), Thresholds: th,
	}
}

func golden() Input {
	return build(
		map[string][]float64{"a": seq(1, 10), "b": {0, 0, 0, 0, 0, 1, 1, 1, 1, 1}, "label": {0, 1, 0, 1, 0, 1, 0, 1, 0, 1}},
		map[string][]float64{"a": seq(5, 14), "b": {0, 0, 1, 1, 1, 1, 1, 1, 1, 1}, "label": {1, 1, 1, 1, 1, 1, 0, 1, 1, 1}},
		[]string{"a", "b", "label"},
	)
}

var externalRef = regexp.MustCompile(`(?i)(src|href)\s*=\s*["']?\s*(https?:)?//|https?://|@import|url\(`)

func render(t *testing.T, in Input) string {
	t.Helper()
	var b bytes.Buffer
	if err := Render(&b, in); err != nil {
		t.Fatal(err)
	}
	s := b.String()
	if m := externalRef.FindString(s); m != "" {
		t.Errorf("page references an external resource: %q", m)
	}
	if strings.Contains(s, "<script src") || strings.Contains(s, "<link") {
		t.Error("page loads a script or stylesheet")
	}
	return s
}

func TestRenderGolden(t *testing.T) {
	s := render(t, golden())
	for _, want := range []string{
		"<title>golden</title>", "batch-1", "2024-05-01T12:00:00Z",
		`drift_status <b class="good">false</b>`, "drift_metric <b>0.34732</b>",
		"drift &ge; <b>0.7</b>", "possible &ge; <b>0.5</b>",
		`no drift <b>3</b>`, `drift detected <b>0</b>`,
		`<tr data-s="NO_DRIFT" data-v="0.416227766016838">`, `<td class="l">a</td>`,
		`<td class="c">0.63246</td>`, `<td class="c">2.7631</td>`,
		`<polyline class="r" points="`, `<polyline class="u" points="`,
		"rgb(0,112,192)", "rgb(208,0,106)", "rgb(0,176,80)", "rgb(255,192,0)",
		"<th>Sample</th><th>Input</th>", `id="sv"`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if n := strings.Count(s, "<tr data-s="); n != 3 {
		t.Errorf("%d feature rows, want 3", n)
	}
}

func TestRenderEscapesAndNotes(t *testing.T) {
	in := build(
		map[string][]float64{"a": seq(1, 10), "ref_only": {1, 2}},
		map[string][]float64{"a": seq(1, 10), `<script>alert("x")</script>`: {1, 2}},
		[]string{"a", "ref_only", `<script>alert("x")</script>`},
	)
	s := render(t, in)
	if strings.Contains(s, `<script>alert`) {
		t.Error("feature name not escaped")
	}
	for _, want := range []string{"&lt;script&gt;alert(", drift.NoteNoReference, drift.NoteNotInBatch, `data-s="NONE"`, "not compared <b>2</b>"} {
		if !strings.Contains(s, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

func TestRenderSingleRowBatch(t *testing.T) {
	in := build(
		map[string][]float64{"a": seq(1, 10)},
		map[string][]float64{"a": {3}},
		[]string{"a"},
	)
	if c, _ := in.Batch.Get("a"); c.HasStd {
		t.Fatal("single-row batch has a std")
	}
	in.Title = ""
	s := render(t, in)
	if !strings.Contains(s, "<title>Drift analysis</title>") || !strings.Contains(s, `<td class="l">a</td>`) || !strings.Contains(s, `<td>10</td><td>1</td>`) {
		t.Errorf("single-row page:\n%s", s)
	}
	// Reference std present, input std cell empty.
	if !strings.Contains(s, "<td>3.0277</td><td></td>") {
		t.Error("std cells not Sample 3.0277 / Input empty")
	}
}

func TestRenderEmpty(t *testing.T) {
	s := render(t, Input{})
	if !strings.Contains(s, `<tbody id="rows">`) {
		t.Error("no table body")
	}
}

// TestRenderThousandFeatures checks the page stays light: 1,000 features
// with 20-bin histograms must weigh under 2 MB (MLRun's plotly table does not
// scale; ours is about 1 KB per feature).
func TestRenderThousandFeatures(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	ref, bat := map[string][]float64{}, map[string][]float64{}
	var names []string
	for i := range 1000 {
		n := fmt.Sprintf("feature_%04d_with_a_longish_name", i)
		names = append(names, n)
		r, b := make([]float64, 200), make([]float64, 200)
		shift := rng.Float64() * 3
		for j := range r {
			r[j] = rng.NormFloat64() * 1234.5678
			b[j] = (rng.NormFloat64() + shift) * 1234.5678
		}
		ref[n], bat[n] = r, b
	}
	in := build(ref, bat, names)
	s := render(t, in)
	if len(s) >= 2<<20 {
		t.Errorf("page is %d bytes, want < 2 MB", len(s))
	}
	if n := strings.Count(s, "<tr data-s="); n != 1000 {
		t.Errorf("%d rows, want 1000", n)
	}
	t.Logf("1,000 features: %d bytes", len(s))
}

func TestTable(t *testing.T) {
	in := golden()
	in.Drift.Features = append(in.Drift.Features, drift.Feature{Name: "gone", Note: drift.NoteNotInBatch})
	var b bytes.Buffer
	if err := Table(&b, in.Drift); err != nil {
		t.Fatal(err)
	}
	s := b.String()
	for _, want := range []string{
		"FEATURE", "HELLINGER", "a ", "0.200000", "0.632456", "2.763102", "0.416228", "NO_DRIFT",
		"gone", "(not in batch)", "MEAN (3 compared)", "drift_metric 0.347318  drift_status false",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("table lacks %q:\n%s", want, s)
		}
	}
	if lines := strings.Count(s, "\n"); lines != 7 {
		t.Errorf("%d lines, want 7:\n%s", lines, s)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, fmt.Errorf("disk full") }

func TestWriteErrors(t *testing.T) {
	if err := Render(failWriter{}, golden()); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("Render error = %v", err)
	}
	if err := Table(failWriter{}, golden().Drift); err == nil {
		t.Error("Table error = nil")
	}
}
