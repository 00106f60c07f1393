package main

import (
	"net"
	"strings"
	"testing"
)

// freeAddr returns a loopback address no one listens on (for listeners
// whose address the test must know before serve starts).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

// metrics.listen serves Prometheus metrics on its own listener: the
// process, the statements the store sent by kind, and requests by route.
func TestMetricsEndpoint(t *testing.T) {
	c := newCLI(t)
	addr := freeAddr(t)
	c.env["JANUA_METRICS_LISTEN"] = addr
	base := startServe(t, c)
	if res, _ := get(t, base+"/.well-known/openid-configuration"); res.StatusCode != 200 {
		t.Fatalf("discovery: %d", res.StatusCode)
	}
	if res, _ := get(t, base+"/no-such-page"); res.StatusCode != 404 {
		t.Fatalf("unknown page: %d", res.StatusCode)
	}
	res, body := get(t, "http://"+addr+"/metrics")
	if res.StatusCode != 200 {
		t.Fatalf("metrics: %d %s", res.StatusCode, body)
	}
	for _, want := range []string{
		"\nprocess_cpu_seconds_total ",
		"\nprocess_resident_memory_bytes ",
		"\ngo_goroutines ",
		`janua_db_statements_total{kind="query"} `,
		`janua_db_statements_total{kind="commit"} `,
		`janua_http_requests_total{code="200",method="GET",route="/.well-known/openid-configuration"} 1`,
		`janua_http_requests_total{code="404",method="GET",route="none"} 1`,
		`janua_http_request_duration_seconds_bucket{method="GET",route="/.well-known/openid-configuration",le="+Inf"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	// The key ring loaded at start-up: the store has sent queries.
	if strings.Contains(body, `janua_db_statements_total{kind="query"} 0`+"\n") {
		t.Error("no query counted")
	}
	// The main listener does not serve them.
	if res, _ := get(t, base+"/metrics"); res.StatusCode != 404 {
		t.Errorf("main listener /metrics: %d, want 404", res.StatusCode)
	}
	// Nor is the profiler served unless metrics.pprof asks for it.
	if res, _ := get(t, "http://"+addr+"/debug/pprof/"); res.StatusCode != 404 {
		t.Errorf("/debug/pprof/ without metrics.pprof: %d, want 404", res.StatusCode)
	}
}

// metrics.pprof adds Go's profiler to the metrics listener (make bench
// takes a CPU profile of each scenario from it), never to the main one.
func TestMetricsPprof(t *testing.T) {
	c := newCLI(t)
	addr := freeAddr(t)
	c.env["JANUA_METRICS_LISTEN"] = addr
	c.env["JANUA_METRICS_PPROF"] = "true"
	base := startServe(t, c)
	res, body := get(t, "http://"+addr+"/debug/pprof/profile?seconds=1")
	if res.StatusCode != 200 || !strings.HasPrefix(body, "\x1f\x8b") {
		t.Fatalf("CPU profile: %d, %d bytes (want a gzipped profile)", res.StatusCode, len(body))
	}
	if res, _ := get(t, base+"/debug/pprof/"); res.StatusCode != 404 {
		t.Errorf("main listener /debug/pprof/: %d, want 404", res.StatusCode)
	}
	delete(c.env, "JANUA_METRICS_LISTEN")
	if _, _, err := c.run("config"); err == nil || !strings.Contains(err.Error(), "metrics.pprof") {
		t.Fatalf("metrics.pprof without metrics.listen: %v", err)
	}
}

// The metrics listener is off unless configured, and a bad address is a
// configuration problem.
func TestMetricsOffByDefault(t *testing.T) {
	if got := defaultConfig().Metrics.Listen; got != "" {
		t.Fatalf("metrics.listen defaults to %q", got)
	}
	c := newCLI(t)
	c.env["JANUA_METRICS_LISTEN"] = "nonsense"
	_, _, err := c.run("config")
	if err == nil || !strings.Contains(err.Error(), "metrics.listen") {
		t.Fatalf("bad metrics.listen: %v", err)
	}
}
