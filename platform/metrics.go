package platform

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.temporal.io/sdk/client"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"

	"github.com/batchinfer/batchinfer/activities"
)

// Names of batchinfer's own metrics, as Prometheus exposes them.
const (
	MetricRowsScored    = "batchinfer_rows_scored_total"
	MetricRowsPerSecond = "batchinfer_rows_per_second"
	MetricShardDuration = "batchinfer_shard_duration_seconds"
	MetricDriftMetric   = "batchinfer_drift_metric"
	MetricDriftDetected = "batchinfer_drift_detected"
)

// DefaultMetricsAddr is where the worker serves /metrics by default:
// loopback only, since metrics may name models and jobs.
const DefaultMetricsAddr = "127.0.0.1:9090"

// Metrics is one Prometheus registry holding the Temporal SDK's metrics
// (through SDKHandler), Go runtime and process metrics, and batchinfer's
// business metrics (it implements activities.Metrics). Safe for
// concurrent use.
type Metrics struct {
	registry  *prometheus.Registry
	rows      *prometheus.CounterVec
	rate      *prometheus.GaugeVec
	shard     *prometheus.HistogramVec
	drift     *prometheus.GaugeVec
	detected  *prometheus.GaugeVec
	provider  *sdkmetric.MeterProvider
	sdk       client.MetricsHandler
	logger    *slog.Logger
	sdkErrors prometheus.Counter
}

var _ activities.Metrics = (*Metrics)(nil)

// NewMetrics creates the registry and its metrics. logger (may be nil)
// receives errors of the SDK metrics pipeline.
func NewMetrics(logger *slog.Logger) (*Metrics, error) {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		registry: reg,
		logger:   logger,
		rows: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricRowsScored,
			Help: "Rows scored, by model URI.",
		}, []string{"model"}),
		rate: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: MetricRowsPerSecond,
			Help: "Rows per second of the last finished shard, by model URI (for the long-run rate use rate(" + MetricRowsScored + ")).",
		}, []string{"model"}),
		shard: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    MetricShardDuration,
			Help:    "Duration of a Predict shard, by model URI.",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 15), // 50 ms .. ~14 min
		}, []string{"model"}),
		drift: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: MetricDriftMetric,
			Help: "drift_metric of the job's last run (mean of TVD and Hellinger over the features).",
		}, []string{"job"}),
		detected: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: MetricDriftDetected,
			Help: "drift_status of the job's last run: 1 drift detected, 0 not.",
		}, []string{"job"}),
		sdkErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "batchinfer_sdk_metric_errors_total",
			Help: "Errors recording Temporal SDK metrics.",
		}),
	}
	for _, c := range []prometheus.Collector{
		m.rows, m.rate, m.shard, m.drift, m.detected, m.sdkErrors,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("registering metrics: %w", err)
		}
	}
	exporter, err := otelprom.New(otelprom.WithRegisterer(reg), otelprom.WithoutScopeInfo(), otelprom.WithoutTargetInfo())
	if err != nil {
		return nil, fmt.Errorf("creating the SDK metrics exporter: %w", err)
	}
	// The SDK's timers are histograms in seconds; OpenTelemetry's default
	// buckets are meant for milliseconds.
	seconds := sdkmetric.NewView(
		sdkmetric.Instrument{Kind: sdkmetric.InstrumentKindHistogram, Unit: "s"},
		sdkmetric.Stream{Aggregation: sdkmetric.AggregationExplicitBucketHistogram{
			Boundaries: []float64{0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600},
		}},
	)
	m.provider = sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter), sdkmetric.WithView(seconds))
	m.sdk = temporalotel.NewMetricsHandler(temporalotel.MetricsHandlerOptions{
		Meter:                m.provider.Meter("temporal-sdk-go"),
		UseMonotonicCounters: true,
		OnError: func(err error) {
			m.sdkErrors.Inc()
			if m.logger != nil {
				m.logger.Warn("recording a Temporal SDK metric", "error", err)
			}
		},
	})
	return m, nil
}

// SDKHandler is the Temporal SDK metrics handler feeding this registry;
// set it as client.Options.MetricsHandler.
func (m *Metrics) SDKHandler() client.MetricsHandler { return m.sdk }

// Registry is the Prometheus registry, for tests and extra collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.registry }

// Handler serves the registry in Prometheus' text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

// RowsScored implements activities.Metrics.
func (m *Metrics) RowsScored(model string, rows int64) {
	if rows > 0 {
		m.rows.WithLabelValues(model).Add(float64(rows))
	}
}

// ShardDone implements activities.Metrics.
func (m *Metrics) ShardDone(model string, rows int64, d time.Duration) {
	m.shard.WithLabelValues(model).Observe(d.Seconds())
	if d > 0 {
		m.rate.WithLabelValues(model).Set(float64(rows) / d.Seconds())
	}
}

// DriftMeasured implements activities.Metrics.
func (m *Metrics) DriftMeasured(job string, metric float64, detected bool) {
	m.drift.WithLabelValues(job).Set(metric)
	v := 0.0
	if detected {
		v = 1
	}
	m.detected.WithLabelValues(job).Set(v)
}

// Shutdown flushes and stops the SDK metrics pipeline.
func (m *Metrics) Shutdown(ctx context.Context) error { return m.provider.Shutdown(ctx) }

// MetricsServer serves /metrics over HTTP.
type MetricsServer struct {
	srv  *http.Server
	addr string
	done chan error
}

// ServeMetrics listens on addr (host:port; port 0 picks a free one) and
// serves m at /metrics until Close.
func ServeMetrics(addr string, m *Metrics) (*MetricsServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics endpoint on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", m.Handler())
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintln(w, "batchinfer worker: metrics at /metrics")
	})
	s := &MetricsServer{
		srv:  &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second},
		addr: ln.Addr().String(),
		done: make(chan error, 1),
	}
	go func() {
		err := s.srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		s.done <- err
	}()
	return s, nil
}

// Addr is the address actually listened on.
func (s *MetricsServer) Addr() string { return s.addr }

// URL is the metrics endpoint's URL.
func (s *MetricsServer) URL() string { return "http://" + s.addr + "/metrics" }

// Close stops the server.
func (s *MetricsServer) Close(ctx context.Context) error {
	if err := s.srv.Shutdown(ctx); err != nil {
		return err
	}
	return <-s.done
}
