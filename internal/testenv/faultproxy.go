package testenv

import (
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strconv"
	"sync"
	"testing"
)

// Fault is one kind of failure the proxy injects.
type Fault int

// Faults, in the order FaultCounts reports them.
const (
	// FaultInternalError answers 500 InternalError without forwarding.
	FaultInternalError Fault = iota
	// FaultSlowDown answers 503 SlowDown (S3's throttling) without
	// forwarding.
	FaultSlowDown
	// FaultReset forwards nothing and resets the connection (TCP RST)
	// before any answer.
	FaultReset
	// FaultResetMidBody forwards the request, sends the answer's headers
	// and the first half of its body, then resets the connection (the
	// client may or may not get the half body before the reset). When the
	// answer has no body to cut (HEAD, an empty 2xx, no Content-Length),
	// the connection is reset before the answer instead: the store has
	// acted on the request but the client never hears of it.
	FaultResetMidBody
	// FaultCutMidBody is FaultResetMidBody with an orderly close instead
	// of a reset: the client gets exactly the first half of the body, then
	// end of file before Content-Length.
	FaultCutMidBody
	numFaults
)

func (f Fault) String() string {
	switch f {
	case FaultInternalError:
		return "500"
	case FaultSlowDown:
		return "503 SlowDown"
	case FaultReset:
		return "reset"
	case FaultResetMidBody:
		return "reset mid-body"
	case FaultCutMidBody:
		return "cut mid-body"
	}
	return "fault(" + strconv.Itoa(int(f)) + ")"
}

// EnvFaultSeed is the environment variable that seeds fault proxies whose
// options leave Seed zero.
const EnvFaultSeed = "BATCHINFER_FAULT_SEED"

// FaultProxyOptions configure a FaultProxy.
type FaultProxyOptions struct {
	// Rate is the fraction of requests that fail, in [0, 1]. Default 0.2.
	Rate float64
	// Seed seeds the choice of requests and faults. Default:
	// $BATCHINFER_FAULT_SEED, else 1 (the proxy logs the seed it uses).
	Seed uint64
	// MaxFaults bounds the faults injected over the proxy's life; after
	// that every request is forwarded untouched. Default 200.
	MaxFaults int
	// Faults are the kinds to inject, chosen uniformly. Default: all.
	Faults []Fault
	// Match, when set, limits faults to the requests it accepts (such as
	// only the POSTs completing multipart uploads).
	Match func(*http.Request) bool
}

// FaultProxy is an HTTP reverse proxy that fails a seeded fraction of the
// requests it forwards.
type FaultProxy struct {
	// URL is the proxy's base URL, "http://127.0.0.1:PORT".
	URL string

	srv    *httptest.Server
	target *url.URL
	rp     *httputil.ReverseProxy
	opts   FaultProxyOptions

	mu       sync.Mutex
	rng      *rand.Rand
	enabled  bool
	requests int
	counts   [numFaults]int
}

// NewFaultProxy starts a proxy to target (a base URL such as an
// S3Server's Endpoint), closed at the end of the test. Faults are enabled.
func NewFaultProxy(t testing.TB, target string, opts FaultProxyOptions) *FaultProxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatalf("fault proxy target %q: %v", target, err)
	}
	if opts.Rate == 0 {
		opts.Rate = 0.2
	}
	if opts.Seed == 0 {
		opts.Seed = 1
		if v, err := strconv.ParseUint(os.Getenv(EnvFaultSeed), 10, 64); err == nil && v != 0 {
			opts.Seed = v
		}
	}
	t.Logf("fault proxy: rate %.2f, seed %d (set $%s to vary)", opts.Rate, opts.Seed, EnvFaultSeed)
	if opts.MaxFaults == 0 {
		opts.MaxFaults = 200
	}
	if len(opts.Faults) == 0 {
		opts.Faults = []Fault{FaultInternalError, FaultSlowDown, FaultReset, FaultResetMidBody, FaultCutMidBody}
	}
	p := &FaultProxy{
		target:  u,
		opts:    opts,
		rng:     rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15)),
		enabled: true,
	}
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			// Keep the Host header: it is part of the SigV4 signature.
			r.SetURL(u)
			r.Out.Host = r.In.Host
		},
		ErrorLog: log.New(io.Discard, "", 0),
	}
	p.srv = httptest.NewServer(p)
	p.URL = p.srv.URL
	t.Cleanup(p.srv.Close)
	return p
}

// SetEnabled turns fault injection on or off.
func (p *FaultProxy) SetEnabled(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.enabled = on
}

// Requests returns how many requests the proxy has seen.
func (p *FaultProxy) Requests() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.requests
}

// Injected returns how many faults of each kind were injected.
func (p *FaultProxy) Injected() map[Fault]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	m := map[Fault]int{}
	for f, n := range p.counts {
		if n > 0 {
			m[Fault(f)] = n
		}
	}
	return m
}

// Total returns how many faults were injected.
func (p *FaultProxy) Total() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, c := range p.counts {
		n += c
	}
	return n
}

// pick decides the fate of one request: a fault, or -1 to forward it.
func (p *FaultProxy) pick(r *http.Request) Fault {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.requests++
	total := 0
	for _, c := range p.counts {
		total += c
	}
	if !p.enabled || total >= p.opts.MaxFaults || (p.opts.Match != nil && !p.opts.Match(r)) || p.rng.Float64() >= p.opts.Rate {
		return -1
	}
	f := p.opts.Faults[p.rng.IntN(len(p.opts.Faults))]
	p.counts[f]++
	return f
}

func (p *FaultProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch f := p.pick(r); f {
	case FaultInternalError:
		drain(r)
		s3Error(w, http.StatusInternalServerError, "InternalError", "We encountered an internal error. Please try again.")
	case FaultSlowDown:
		drain(r)
		s3Error(w, http.StatusServiceUnavailable, "SlowDown", "Please reduce your request rate.")
	case FaultReset:
		drain(r)
		reset(w, false)
	case FaultResetMidBody, FaultCutMidBody:
		m := &midBodyResetter{w: w, header: w.Header(), noBody: r.Method == http.MethodHead, graceful: f == FaultCutMidBody}
		p.rp.ServeHTTP(m, r)
		m.cutNow() // no-op unless no answer came at all
	default:
		p.rp.ServeHTTP(w, r)
	}
}

// drain reads the request body so that the client is not still sending
// when the answer (or the reset) comes.
func drain(r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
}

func s3Error(w http.ResponseWriter, status int, code, msg string) {
	body := fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?>`+"\n"+
		`<Error><Code>%s</Code><Message>%s</Message><RequestId>faultproxy</RequestId></Error>`, code, msg)
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.Header().Set("Connection", "close")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// reset hijacks the connection and closes it, with a TCP RST unless
// graceful (the response, if any was written, is flushed first). A
// connection already hijacked is left alone.
func reset(w http.ResponseWriter, graceful bool) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		return // already hijacked and closed
	}
	if buf != nil {
		_ = buf.Flush()
	}
	if tc, ok := conn.(*net.TCPConn); ok && !graceful {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// midBodyResetter passes the answer's headers and the first half of its
// body (by Content-Length) through, then resets the connection; answers
// without a body to cut are not passed at all.
type midBodyResetter struct {
	w        http.ResponseWriter
	header   http.Header
	noBody   bool  // a HEAD request: the answer has no body whatever its length
	graceful bool  // close with FIN rather than RST
	limit    int64 // bytes of body to pass
	written  int64
	cut      bool
}

func (m *midBodyResetter) Header() http.Header { return m.header }

func (m *midBodyResetter) WriteHeader(status int) {
	n, err := strconv.ParseInt(m.header.Get("Content-Length"), 10, 64)
	if m.noBody || err != nil || n < 2 {
		m.cutNow()
		return
	}
	m.limit = n / 2
	m.w.WriteHeader(status)
}

func (m *midBodyResetter) Write(b []byte) (int, error) {
	if m.cut {
		return 0, http.ErrAbortHandler
	}
	k := min(int64(len(b)), m.limit-m.written)
	n, err := m.w.Write(b[:k])
	m.written += int64(n)
	if err != nil {
		return n, err
	}
	if m.written >= m.limit {
		m.cutNow()
		return n, http.ErrAbortHandler
	}
	return n, nil
}

func (m *midBodyResetter) cutNow() {
	if m.cut {
		return
	}
	m.cut = true
	if m.limit > 0 {
		// The headers went out: push the buffered body to the
		// connection (Hijack would drop it).
		if f, ok := m.w.(http.Flusher); ok {
			f.Flush()
		}
	}
	reset(m.w, m.graceful)
}

// Flush implements http.Flusher for the reverse proxy.
func (m *midBodyResetter) Flush() {
	if f, ok := m.w.(http.Flusher); ok && !m.cut {
		f.Flush()
	}
}
