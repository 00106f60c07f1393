package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/madfam-org/janua/storage"
	"github.com/madfam-org/janua/web"
)

// metricsPath is where the metrics listener answers.
const metricsPath = "/metrics"

// metrics is the Prometheus endpoint: its own registry (never the global
// default one) with the process and Go runtime collectors, the store's
// statement counts and the HTTP requests by route. The load tool
// (cmd/janua-load) reads process_cpu_seconds_total and
// janua_db_statements_total from it before and after a run.
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newMetrics(store *storage.Store) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "janua_http_requests_total",
			Help: "HTTP requests answered, by matched route, method and status code.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "janua_http_request_duration_seconds",
			Help:    "Time from the request's arrival to the end of its response, by matched route and method.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method"}),
	}
	m.reg.MustRegister(
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewGoCollector(),
		statementCollector{store: store, desc: prometheus.NewDesc("janua_db_statements_total",
			"Database statements sent since the process started, by kind (query, create, update, delete, row, raw, begin, commit, rollback).",
			[]string{"kind"}, nil)},
		m.requests, m.duration,
	)
	return m
}

// middleware counts and times every request. It is mounted with e.Pre, so
// it wraps the whole chain; the access log (web.AccessLog) has already
// written the response when it returns, so the status is the one sent.
func (m *metrics) middleware() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			if err != nil {
				c.Error(err)
				err = nil
			}
			route := c.Path()
			if route == "" {
				route = "none"
			}
			method := metricMethod(c.Request().Method)
			m.duration.WithLabelValues(route, method).Observe(time.Since(start).Seconds())
			m.requests.WithLabelValues(route, method, strconv.Itoa(c.Response().Status)).Inc()
			return err
		}
	}
}

// metricMethod bounds the method label to the methods routes exist for.
func metricMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodPost, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodPatch, http.MethodDelete:
		return m
	}
	return "other"
}

// statementCollector exports storage.Store.Stats as a counter per kind.
type statementCollector struct {
	store *storage.Store
	desc  *prometheus.Desc
}

func (s statementCollector) Describe(ch chan<- *prometheus.Desc) { ch <- s.desc }

func (s statementCollector) Collect(ch chan<- prometheus.Metric) {
	st := s.store.Stats()
	for _, k := range storage.StatementKinds() {
		ch <- prometheus.MustNewConstMetric(s.desc, prometheus.CounterValue, float64(st.Of(k)), k.String())
	}
}

// serveMetrics starts the metrics listener when metrics.listen is set and
// counts e's requests; it stops with ctx. Off (the default), it costs
// nothing: no listener and no middleware.
func (a *app) serveMetrics(ctx context.Context, c Config, log *slog.Logger, store *storage.Store, e *echo.Echo) error {
	if c.Metrics.Listen == "" {
		return nil
	}
	m := newMetrics(store)
	e.Pre(m.middleware())
	ln, err := net.Listen("tcp", c.Metrics.Listen)
	if err != nil {
		return fmt.Errorf("metrics: listen on %s: %w", c.Metrics.Listen, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET "+metricsPath, promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}))
	if c.Metrics.Pprof {
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	}
	writeTimeout := 30 * time.Second
	if c.Metrics.Pprof {
		// A CPU profile or trace answers after the seconds it is asked
		// for; pprof refuses requests longer than this.
		writeTimeout = 5 * time.Minute
		log.Warn("metrics.pprof: Go's profiler is served on the metrics listener; keep it private", "addr", c.Metrics.Listen)
	}
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		WriteTimeout:      writeTimeout,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	go func() {
		if err := web.Serve(ctx, srv, ln, c.HTTP.ShutdownTimeout); err != nil {
			log.Error("metrics listener stopped", "err", err)
		}
	}()
	log.Info("metrics listening", "addr", ln.Addr().String(), "path", metricsPath)
	return nil
}
