package web_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/madfam-org/janua/web"
)

// newEcho wires the middleware in cmd/janua's order, with a plain-text error
// page, and returns the log it writes.
func newEcho(t *testing.T, proxies []string) (*echo.Echo, *bytes.Buffer) {
	t.Helper()
	var logs bytes.Buffer
	log := web.NewLogger(&logs, slog.LevelDebug, true)
	p, err := web.NewProxies(proxies)
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	e.IPExtractor = p.IPExtractor()
	e.HTTPErrorHandler = web.ErrorHandler(log, func(c echo.Context, status int, title, msg string) error {
		return c.HTML(status, "<h1>"+title+"</h1><p>"+msg+"</p>")
	})
	e.Use(web.RequestIDMiddleware(p), web.AccessLog(log), web.Recover(log), web.SecurityHeaders(web.SecurityHeadersOptions{HSTS: true}))
	return e, &logs
}

func do(e *echo.Echo, method, target string, hdr map[string]string, remote string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	if remote != "" {
		req.RemoteAddr = remote
	}
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	return rec
}

func TestClientIPAndRequestIDTrustOnlyConfiguredProxies(t *testing.T) {
	for _, tc := range []struct {
		name     string
		proxies  []string
		remote   string
		wantIP   string
		wantKept bool // incoming X-Request-ID kept
	}{
		{"no proxies: the TCP peer, header ignored", nil, "203.0.113.9:1234", "203.0.113.9", false},
		{"loopback is not trusted by default", []string{"10.0.0.0/8"}, "127.0.0.1:1234", "127.0.0.1", false},
		{"trusted proxy: the forwarded client", []string{"10.0.0.0/8"}, "10.1.2.3:1234", "198.51.100.7", true},
		{"single trusted address", []string{"10.1.2.3"}, "10.1.2.3:1234", "198.51.100.7", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, _ := newEcho(t, tc.proxies)
			var ip, rid string
			e.GET("/", func(c echo.Context) error {
				ip, rid = c.RealIP(), web.RequestID(c.Request().Context())
				return c.NoContent(204)
			})
			rec := do(e, "GET", "/", map[string]string{"X-Forwarded-For": "192.0.2.66, 198.51.100.7", "X-Request-ID": "lb-abc.123"}, tc.remote)
			if ip != tc.wantIP {
				t.Errorf("client IP %q, want %q", ip, tc.wantIP)
			}
			if kept := rid == "lb-abc.123"; kept != tc.wantKept {
				t.Errorf("request id %q (kept=%v, want %v)", rid, kept, tc.wantKept)
			}
			if rec.Header().Get("X-Request-Id") != rid {
				t.Errorf("response header %q, context %q", rec.Header().Get("X-Request-Id"), rid)
			}
		})
	}
	e, _ := newEcho(t, []string{"10.0.0.0/8"})
	var rid string
	e.GET("/", func(c echo.Context) error { rid = web.RequestID(c.Request().Context()); return nil })
	do(e, "GET", "/", map[string]string{"X-Request-ID": "evil\nline"}, "10.0.0.1:1")
	if strings.Contains(rid, "\n") || rid == "" {
		t.Fatalf("malformed forwarded request id accepted: %q", rid)
	}
	if _, err := web.NewProxies([]string{"nonsense"}); err == nil {
		t.Fatal("bad proxy accepted")
	}
}

func TestAccessLogOmitsQueryAndCarriesRequestID(t *testing.T) {
	e, logs := newEcho(t, nil)
	e.GET("/authorize", func(c echo.Context) error { return c.String(200, "ok") })
	rec := do(e, "GET", "/authorize?code=SECRETCODE&id_token_hint=eyJ.SECRET", nil, "")
	out := logs.String()
	if strings.Contains(out, "SECRET") {
		t.Fatalf("access log leaked the query: %s", out)
	}
	for _, want := range []string{`"path":"/authorize"`, `"status":200`, `"request_id":"` + rec.Header().Get("X-Request-Id") + `"`} {
		if !strings.Contains(out, want) {
			t.Errorf("access log lacks %s: %s", want, out)
		}
	}
}

func TestErrorHandling(t *testing.T) {
	e, logs := newEcho(t, nil)
	e.GET("/boom", func(c echo.Context) error { return errors.New("db password is hunter2") })
	e.GET("/panic", func(c echo.Context) error { panic("kaboom") })
	e.GET("/teapot", func(c echo.Context) error {
		return &web.Error{Status: 418, Code: "teapot", Message: "I am a teapot.", Err: errors.New("internal detail")}
	})

	rec := do(e, "GET", "/boom", map[string]string{"Accept": "text/html"}, "")
	if rec.Code != 500 || strings.Contains(rec.Body.String(), "hunter2") || !strings.Contains(rec.Body.String(), "Something went wrong") {
		t.Fatalf("500 page: %d %s", rec.Code, rec.Body.String())
	}
	if strings.Count(logs.String(), "hunter2") != 1 {
		t.Fatalf("the cause must be logged exactly once: %s", logs.String())
	}
	rec = do(e, "GET", "/panic", map[string]string{"Accept": "application/json"}, "")
	if rec.Code != 500 || !strings.Contains(rec.Body.String(), `"error":"internal_server_error"`) || !strings.Contains(logs.String(), "kaboom") {
		t.Fatalf("panic: %d %s", rec.Code, rec.Body.String())
	}
	if rec.Header().Get("Content-Security-Policy") == "" {
		t.Fatal("error responses must carry the security headers")
	}
	rec = do(e, "GET", "/teapot", map[string]string{"Accept": "application/json"}, "")
	if rec.Code != 418 || !strings.Contains(rec.Body.String(), `"error":"teapot"`) || strings.Contains(rec.Body.String(), "internal detail") {
		t.Fatalf("app error: %d %s", rec.Code, rec.Body.String())
	}
	rec = do(e, "GET", "/missing", nil, "")
	if rec.Code != 404 || !strings.Contains(rec.Body.String(), "Not Found") || rec.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("404: %d %s", rec.Code, rec.Body.String())
	}
	if rec.Header().Get("Strict-Transport-Security") == "" {
		t.Fatal("HSTS requested but absent")
	}
}

func TestReadyReportsFailingChecks(t *testing.T) {
	e, logs := newEcho(t, nil)
	e.GET("/ready", web.Ready(slog.New(slog.NewTextHandler(logs, nil)), []web.Check{
		{Name: "database", Func: func(context.Context) error { return nil }},
		{Name: "hot_state", Func: func(context.Context) error { return errors.New("redis: connection refused") }},
		{Name: "slow", Func: func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }},
	}, 50*time.Millisecond))
	rec := do(e, "GET", "/ready", nil, "")
	body := rec.Body.String()
	if rec.Code != 503 || !strings.Contains(body, `"hot_state":"unavailable"`) || !strings.Contains(body, `"slow":"unavailable"`) ||
		!strings.Contains(body, `"database":"ok"`) || strings.Contains(body, "refused") {
		t.Fatalf("ready: %d %s", rec.Code, body)
	}
	if !strings.Contains(logs.String(), "connection refused") {
		t.Fatal("the failure detail must reach the log")
	}
}

// Serve drains: a request in flight when shutdown begins completes with its
// response, new connections are refused, and Serve returns nil.
func TestServeDrainsInFlightRequests(t *testing.T) {
	started := make(chan struct{})
	var finished atomic.Bool
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		time.Sleep(300 * time.Millisecond)
		finished.Store(true)
		_, _ = w.Write([]byte("done"))
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- web.Serve(ctx, &http.Server{Handler: h}, ln, 5*time.Second) }()

	type result struct {
		body string
		err  error
	}
	got := make(chan result, 1)
	go func() {
		res, err := http.Get("http://" + ln.Addr().String())
		if err != nil {
			got <- result{err: err}
			return
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		got <- result{body: string(b)}
	}()
	<-started
	cancel() // SIGTERM
	r := <-got
	if r.err != nil || r.body != "done" || !finished.Load() {
		t.Fatalf("in-flight request: %q %v", r.body, r.err)
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if _, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		t.Fatal("still accepting after shutdown")
	}
}

func TestServeGivesUpAfterDrainTimeout(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	started := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { close(started); <-block })
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- web.Serve(ctx, &http.Server{Handler: h}, ln, 100*time.Millisecond) }()
	go func() {
		if res, err := http.Get("http://" + ln.Addr().String()); err == nil {
			res.Body.Close()
		}
	}()
	<-started
	cancel()
	select {
	case err := <-served:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Serve after drain timeout: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve hung past its drain timeout")
	}
}

func TestCookies(t *testing.T) {
	for _, secure := range []bool{true, false} {
		k := web.Cookies{Secure: secure}
		e := echo.New()
		var first, second string
		e.GET("/", func(c echo.Context) error {
			first, second = k.BrowserHash(c), k.BrowserHash(c)
			return c.NoContent(204)
		})
		rec := do(e, "GET", "/", nil, "")
		set := rec.Header().Get("Set-Cookie")
		wantName := "janua-browser="
		if secure {
			wantName = "__Host-janua-browser="
		}
		if !strings.HasPrefix(set, wantName) || !strings.Contains(set, "HttpOnly") || !strings.Contains(set, "SameSite=Lax") ||
			strings.Contains(set, "Secure") != secure || strings.Contains(set, "Domain") || !strings.Contains(set, "Path=/") {
			t.Fatalf("secure=%v: Set-Cookie %q", secure, set)
		}
		if len(first) != 64 || first != second || strings.Count(strings.Join(rec.Header().Values("Set-Cookie"), "\n"), "janua-browser") != 1 {
			t.Fatalf("hash %q/%q, cookies %v: one cookie per request, a stable hash", first, second, rec.Header().Values("Set-Cookie"))
		}
		// A returning browser keeps its identity and gets no new cookie.
		value := strings.SplitN(strings.SplitN(set, ";", 2)[0], "=", 2)[1]
		prev := first
		rec = do(e, "GET", "/", map[string]string{"Cookie": k.Name("janua-browser") + "=" + value}, "")
		if rec.Header().Get("Set-Cookie") != "" || first != prev {
			t.Fatalf("returning browser got %q", rec.Header().Get("Set-Cookie"))
		}
	}
}
