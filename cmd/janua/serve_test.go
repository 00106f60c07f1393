package main

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/madfam-org/janua/storage"
	"github.com/madfam-org/janua/storage/storagetest"
)

// startServe runs `janua serve` in-process and returns its base URL; the
// server stops (and must stop cleanly) when the test ends.
func startServe(t *testing.T, c *cli) string {
	t.Helper()
	c.env["JANUA_HTTP_ADDR"] = "127.0.0.1:0"
	ready := make(chan string, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var out, errb strings.Builder
	a := &app{getenv: c.getenv, io: streams{in: strings.NewReader(""), out: &syncWriter{w: &out}, err: &syncWriter{w: &errb}},
		onReady: func(addr string) { ready <- addr }}
	go func() { done <- a.execute(ctx, []string{"serve"}) }()
	select {
	case addr := <-ready:
		t.Cleanup(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("serve returned %v on shutdown", err)
				}
			case <-time.After(20 * time.Second):
				t.Error("serve did not stop within 20 s of cancellation")
			}
		})
		return "http://" + addr
	case err := <-done:
		cancel()
		t.Fatalf("serve exited before ready: %v\n%s", err, errb.String())
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("serve not ready within 30 s")
	}
	return ""
}

type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// String returns what was written, when w is a strings.Builder.
func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b, ok := s.w.(*strings.Builder); ok {
		return b.String()
	}
	return ""
}

func get(t *testing.T, url string, header ...string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

func TestServeZeroConfig(t *testing.T) {
	c := newCLI(t)
	base := startServe(t, c)

	res, body := get(t, base+"/health/ready")
	if res.StatusCode != 200 || !strings.Contains(body, `"database":"ok"`) || !strings.Contains(body, `"hot_state":"ok"`) {
		t.Fatalf("ready: %d %s", res.StatusCode, body)
	}
	if res, _ := get(t, base+"/health/live"); res.StatusCode != 200 {
		t.Fatalf("live: %d", res.StatusCode)
	}
	// The SQLite database and the development secret are where the banner says.
	for _, f := range []string{"janua.db", "secret"} {
		if _, err := os.Stat(filepath.Join(c.env["JANUA_DATA_DIR"], f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}

	// Pages: security headers with a fresh nonce per request.
	res1, home := get(t, base+"/")
	res2, _ := get(t, base+"/")
	csp1, csp2 := res1.Header.Get("Content-Security-Policy"), res2.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp1, "frame-ancestors 'none'") || !strings.Contains(csp1, "'nonce-") || csp1 == csp2 {
		t.Fatalf("CSP %q / %q: want a per-request nonce and frame-ancestors 'none'", csp1, csp2)
	}
	for h, want := range map[string]string{"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY", "Cache-Control": "no-store"} {
		if got := res1.Header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	if res1.Header.Get("Strict-Transport-Security") != "" {
		t.Error("HSTS on an http issuer")
	}
	if len(res1.Header.Get("X-Request-Id")) < 16 {
		t.Errorf("request id %q", res1.Header.Get("X-Request-Id"))
	}
	// A spoofed request ID from an untrusted peer is replaced.
	if res, _ := get(t, base+"/", "X-Request-ID", "spoofed-id"); res.Header.Get("X-Request-Id") == "spoofed-id" {
		t.Error("request id taken from an untrusted peer")
	}

	// The stylesheet the page links is served fingerprinted and immutable.
	css := regexp.MustCompile(`href="(/static/janua\.[0-9a-f]+\.css)"`).FindStringSubmatch(home)
	if css == nil {
		t.Fatalf("home page links no fingerprinted stylesheet:\n%s", home)
	}
	res, body = get(t, base+css[1])
	if res.StatusCode != 200 || !strings.Contains(res.Header.Get("Cache-Control"), "immutable") || !strings.Contains(body, "--brand") ||
		!strings.HasPrefix(res.Header.Get("Content-Type"), "text/css") {
		t.Fatalf("asset: %d %v", res.StatusCode, res.Header)
	}

	// 404: the styled page for browsers, JSON for API clients; never a 500.
	res, body = get(t, base+"/no/such/page", "Accept", "text/html")
	if res.StatusCode != 404 || !strings.Contains(body, `id="error-title">Page not found`) || !strings.Contains(body, res.Header.Get("X-Request-Id")) {
		t.Fatalf("404 page: %d\n%s", res.StatusCode, body)
	}
	res, body = get(t, base+"/no/such/api", "Accept", "application/json")
	if res.StatusCode != 404 || !strings.Contains(body, `"error":"not_found"`) {
		t.Fatalf("404 json: %d %s", res.StatusCode, body)
	}
	// 405 gets the error page, not a crash.
	req, _ := http.NewRequest(http.MethodDelete, base+"/health/live", nil)
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("DELETE /health/live: %d", r.StatusCode)
	}
	// An oversized body is refused with 413 before any handler reads it.
	big := strings.NewReader(strings.Repeat("x", 2<<20))
	r, err = http.Post(base+"/", "application/x-www-form-urlencoded", big)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("2 MiB body: %d, want 413", r.StatusCode)
	}
}

// janBinary builds the janua binary once per test run.
var buildOnce = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "janua-bin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "janua")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

func janBinary(t *testing.T) string {
	t.Helper()
	bin, err := buildOnce()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// process is a janua serve child process.
type process struct {
	cmd  *exec.Cmd
	addr chan string
	logs *syncWriter // stderr
	done chan error
}

func startProcess(t *testing.T, env []string) *process {
	t.Helper()
	cmd := exec.Command(janBinary(t), "serve")
	cmd.Env = append(os.Environ(), env...)
	p := &process{cmd: cmd, addr: make(chan string, 1), logs: &syncWriter{w: &strings.Builder{}}, done: make(chan error, 1)}
	cmd.Stderr = p.logs
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		re := regexp.MustCompile(`Listening\s+(\S+)`)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				p.addr <- m[1]
			}
		}
	}()
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
	})
	return p
}

func (p *process) waitReady(t *testing.T) string {
	t.Helper()
	select {
	case addr := <-p.addr:
		base := "http://" + addr
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			if res, err := http.Get(base + "/health/ready"); err == nil {
				res.Body.Close()
				if res.StatusCode == 200 {
					return base
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatalf("%s never became ready", base)
	case err := <-p.done:
		t.Fatalf("janua serve exited: %v\n%s", err, p.logs.String())
	case <-time.After(60 * time.Second):
		t.Fatal("janua serve printed no banner within 60 s")
	}
	return ""
}

// stop sends SIGTERM and waits for the process to exit, so that its
// buffered log (web.LogBuffer flushes every 100 ms) is all in p.logs.
func (p *process) stop(t *testing.T) error {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.done:
		p.done <- err // for the cleanup
		return err
	case <-time.After(20 * time.Second):
		t.Fatalf("no exit within 20 s of SIGTERM\n%s", p.logs.String())
		return nil
	}
}

// Two janua serve processes started together on one PostgreSQL database
// migrate exactly once and both become ready.
func TestServeTwoInstancesMigrateOnceOnPostgres(t *testing.T) {
	dsn := storagetest.PostgresDSN(t)
	if dsn == "" {
		t.Skip("PostgreSQL not available")
	}
	dbURL := storagetest.PostgresBackend(dsn).NewDatabaseURL(t)
	dir := t.TempDir()
	env := []string{
		"JANUA_DATABASE_URL=" + dbURL,
		"JANUA_HTTP_ADDR=127.0.0.1:0",
		"JANUA_SECRET=" + strings.Repeat("s", 40),
		"JANUA_DATA_DIR=" + dir,
	}
	a, b := startProcess(t, env), startProcess(t, env)
	a.waitReady(t)
	b.waitReady(t)

	migs, _ := storage.Migrations(storage.Postgres)
	db, err := sql.Open("pgx", mustParse(t, dbURL).DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM schema_migrations").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != len(migs) {
		t.Fatalf("schema_migrations has %d rows, want %d", n, len(migs))
	}
	// The logs are counted once both have exited: a line may otherwise
	// still sit in the process's log buffer.
	for _, p := range []*process{a, b} {
		if err := p.stop(t); err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, p.logs.String())
		}
	}
	applied := strings.Count(a.logs.String(), "migration applied") + strings.Count(b.logs.String(), "migration applied")
	if applied != len(migs) {
		t.Fatalf("%d migration applications logged across both instances, want %d:\n--- a\n%s\n--- b\n%s", applied, len(migs), a.logs.String(), b.logs.String())
	}
}

func mustParse(t *testing.T, u string) storage.DatabaseURL {
	t.Helper()
	d, err := storage.ParseDatabaseURL(u)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// SIGTERM drains and exits 0.
func TestServeSIGTERM(t *testing.T) {
	dir := t.TempDir()
	p := startProcess(t, []string{"JANUA_HTTP_ADDR=127.0.0.1:0", "JANUA_DATA_DIR=" + filepath.Join(dir, "data")})
	p.waitReady(t)
	if err := p.stop(t); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, p.logs.String())
	}
	if !strings.Contains(p.logs.String(), "in-flight requests drained") {
		t.Fatalf("no drain line:\n%s", p.logs.String())
	}
}
