package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/madfam-org/janua/storage/storagetest"
)

// januaBin is janua built once for the package's tests (TestMain).
var januaBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "janua-load-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	januaBin = filepath.Join(dir, "janua")
	build := exec.Command("go", "build", "-o", januaBin, "../janua")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build janua:", err)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// server is a janua serve process on SQLite in a temporary directory, with
// the fixture janua-load setup wrote for it.
type server struct {
	issuer, metrics, fixture string
	pid                      int
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func startJanua(t *testing.T) *server {
	t.Helper()
	dir := t.TempDir()
	addr, maddr := freeAddr(t), freeAddr(t)
	s := &server{issuer: "http://" + addr, metrics: "http://" + maddr + "/metrics", fixture: filepath.Join(dir, "fixture.json")}
	env := []string{
		"JANUA_DATA_DIR=" + filepath.Join(dir, "data"),
		"JANUA_HTTP_ADDR=" + addr,
		"JANUA_ISSUER=" + s.issuer,
		"JANUA_METRICS_LISTEN=" + maddr, "JANUA_METRICS_PPROF=true",
		"JANUA_LOG_LEVEL=warn",
		// Cheap argon2 for tests; the bench runs the production cost.
		"JANUA_ARGON2_MEMORY_KIB=8192", "JANUA_ARGON2_ITERATIONS=1",
		"JANUA_LOGIN_IP_RATE_LIMIT=1000000",
	}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v) // setup runs the janua CLI with this environment
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"setup", "--janua", januaBin, "--users", "4", "--out", s.fixture}, nil, &out, &out); err != nil {
		t.Fatalf("setup: %v\n%s", err, out.String())
	}
	cmd := exec.Command(januaBin, "serve")
	cmd.Env = append(os.Environ(), env...)
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.pid = cmd.Process.Pid
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("janua serve exited with %v\n%s", err, logs.String())
			}
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			t.Error("janua serve did not stop within 20 s of SIGTERM")
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := http.Get(s.issuer + "/health/ready")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("janua serve not ready in 30 s: %v\n%s", err, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// load runs janua-load with args against s and returns its JSON report.
func (s *server) load(t *testing.T, args ...string) (*Report, error) {
	t.Helper()
	var out, errb bytes.Buffer
	args = append([]string{"--issuer", s.issuer, "--fixture", s.fixture, "--server-pid", fmt.Sprint(s.pid),
		"--metrics-url", s.metrics, "--output", "json", "--warmup", "0s", "--concurrency", "2"}, args...)
	err := run(context.Background(), args, nil, &out, &errb)
	var rep Report
	if jerr := json.Unmarshal(out.Bytes(), &rep); jerr != nil {
		t.Fatalf("janua-load %s: %v (%v)\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, jerr, out.String(), errb.String())
	}
	return &rep, err
}

// Every scenario runs without an error against a fresh janua serve, and
// reports counts, latency percentiles and the server's cost.
func TestLoadEveryScenario(t *testing.T) {
	s := startJanua(t)
	rep, err := s.load(t, "--scenario", "all", "--duration", "1s")
	if err != nil {
		t.Fatalf("janua-load: %v\n%+v", err, rep)
	}
	if len(rep.Results) != len(scenarios) {
		t.Fatalf("%d results for %d scenarios", len(rep.Results), len(scenarios))
	}
	for _, r := range rep.Results {
		t.Run(r.Scenario, func(t *testing.T) {
			if r.Skipped != "" || r.SetupError != "" || r.Errors != 0 || r.Ops == 0 {
				t.Fatalf("skipped %q, set-up error %q, %d errors %v, %d ops", r.Skipped, r.SetupError, r.Errors, r.ErrorSamples, r.Ops)
			}
			l := r.LatencyMS
			if l == nil || l.P50 <= 0 || l.P50 > l.P90 || l.P90 > l.P99 || l.P99 > l.Max {
				t.Errorf("latency %+v", l)
			}
			if r.Requests < r.Ops || r.RequestsPerOp < 1 {
				t.Errorf("%d requests for %d ops", r.Requests, r.Ops)
			}
			sv := r.Server
			if sv == nil || sv.CPUSeconds < 0 || sv.CPUMicrosPerOp < 0 || sv.RSSBeforeMiB <= 0 || sv.RSSPeakMiB < sv.RSSBeforeMiB || sv.StatementsPerOp < 0 {
				t.Fatalf("server usage %+v (%s)", sv, r.ServerError)
			}
			// Documents are served from memory, and so is a token
			// introspected again (storage's access token cache); JWT
			// access tokens of client_credentials are issued without a
			// row (oidc/statelessjwt.go); every other token operation
			// touches the database. The server's own background work
			// (the mail outbox's poll, garbage collection) may add a
			// statement to a window of a few hundred operations.
			switch r.Scenario {
			case "discovery", "jwks", "cc-jwt-es256", "cc-jwt-rs256", "introspect":
				if sv.StatementsPerOp > 0.1 {
					t.Errorf("%.2f statements per op: not served from memory", sv.StatementsPerOp)
				}
			default:
				// At least one each (the window's edges blur it a little).
				if sv.StatementsPerOp < 0.9 {
					t.Errorf("%.2f statements per op", sv.StatementsPerOp)
				}
			}
		})
	}
}

// An unexpected status is an error, never a success: a wrong client secret
// fails every operation, and the exit status says so.
func TestLoadCountsUnexpectedStatus(t *testing.T) {
	s := startJanua(t)
	b, err := os.ReadFile(s.fixture)
	if err != nil {
		t.Fatal(err)
	}
	var fx fixture
	if err := json.Unmarshal(b, &fx); err != nil {
		t.Fatal(err)
	}
	rep, err := s.load(t, "--scenario", "cc-opaque", "--duration", "1s", "--client", roleCC+"="+fx.Clients[roleCC].ID+":wrong-secret")
	if !errors.Is(err, errHadErrors) {
		t.Fatalf("exit: %v", err)
	}
	r := rep.Results[0]
	if r.Ops != 0 || r.Errors == 0 || r.LatencyMS != nil {
		t.Fatalf("%d ops, %d errors, latency %+v", r.Ops, r.Errors, r.LatencyMS)
	}
	found := false
	for msg := range r.ErrorSamples {
		found = found || strings.Contains(msg, "status 401") || strings.Contains(msg, "status 429")
	}
	if !found {
		t.Errorf("error samples %v", r.ErrorSamples)
	}

	// Open loop: never more operations than the schedule plans.
	rep, err = s.load(t, "--scenario", "discovery", "--duration", "1s", "--rate", "40")
	if err != nil {
		t.Fatal(err)
	}
	if r := rep.Results[0]; r.Errors != 0 || r.Ops == 0 || r.Ops > 41 || r.Rate != 40 {
		t.Errorf("open loop at 40/s for 1s: %d ops, %d errors", r.Ops, r.Errors)
	}

	// --half-rate: a second, open-loop pass at half the rate reached, with
	// its own p99 (the latency target), and a CPU profile of the
	// server with --profile-dir.
	dir := t.TempDir()
	rep, err = s.load(t, "--scenario", "jwks", "--duration", "1s", "--half-rate", "1s", "--profile-dir", dir)
	if err != nil {
		t.Fatal(err)
	}
	r = rep.Results[0]
	if h := r.HalfRate; h == nil || h.LatencyMS == nil || h.Rate < r.OpsPerSec/2-1 || h.Rate > r.OpsPerSec/2+1 || h.OpsPerSec > h.Rate*1.1 {
		t.Fatalf("half-rate pass %+v of %.0f ops/s", h, r.OpsPerSec)
	}
	if st, err := os.Stat(filepath.Join(dir, "jwks.pprof")); err != nil || st.Size() == 0 {
		t.Fatalf("CPU profile: %v", err)
	}
}

// The tool refuses what would make it unbounded or aim it off this machine.
func TestLoadOptions(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--issuer", "https://example.com"}, "not on loopback"},
		{[]string{"--issuer", "http://127.0.0.1:1", "--duration", "10m"}, "--duration"},
		{[]string{"--issuer", "http://127.0.0.1:1", "--concurrency", "0"}, "--concurrency"},
		{[]string{"--issuer", "http://127.0.0.1:1", "--scenario", "nope"}, "unknown"},
		{[]string{"--issuer", "http://127.0.0.1:1", "--metrics-url", "http://10.0.0.1/metrics"}, "not on loopback"},
		{[]string{"--issuer", "http://127.0.0.1:1", "--client", "cc=no-secret"}, "ROLE=CLIENT_ID:SECRET"},
	} {
		var out bytes.Buffer
		err := run(context.Background(), tc.args, nil, &out, &out)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want %q", tc.args, err, tc.want)
		}
	}
}

// The metrics parser reads the Prometheus text format janua serves.
func TestParseMetrics(t *testing.T) {
	m := parseMetrics([]byte("# HELP x\n# TYPE x counter\nprocess_cpu_seconds_total 1.5\njanua_db_statements_total{kind=\"query\"} 42\nwith_ts 3 1700000000000\n"))
	if m["process_cpu_seconds_total"] != 1.5 || m[`janua_db_statements_total{kind="query"}`] != 42 || m["with_ts"] != 3 {
		t.Errorf("%v", m)
	}
	cpu, err := procCPU(os.Getpid())
	if err != nil || cpu < 0 {
		t.Errorf("own CPU: %v %v", cpu, err)
	}
	if rss, err := procRSS(os.Getpid()); err != nil || rss <= 0 {
		t.Errorf("own RSS: %v %v", rss, err)
	}
}

// pgschema makes and drops make bench's PostgreSQL schema (no psql
// needed), on loopback only, and takes plain names only.
func TestPGSchema(t *testing.T) {
	dsn := storagetest.PostgresDSN(t)
	name := fmt.Sprintf("janua_load_test_%d", time.Now().UnixNano())
	ctx := context.Background()
	if err := pgschema(ctx, dsn, "create", name); err != nil {
		t.Fatal(err)
	}
	if err := pgschema(ctx, dsn, "create", name); err == nil {
		t.Fatal("created the same schema twice")
	}
	if err := pgschema(ctx, dsn, "drop", name); err != nil {
		t.Fatal(err)
	}
	if err := pgschema(ctx, dsn, "create", name); err != nil {
		t.Fatalf("dropped schema still there: %v", err)
	}
	t.Cleanup(func() { _ = pgschema(ctx, dsn, "drop", name) })
	for _, tc := range []struct{ dsn, op, name, want string }{
		{"postgres://postgres@10.1.2.3/test", "create", "x", "not on loopback"},
		{"mysql://127.0.0.1/test", "create", "x", "postgres://"},
		{dsn, "create", "x; DROP TABLE users", "lower-case"},
		{dsn, "truncate", "x", "create, drop or analyze"},
		{dsn, "drop", "public", "belongs to the database"},
	} {
		if err := pgschema(ctx, tc.dsn, tc.op, tc.name); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %s %q: %v, want %q", tc.dsn, tc.op, tc.name, err, tc.want)
		}
	}
}

// targets checks saved reports against the budget: a figure that
// meets its target says yes, one that misses says by what factor, and a
// figure nobody measured says so.
func TestTargets(t *testing.T) {
	res := func(name string, ops, stmts, peak, p99half float64) Result {
		return Result{Scenario: name, OpsPerSec: ops, Server: &ServerUsage{StatementsPerOp: stmts, RSSPeakMiB: peak, CPUMicrosPerOp: 24000},
			HalfRate: &HalfRate{LatencyMS: &Latency{P99: p99half}}}
	}
	pg := &Report{Results: []Result{res("cc-opaque", 5200, 1, 60, 3), res("cc-jwt-es256", 4000, 1, 60, 4), res("introspect", 5000, 1, 60, 2),
		res("refresh", 2100, 5, 60, 5), res("code", 900, 7, 60, 25), res("discovery", 15000, 0, 50, 1), res("jwks", 16000, 0, 50, 1),
		res("password", 50, 10, 140, 90)}}
	var out bytes.Buffer
	if err := writeTargets(&out, &targetInputs{postgres: pg, pgIdleMiB: 37, argon2CPUMicros: 22000}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"| client_credentials, opaque | PostgreSQL + Redis | ≥ 5,000/s | 5200/s | yes |",
		"| client_credentials, JWT ES256 | PostgreSQL + Redis | ≥ 8,000/s | 4000/s | no (2.0× short) |",
		"| client_credentials, opaque | SQLite | ≥ 8,000/s | not measured | – |",
		"| p99 at half the maximum rate, every scenario above | PostgreSQL + Redis | ≤ 20 ms | worst 25.0 ms (code) | no |",
		"| password sign-in, CPU per sign-in | PostgreSQL + Redis | ≤ 1.1 × argon2id alone | 1.09 × (24.0 ms / 22.0 ms) | yes |",
		"| statements per full code flow | PostgreSQL + Redis | ≤ 8 | 7.00 | yes |",
		"| idle RSS | PostgreSQL + Redis | ≤ 40 MB | 38.8 MB | yes |",
		"| peak RSS under any scenario | PostgreSQL + Redis | ≤ 150 MB | 147 MB (password) | yes |",
		"| start to ready | SQLite | ≤ 300 ms | not measured | – |",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("missing %q in\n%s", want, out.String())
		}
	}
	// With the hash measured on every processor at once, that is the
	// yardstick.
	out.Reset()
	if err := writeTargets(&out, &targetInputs{postgres: pg, argon2CPUMicros: 20000, argon2ParallelCPUMicros: 22500}); err != nil {
		t.Fatal(err)
	}
	want := "| password sign-in, CPU per sign-in | PostgreSQL + Redis | ≤ 1.1 × argon2id alone | 1.07 × (24.0 ms / 22.5 ms) | yes |"
	if !strings.Contains(out.String(), want) {
		t.Errorf("missing %q in\n%s", want, out.String())
	}
	// With the hash's share of the sign-in's own profile, that is the
	// yardstick, the benchmarked hashes beside it.
	out.Reset()
	if err := writeTargets(&out, &targetInputs{postgres: pg, argon2CPUMicros: 20000, argon2ParallelCPUMicros: 22500, argon2SharePct: 94}); err != nil {
		t.Fatal(err)
	}
	want = "| password sign-in, CPU per sign-in | PostgreSQL + Redis | ≤ 1.1 × argon2id alone | 1.064 × (argon2id is 94.0 % of the sign-in's 24.0 ms in its CPU profile); 1.07 × the hash with every processor hashing (22.5 ms), 1.20 × the hash on an idle machine (20.0 ms) | yes |"
	if !strings.Contains(out.String(), want) {
		t.Errorf("missing %q in\n%s", want, out.String())
	}
}

// growth tables an empty run against a seeded one, with the change.
func TestGrowthTable(t *testing.T) {
	r := func(ops, cpu float64) *Report {
		return &Report{Results: []Result{{Scenario: "introspect", OpsPerSec: ops, LatencyMS: &Latency{P99: 4},
			Server: &ServerUsage{CPUMicrosPerOp: cpu, StatementsPerOp: 1, RSSPeakMiB: 60}}, {Scenario: "cc-jwt-rs256", Skipped: "no client"}}}
	}
	var out bytes.Buffer
	writeGrowth(&out, r(4000, 250), r(3600, 275))
	if want := "| introspect | 4000 → 3600 | -10.0 % | 250 → 275 | +10.0 % | 1.00 → 1.00 | +0.0 % | 4.00 → 4.00 | +0.0 % | 60.00 → 60.00 | +0.0 % |"; !strings.Contains(out.String(), want) {
		t.Fatalf("got\n%s\nwant %s", out.String(), want)
	}
	if strings.Contains(out.String(), "cc-jwt-rs256") {
		t.Fatal("a skipped scenario is tabled")
	}
}
