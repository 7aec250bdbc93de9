package testenv

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

// outcomes sends n GETs through a new proxy and records each one's fate.
func outcomes(t *testing.T, opts FaultProxyOptions, n int) ([]string, *FaultProxy) {
	t.Helper()
	body := strings.Repeat("0123456789", 100)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000")
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(backend.Close)
	p := NewFaultProxy(t, backend.URL, opts)
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	var got []string
	for range n {
		resp, err := client.Get(p.URL + "/obj")
		if err != nil {
			got = append(got, "reset")
			continue
		}
		b, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		switch {
		case errors.Is(err, io.ErrUnexpectedEOF):
			got = append(got, "cut")
			if len(b) != 500 {
				t.Errorf("cut after %d bytes, want 500", len(b))
			}
		case err != nil:
			got = append(got, "reset mid-body")
			if len(b) > 500 {
				t.Errorf("reset after %d bytes, want at most 500", len(b))
			}
		case resp.StatusCode != http.StatusOK:
			got = append(got, resp.Status)
		case string(b) != body:
			t.Errorf("body changed: %d bytes", len(b))
		default:
			got = append(got, "ok")
		}
	}
	return got, p
}

func TestFaultProxy(t *testing.T) {
	opts := FaultProxyOptions{Rate: 0.5, Seed: 3, MaxFaults: 12}
	a, p := outcomes(t, opts, 60)
	b, _ := outcomes(t, opts, 60)
	if !slices.Equal(a, b) {
		t.Errorf("same seed, different faults:\n%v\n%v", a, b)
	}
	failed := 60 - strings.Count(strings.Join(a, " "), "ok")
	if failed != 12 || p.Total() != 12 || p.Requests() != 60 {
		t.Errorf("%d failed, %d injected in %d requests; want 12, 12 in 60", failed, p.Total(), p.Requests())
	}
	for _, want := range []string{"reset", "reset mid-body", "cut", "500 Internal Server Error", "503 Service Unavailable"} {
		if !slices.Contains(a, want) {
			t.Errorf("no %q among %v", want, a)
		}
	}
	if !slices.Equal(a[len(a)-20:], slices.Repeat([]string{"ok"}, 20)) {
		t.Errorf("faults past MaxFaults: %v", a)
	}
	p.SetEnabled(false)
}
