package platform

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"flag"
	"io"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/batchinfer/batchinfer/workflows"
)

// selfSigned writes a self-signed certificate and its key (PEM) to dir.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, certPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "batchinfer-test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	certFile, keyFile = filepath.Join(dir, "client.pem"), filepath.Join(dir, "client.key")
	if err := os.WriteFile(certFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile, certPEM
}

func TestClientOptionsPlainByDefault(t *testing.T) {
	opts, err := ConnectOptions{Address: "temporal:7233", Namespace: "ml"}.ClientOptions()
	if err != nil {
		t.Fatal(err)
	}
	if opts.HostPort != "temporal:7233" || opts.Namespace != "ml" {
		t.Errorf("host/namespace: %q %q", opts.HostPort, opts.Namespace)
	}
	if opts.ConnectionOptions.TLS != nil || opts.Credentials != nil || !opts.ConnectionOptions.TLSDisabled {
		t.Errorf("want plain text without credentials: %+v", opts.ConnectionOptions)
	}
	def, err := ConnectOptions{}.ClientOptions()
	if err != nil || def.HostPort != DefaultAddress || def.Namespace != DefaultNamespace {
		t.Errorf("defaults: %q %q %v", def.HostPort, def.Namespace, err)
	}
}

func TestClientOptionsMutualTLS(t *testing.T) {
	dir := t.TempDir()
	cert, key, certPEM := selfSigned(t, dir)
	opts, err := ConnectOptions{Address: "ns.tmprl.cloud:7233", TLSCert: cert, TLSKey: key, TLSCA: cert, TLSServerName: "frontend.internal"}.ClientOptions()
	if err != nil {
		t.Fatal(err)
	}
	cfg := opts.ConnectionOptions.TLS
	if cfg == nil {
		t.Fatal("TLS is off")
	}
	if len(cfg.Certificates) != 1 || cfg.ServerName != "frontend.internal" || cfg.RootCAs == nil {
		t.Errorf("tls config: %d certificates, server name %q, roots %v", len(cfg.Certificates), cfg.ServerName, cfg.RootCAs != nil)
	}
	if opts.ConnectionOptions.TLSDisabled || opts.Credentials != nil {
		t.Error("mTLS without API key: want TLS on, no credentials")
	}
	// PEM text instead of files (environment variables in containers).
	keyPEM, _ := os.ReadFile(key)
	opts, err = ConnectOptions{TLSCert: string(certPEM), TLSKey: string(keyPEM)}.ClientOptions()
	if err != nil || opts.ConnectionOptions.TLS == nil || len(opts.ConnectionOptions.TLS.Certificates) != 1 {
		t.Errorf("PEM text: %v", err)
	}
}

func TestClientOptionsAPIKeyTurnsTLSOn(t *testing.T) {
	opts, err := ConnectOptions{Address: "ns.a.tmprl.cloud:7233", APIKey: "secret"}.ClientOptions()
	if err != nil {
		t.Fatal(err)
	}
	if opts.Credentials == nil {
		t.Error("no API key credentials")
	}
	if opts.ConnectionOptions.TLS == nil || opts.ConnectionOptions.TLSDisabled {
		t.Error("an API key turns TLS on")
	}
	off := false
	opts, err = ConnectOptions{APIKey: "secret", TLS: &off}.ClientOptions()
	if err != nil {
		t.Fatal(err)
	}
	if opts.Credentials == nil || opts.ConnectionOptions.TLS != nil || !opts.ConnectionOptions.TLSDisabled {
		t.Error("--tls=false with an API key: want credentials over plain text")
	}
	on := true
	opts, err = ConnectOptions{TLS: &on}.ClientOptions()
	if err != nil || opts.ConnectionOptions.TLS == nil {
		t.Errorf("--tls: %v", err)
	}
}

func TestClientOptionsErrors(t *testing.T) {
	dir := t.TempDir()
	cert, _, _ := selfSigned(t, dir)
	off := false
	for name, tc := range map[string]struct {
		o    ConnectOptions
		want string
	}{
		"cert without key": {ConnectOptions{TLSCert: cert}, "--tls-key"},
		"missing file":     {ConnectOptions{TLSCert: filepath.Join(dir, "nope.pem"), TLSKey: filepath.Join(dir, "nope.key")}, "nope.pem"},
		"key not matching": {ConnectOptions{TLSCert: cert, TLSKey: cert}, "client certificate"},
		"ca not PEM":       {ConnectOptions{TLSCA: writeFile(t, dir, "ca.txt", "hello")}, "no PEM certificate"},
		"tls off but ca":   {ConnectOptions{TLSCA: cert, TLS: &off}, "TLS is off"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := tc.o.ClientOptions()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want error mentioning %q, got %v", tc.want, err)
			}
		})
	}
}

func writeFile(t *testing.T, dir, name, s string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestConnectOptionsEnvAndFlags(t *testing.T) {
	t.Setenv(EnvAddress, "env-host:7233")
	t.Setenv(EnvNamespace, "env-ns")
	t.Setenv(EnvAPIKey, "env-key")
	t.Setenv(EnvTLSServerName, "env-name")
	t.Setenv(EnvTLS, "true")
	o, err := ConnectOptionsFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	if o.Address != "env-host:7233" || o.Namespace != "env-ns" || o.APIKey != "env-key" || o.TLSServerName != "env-name" || o.TLS == nil || !*o.TLS {
		t.Fatalf("from env: %+v", o)
	}
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	o.RegisterFlags(fs)
	if err := fs.Parse([]string{"--address", "flag-host:1", "--tls=false", "--api-key", "flag-key"}); err != nil {
		t.Fatal(err)
	}
	if o.Address != "flag-host:1" || o.Namespace != "env-ns" || o.APIKey != "flag-key" || o.TLS == nil || *o.TLS {
		t.Fatalf("flags win over env: %+v", o)
	}
	// The API key from the environment is not printed in the help.
	var help strings.Builder
	fs.SetOutput(&help)
	fs.PrintDefaults()
	if strings.Contains(help.String(), "key") && strings.Contains(help.String(), "env-key") {
		t.Error("help shows the API key")
	}
	t.Setenv(EnvTLS, "maybe")
	if _, err := ConnectOptionsFromEnv(); err == nil || !strings.Contains(err.Error(), EnvTLS) {
		t.Errorf("bad %s: %v", EnvTLS, err)
	}
}

func TestWorkflowID(t *testing.T) {
	now := time.Date(2026, 11, 25, 2, 3, 4, 5e6, time.FixedZone("CET", 3600))
	for _, tc := range []struct{ job, batch, want string }{
		{"", "", "batchpredict/adhoc/20261125T010304.005Z"},
		{"churn", "", "batchpredict/churn/20261125T010304.005Z"},
		{"churn", "b-42", "batchpredict/churn/b-42"},
		{"", "b-42", "batchpredict/adhoc/b-42"},
	} {
		if got := WorkflowID(tc.job, tc.batch, now); got != tc.want {
			t.Errorf("WorkflowID(%q, %q) = %q, want %q", tc.job, tc.batch, got, tc.want)
		}
	}
	if got := ScheduleWorkflowID("nightly"); got != "batchpredict/nightly" {
		t.Errorf("ScheduleWorkflowID = %q", got)
	}
}

func TestScheduleActionCarriesJob(t *testing.T) {
	in := workflows.BatchPredictInput{Dataset: []string{"/d/{{ .ScheduledTime.Format \"2006\" }}.csv"}, Model: "/m", Job: "other"}
	a := ScheduleAction("nightly", "q", in)
	got := a.Args[0].(workflows.BatchPredictInput)
	if got.Job != "nightly" || a.ID != "batchpredict/nightly" || a.TaskQueue != "q" || a.WorkflowExecutionTimeout != RunTimeout {
		t.Errorf("action %+v, job %q", a, got.Job)
	}
	if !strings.Contains(a.StaticSummary, "nightly") || !strings.Contains(a.StaticDetails, "/m") {
		t.Errorf("summary %q details %q", a.StaticSummary, a.StaticDetails)
	}
	if a.TypedSearchAttributes.Size() != 2 {
		t.Errorf("search attributes: %d, want job and model", a.TypedSearchAttributes.Size())
	}
}

func TestParseCron(t *testing.T) {
	after := time.Date(2026, 11, 25, 10, 30, 0, 0, time.UTC)
	for _, tc := range []struct {
		exprs    []string
		tz       string
		next     []string
		interval time.Duration
	}{
		{[]string{"@hourly"}, "", []string{"2026-11-25T11:00:00Z", "2026-11-25T12:00:00Z"}, time.Hour},
		{[]string{"0 2 * * *"}, "Europe/Paris", []string{"2026-11-26T02:00:00+01:00", "2026-11-27T02:00:00+01:00"}, 24 * time.Hour},
		{[]string{"*/15 9-17 * * MON-FRI"}, "", []string{"2026-11-25T10:45:00Z", "2026-11-25T11:00:00Z"}, 15 * time.Minute},
		// Temporal's rule: day-of-month AND day-of-week (Friday the 13th).
		{[]string{"0 0 13 * FRI"}, "", []string{"2027-08-13T00:00:00Z", "2028-10-13T00:00:00Z"}, 0},
		{[]string{"@every 90m"}, "", []string{"2026-11-25T12:00:00Z", "2026-11-25T13:30:00Z"}, 90 * time.Minute},
		{[]string{"0 6 * * *", "0 18 * * *"}, "", []string{"2026-11-25T18:00:00Z", "2026-11-26T06:00:00Z"}, 12 * time.Hour},
	} {
		cs, err := ParseCron(tc.exprs, tc.tz)
		if err != nil {
			t.Fatalf("%v: %v", tc.exprs, err)
		}
		next := cs.Next(after, 2)
		for i, want := range tc.next {
			if i >= len(next) || next[i].Format(time.RFC3339) != want {
				t.Errorf("%v next[%d] = %v, want %s", tc.exprs, i, next, want)
			}
		}
		if tc.interval != 0 {
			if got := cs.Interval(after); got != tc.interval {
				t.Errorf("%v interval %v, want %v", tc.exprs, got, tc.interval)
			}
		}
	}
	cs, _ := ParseCron([]string{"@daily"}, "")
	if cs.Expressions[0] != "0 0 * * *" {
		t.Errorf("@daily sent as %q", cs.Expressions[0])
	}
	if spec := cs.Spec(time.Minute); spec.Jitter != time.Minute || spec.TimeZoneName != "" || len(spec.CronExpressions) != 1 {
		t.Errorf("spec %+v", spec)
	}
}

func TestParseCronErrors(t *testing.T) {
	for _, tc := range []struct {
		exprs []string
		tz    string
		want  string
	}{
		{nil, "", "--cron is required"},
		{[]string{"61 * * * *"}, "", `minute "61": end of range (61) above maximum (59)`},
		{[]string{"0 0 * * 8"}, "", `day-of-week "8"`},
		{[]string{"0 0 * FOO *"}, "", `month "FOO"`},
		{[]string{"* * * *"}, "", "want 5 fields"},
		{[]string{"0 0 * * * *"}, "", "want 5 fields"},
		{[]string{"@fortnightly"}, "", "unknown shortcut"},
		{[]string{"@every soon"}, "", "@every wants a duration"},
		{[]string{"0 0 30 2 *"}, "", "never matches"},
		{[]string{"CRON_TZ=UTC 0 0 * * *"}, "", "--time-zone"},
		{[]string{"0 0 * * *"}, "Mars/Olympus_Mons", "unknown time zone"},
	} {
		_, err := ParseCron(tc.exprs, tc.tz)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseCron(%q, %q): want error mentioning %q, got %v", tc.exprs, tc.tz, tc.want, err)
		}
	}
	if _, err := ParseOverlap("sometimes"); err == nil || !strings.Contains(err.Error(), "buffer-one") {
		t.Errorf("ParseOverlap: %v", err)
	}
	for name := range overlapPolicies {
		p, err := ParseOverlap(name)
		if err != nil || OverlapName(p) != name {
			t.Errorf("overlap %s round trip: %v %v", name, p, err)
		}
	}
}

func TestFormatCalendar(t *testing.T) {
	c := client.ScheduleCalendarSpec{
		Second:     []client.ScheduleRange{{Start: 0}},
		Minute:     []client.ScheduleRange{{Start: 0, End: 59, Step: 15}},
		Hour:       []client.ScheduleRange{{Start: 9, End: 17}},
		DayOfMonth: []client.ScheduleRange{{Start: 1, End: 31}},
		Month:      []client.ScheduleRange{{Start: 1, End: 12}},
		DayOfWeek:  []client.ScheduleRange{{Start: 1, End: 5}, {Start: 0}},
	}
	if got := FormatCalendar(c); got != "*/15 9-17 * * 1-5,0" {
		t.Errorf("FormatCalendar = %q", got)
	}
}

func TestLoggerFormats(t *testing.T) {
	var b strings.Builder
	l, err := NewLogger(&b, "json", "debug")
	if err != nil {
		t.Fatal(err)
	}
	l.Debug("hello", "rows", 3)
	if !strings.HasPrefix(b.String(), "{") || !strings.Contains(b.String(), `"rows":3`) {
		t.Errorf("json log: %q", b.String())
	}
	b.Reset()
	l, _ = NewLogger(&b, "text", "warn")
	l.Info("hidden")
	l.Warn("shown", "k", "v")
	if strings.Contains(b.String(), "hidden") || !strings.Contains(b.String(), "k=v") {
		t.Errorf("text log: %q", b.String())
	}
	if _, err := NewLogger(&b, "xml", ""); err == nil {
		t.Error("xml format accepted")
	}
	if _, err := NewLogger(&b, "", "loud"); err == nil {
		t.Error("level loud accepted")
	}
}

func TestMetricsEndpointServesBusinessAndSDKMetrics(t *testing.T) {
	m, err := NewMetrics(nil)
	if err != nil {
		t.Fatal(err)
	}
	m.RowsScored("/models/churn", 1200)
	m.ShardDone("/models/churn", 1200, 300*time.Millisecond)
	m.DriftMeasured("nightly", 0.42, false)
	m.SDKHandler().WithTags(map[string]string{"namespace": "default"}).Counter("temporal_request").Inc(1)
	m.SDKHandler().Timer("temporal_activity_execution_latency").Record(20 * time.Millisecond)
	srv, err := ServeMetrics("127.0.0.1:0", m)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close(t.Context())
	resp, err := http.Get(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	text := string(b)
	for _, want := range []string{
		`batchinfer_rows_scored_total{model="/models/churn"} 1200`,
		`batchinfer_rows_per_second{model="/models/churn"} 4000`,
		`batchinfer_shard_duration_seconds_count{model="/models/churn"} 1`,
		`batchinfer_drift_metric{job="nightly"} 0.42`,
		`batchinfer_drift_detected{job="nightly"} 0`,
		`temporal_request_total{namespace="default"} 1`,
		`temporal_activity_execution_latency_seconds_bucket`,
		`go_goroutines`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if t.Failed() {
		t.Log(text)
	}
}
