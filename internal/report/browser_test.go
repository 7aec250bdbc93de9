package report

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/batchinfer/batchinfer/internal/drift"
	"github.com/batchinfer/batchinfer/internal/stats"
)

// chromiumPath is Debian's chromium (apt-get install chromium).
const chromiumPath = "/usr/bin/chromium"

// TestBrowser opens the 1,000-feature drift table in a real headless
// Chromium over the Chrome DevTools Protocol and checks that it loads in
// under 2 s with no console error or exception, that clicking the Drift
// header sorts the rows, that typing in the name filter and choosing a
// status hide the other rows; then it saves a screenshot (in
// $BATCHINFER_SCREENSHOT_DIR when set, else in the test's temporary
// directory) and logs its path.
func TestBrowser(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("no %s (install Debian's chromium package to run the browser test): %v", chromiumPath, err)
	}
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()

	in := thousandFeatures()
	dir := t.TempDir()
	pagePath := filepath.Join(dir, "drift_table_plot.html")
	var buf bytes.Buffer
	if err := Render(&buf, in); err != nil {
		t.Fatal(err)
	}
	if buf.Len() >= 2<<20 {
		t.Errorf("page is %d bytes, want < 2 MB", buf.Len())
	}
	if err := os.WriteFile(pagePath, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}

	b := startBrowser(ctx, t)
	var target struct {
		TargetID string `json:"targetId"`
	}
	b.call(ctx, t, "", "Target.createTarget", map[string]any{"url": "about:blank"}, &target)
	var att struct {
		SessionID string `json:"sessionId"`
	}
	b.call(ctx, t, "", "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &att)
	s := att.SessionID
	for _, m := range []string{"Page.enable", "Runtime.enable", "Log.enable"} {
		b.call(ctx, t, s, m, nil, nil)
	}
	b.call(ctx, t, s, "Emulation.setDeviceMetricsOverride",
		map[string]any{"width": 1600, "height": 1000, "deviceScaleFactor": 1, "mobile": false}, nil)

	start := time.Now()
	b.call(ctx, t, s, "Page.navigate", map[string]any{"url": "file://" + pagePath}, nil)
	select {
	case <-b.loaded:
	case <-ctx.Done():
		t.Fatal("page did not load")
	}
	wall := time.Since(start)
	var loadMS float64
	b.eval(ctx, t, s, `performance.getEntriesByType("navigation")[0].loadEventEnd`, &loadMS)
	t.Logf("1,000 features, %d bytes: load event at %.0f ms (navigation timing), %v wall clock over CDP", buf.Len(), loadMS, wall.Round(time.Millisecond))
	if loadMS <= 0 || loadMS >= 2000 {
		t.Errorf("page load took %.0f ms, want < 2000", loadMS)
	}
	var rows int
	b.eval(ctx, t, s, `document.querySelectorAll("#rows tr").length`, &rows)
	if rows != len(in.Drift.Features) {
		t.Fatalf("%d rows rendered, want %d", rows, len(in.Drift.Features))
	}

	// Sort: a real mouse click on the Drift header, twice.
	values := func() []float64 {
		var v []float64
		b.eval(ctx, t, s, `Array.from(document.querySelectorAll("#rows tr")).map(r => parseFloat(r.getAttribute("data-v")))`, &v)
		return v
	}
	b.click(ctx, t, s, "#sv")
	v := values()
	for i := 1; i < len(v); i++ {
		if v[i] > v[i-1] {
			t.Fatalf("after one click rows are not sorted by drift descending at %d: %v > %v", i, v[i], v[i-1])
		}
	}
	if v[0] == v[len(v)-1] {
		t.Fatal("all drift values equal: the sort test is vacuous")
	}
	b.click(ctx, t, s, "#sv")
	v = values()
	for i := 1; i < len(v); i++ {
		if v[i] < v[i-1] {
			t.Fatalf("after two clicks rows are not ascending at %d", i)
		}
	}
	// Another metric column sorts too (KS, by its cell text).
	b.click(ctx, t, s, `th[data-c="9"]`)
	var ksSorted bool
	b.eval(ctx, t, s, `(() => { const v = Array.from(document.querySelectorAll("#rows tr")).map(r => parseFloat(r.cells[9].textContent)).map(x => isNaN(x) ? -Infinity : x);
		return v.every((x, i) => i == 0 || x <= v[i-1]); })()`, &ksSorted)
	if !ksSorted {
		t.Error("KS header click did not sort by KS")
	}

	// Name filter: focus the box and type.
	visible := func() (names, statuses []string) {
		var out [][2]string
		b.eval(ctx, t, s, `Array.from(document.querySelectorAll("#rows tr")).filter(r => !r.hidden && r.offsetParent !== null).map(r => [r.cells[1].textContent, r.getAttribute("data-s")])`, &out)
		for _, p := range out {
			names, statuses = append(names, p[0]), append(statuses, p[1])
		}
		return names, statuses
	}
	b.eval(ctx, t, s, `document.getElementById("q").focus()`, nil)
	b.call(ctx, t, s, "Input.insertText", map[string]any{"text": "FEATURE_01"}, nil)
	names, _ := visible()
	if len(names) != 100 {
		t.Errorf("name filter FEATURE_01: %d rows visible, want 100 (feature_0100..0199)", len(names))
	}
	for _, n := range names {
		if !strings.Contains(n, "feature_01") {
			t.Errorf("name filter shows %q", n)
		}
	}
	b.eval(ctx, t, s, `(() => { const q = document.getElementById("q"); q.value = ""; q.dispatchEvent(new Event("input")); })()`, nil)
	if names, _ := visible(); len(names) != rows {
		t.Errorf("cleared filter: %d rows visible, want %d", len(names), rows)
	}

	// Status filter.
	_, _, detected := in.Drift.Counts()
	for _, f := range in.Drift.Features {
		if f.Categorical && f.CatStatus == drift.DriftDetected {
			detected++
		}
	}
	b.eval(ctx, t, s, `(() => { const st = document.getElementById("st"); st.value = "DRIFT_DETECTED"; st.dispatchEvent(new Event("change")); })()`, nil)
	_, statuses := visible()
	if len(statuses) != detected || detected == 0 {
		t.Errorf("status filter DRIFT_DETECTED: %d rows visible, want %d (> 0)", len(statuses), detected)
	}
	for _, st := range statuses {
		if st != string(drift.DriftDetected) {
			t.Errorf("status filter shows a %s row", st)
		}
	}

	var header string
	b.eval(ctx, t, s, `document.querySelector(".sum").textContent`, &header)
	for _, want := range []string{"drift_status", "drift_metric", fmt.Sprintf("drifted %d of %d", in.Drift.Drifted, in.Drift.Assessed)} {
		if !strings.Contains(strings.Join(strings.Fields(header), " "), want) {
			t.Errorf("header lacks %q: %s", want, header)
		}
	}

	// Reset the filter for the screenshot, then take it.
	b.eval(ctx, t, s, `(() => { const st = document.getElementById("st"); st.value = ""; st.dispatchEvent(new Event("change")); window.scrollTo(0, 0); })()`, nil)
	b.click(ctx, t, s, "#sv") // drift descending again
	b.eval(ctx, t, s, `window.scrollTo(0, 0)`, nil)
	var shot struct {
		Data string `json:"data"`
	}
	b.call(ctx, t, s, "Page.captureScreenshot", map[string]any{"format": "png"}, &shot)
	png, err := base64.StdEncoding.DecodeString(shot.Data)
	if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Fatalf("screenshot: %v", err)
	}
	outDir := os.Getenv("BATCHINFER_SCREENSHOT_DIR")
	if outDir == "" {
		outDir = t.TempDir()
	} else if err := os.MkdirAll(outDir, 0o755); err != nil {
		t.Fatal(err)
	}
	shotPath := filepath.Join(outDir, "drift_table_plot.png")
	if err := os.WriteFile(shotPath, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (%d bytes)", shotPath, len(png))

	// No console errors or exceptions so far; then prove the listener works.
	if errs := b.consoleErrors(); len(errs) > 0 {
		t.Errorf("console errors: %q", errs)
	}
	b.eval(ctx, t, s, `console.error("probe")`, nil)
	deadline := time.Now().Add(5 * time.Second)
	for len(b.consoleErrors()) == 0 && time.Now().Before(deadline) {
		b.call(ctx, t, s, "Runtime.evaluate", map[string]any{"expression": "1"}, nil) // a round trip lets the event arrive
	}
	if errs := b.consoleErrors(); len(errs) != 1 || !strings.Contains(errs[0], "probe") {
		t.Errorf("console listener did not see the probe: %q", errs)
	}
}

// thousandFeatures builds 1,000 numeric features with shifts from none to
// large (every status occurs) and a few categorical ones.
func thousandFeatures() Input {
	rng := rand.New(rand.NewPCG(21, 22))
	ref, bat := map[string][]float64{}, map[string][]float64{}
	var names []string
	for i := range 995 {
		n := fmt.Sprintf("feature_%04d", i)
		names = append(names, n)
		r, b := make([]float64, 200), make([]float64, 200)
		shift := rng.Float64() * 4
		for j := range r {
			r[j] = rng.NormFloat64() * 1234.5678
			b[j] = (rng.NormFloat64() + shift) * 1234.5678
		}
		ref[n], bat[n] = r, b
	}
	in := build(ref, bat, names)
	for i := range 5 {
		n := fmt.Sprintf("feature_cat_%d", i)
		rc, bc := stats.NewCategorical(), stats.NewCategorical()
		for j := range 300 {
			rc.Add(fmt.Sprintf("c%d", j%(3+i)))
			bc.Add(fmt.Sprintf("c%d", (j+i*j)%(4+2*i)))
		}
		r, b := rc.Column(), bc.Column()
		in.Reference.Set(n, &r)
		in.Batch.Set(n, &b)
	}
	in.Drift = drift.Analyze(in.Reference, in.Batch, in.Thresholds)
	return in
}

// browser is a minimal Chrome DevTools Protocol client: one websocket to
// the browser target, flattened sessions for pages.
type browser struct {
	conn   *websocket.Conn
	loaded chan struct{}

	mu      sync.Mutex
	nextID  int64
	pending map[int64]chan cdpMessage
	errs    []string
}

type cdpMessage struct {
	ID        int64           `json:"id,omitempty"`
	Method    string          `json:"method,omitempty"`
	Params    json.RawMessage `json:"params,omitempty"`
	Result    json.RawMessage `json:"result,omitempty"`
	SessionID string          `json:"sessionId,omitempty"`
	Error     *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error,omitempty"`
}

func startBrowser(ctx context.Context, t *testing.T) *browser {
	t.Helper()
	cmd := exec.Command(chromiumPath, "--headless", "--no-sandbox", "--disable-gpu",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-extensions", "--no-first-run", "--no-default-browser-check",
		"--remote-debugging-port=0", "--user-data-dir="+t.TempDir(), "about:blank")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // chromium is a wrapper script: kill its group
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", chromiumPath, err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	})
	wsURL := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if _, u, ok := strings.Cut(sc.Text(), "DevTools listening on "); ok {
				wsURL <- strings.TrimSpace(u)
			}
		}
	}()
	var u string
	select {
	case u = <-wsURL:
	case <-time.After(20 * time.Second):
		t.Fatal("chromium did not print its DevTools address")
	}
	conn, _, err := websocket.Dial(ctx, u, nil)
	if err != nil {
		t.Fatalf("connecting to %s: %v", u, err)
	}
	conn.SetReadLimit(64 << 20) // screenshots
	b := &browser{conn: conn, loaded: make(chan struct{}, 1), pending: map[int64]chan cdpMessage{}}
	t.Cleanup(func() { _ = conn.CloseNow() })
	go b.read(ctx)
	return b
}

func (b *browser) read(ctx context.Context) {
	for {
		_, data, err := b.conn.Read(ctx)
		if err != nil {
			return
		}
		var m cdpMessage
		if json.Unmarshal(data, &m) != nil {
			continue
		}
		if m.ID != 0 {
			b.mu.Lock()
			ch := b.pending[m.ID]
			delete(b.pending, m.ID)
			b.mu.Unlock()
			if ch != nil {
				ch <- m
			}
			continue
		}
		b.event(m)
	}
}

func (b *browser) event(m cdpMessage) {
	switch m.Method {
	case "Page.loadEventFired":
		select {
		case b.loaded <- struct{}{}:
		default:
		}
	case "Runtime.consoleAPICalled":
		var p struct {
			Type string `json:"type"`
			Args []struct {
				Value       any    `json:"value"`
				Description string `json:"description"`
			} `json:"args"`
		}
		if json.Unmarshal(m.Params, &p) == nil && (p.Type == "error" || p.Type == "assert") {
			var parts []string
			for _, a := range p.Args {
				parts = append(parts, fmt.Sprint(a.Value, a.Description))
			}
			b.addErr("console." + p.Type + ": " + strings.Join(parts, " "))
		}
	case "Runtime.exceptionThrown":
		b.addErr("exception: " + string(m.Params))
	case "Log.entryAdded":
		var p struct {
			Entry struct {
				Level, Text, URL string
			} `json:"entry"`
		}
		if json.Unmarshal(m.Params, &p) == nil && p.Entry.Level == "error" {
			b.addErr("log: " + p.Entry.Text + " " + p.Entry.URL)
		}
	}
}

func (b *browser) addErr(s string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.errs = append(b.errs, s)
}

func (b *browser) consoleErrors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.errs...)
}

// call sends a CDP command (to a page session when session != "") and
// decodes its result into out (when non-nil).
func (b *browser) call(ctx context.Context, t *testing.T, session, method string, params, out any) {
	t.Helper()
	b.mu.Lock()
	b.nextID++
	id := b.nextID
	ch := make(chan cdpMessage, 1)
	b.pending[id] = ch
	b.mu.Unlock()
	req := map[string]any{"id": id, "method": method}
	if params != nil {
		req["params"] = params
	}
	if session != "" {
		req["sessionId"] = session
	}
	data, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.conn.Write(ctx, websocket.MessageText, data); err != nil {
		t.Fatalf("CDP %s: %v", method, err)
	}
	select {
	case m := <-ch:
		if m.Error != nil {
			t.Fatalf("CDP %s: %d %s", method, m.Error.Code, m.Error.Message)
		}
		if out != nil {
			if err := json.Unmarshal(m.Result, out); err != nil {
				t.Fatalf("CDP %s result %s: %v", method, m.Result, err)
			}
		}
	case <-ctx.Done():
		t.Fatalf("CDP %s: %v", method, ctx.Err())
	}
}

// eval evaluates a JavaScript expression in the page and decodes its value.
func (b *browser) eval(ctx context.Context, t *testing.T, session, expr string, out any) {
	t.Helper()
	var res struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text      string `json:"text"`
			Exception struct {
				Description string `json:"description"`
			} `json:"exception"`
		} `json:"exceptionDetails"`
	}
	b.call(ctx, t, session, "Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true}, &res)
	if e := res.ExceptionDetails; e != nil {
		t.Fatalf("evaluating %s: %s %s", expr, e.Text, e.Exception.Description)
	}
	if out != nil {
		if err := json.Unmarshal(res.Result.Value, out); err != nil {
			t.Fatalf("evaluating %s: value %s: %v", expr, res.Result.Value, errors.Join(err))
		}
	}
}

// click dispatches a real mouse click at the centre of the element.
func (b *browser) click(ctx context.Context, t *testing.T, session, selector string) {
	t.Helper()
	var pt [2]float64
	sel, _ := json.Marshal(selector)
	b.eval(ctx, t, session, fmt.Sprintf(`(() => { const e = document.querySelector(%s); e.scrollIntoView({block: "center"});
		const r = e.getBoundingClientRect(); return [r.x + r.width/2, r.y + r.height/2]; })()`, sel), &pt)
	for _, typ := range []string{"mousePressed", "mouseReleased"} {
		b.call(ctx, t, session, "Input.dispatchMouseEvent", map[string]any{
			"type": typ, "x": pt[0], "y": pt[1], "button": "left", "clickCount": 1,
		}, nil)
	}
}
