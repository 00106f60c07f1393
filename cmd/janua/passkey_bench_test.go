//go:build unix

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/descope/virtualwebauthn"
	"github.com/labstack/echo/v4"

	"github.com/madfam-org/janua/directory"
	"github.com/madfam-org/janua/storage"
)

// The server's cost of a passwordless sign-in (SQLite, in-memory hot
// state, no network): "finish" is the answer's request alone — the
// ceremony taken from the hot state, the assertion parsed and its P-256
// signature verified, the passkey's use stored and audited, the session
// started and audited; "ceremony" adds the options request. The
// authenticator's signing (the client's work) is not timed. cpu-µs/op is
// the process's CPU time (user + system, getrusage) in the timed part:
// what a sign-in costs the machine, whatever the disk's latency.
func BenchmarkPasskeySignIn(b *testing.B) {
	for _, withOptions := range []bool{false, true} {
		name := map[bool]string{false: "finish", true: "ceremony"}[withOptions]
		b.Run(name, func(b *testing.B) {
			e, dev := passkeyBenchServer(b)
			cookie, csrf := benchBrowser(b, e)
			post := func(path string, body any) map[string]any {
				raw, _ := json.Marshal(body)
				req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(raw))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Accept", "application/json")
				req.Header.Set("X-CSRF-Token", csrf)
				req.Header.Set("Cookie", cookie)
				rec := httptest.NewRecorder()
				e.ServeHTTP(rec, req)
				out := map[string]any{}
				if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || rec.Code != http.StatusOK {
					b.Fatalf("%s: %d %s", path, rec.Code, rec.Body.String())
				}
				return out
			}
			var cpu time.Duration
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if !withOptions {
					b.StopTimer()
				}
				start := cpuTime()
				begun := post(pathPasskeyLogin+pathPasskeyOptions, map[string]any{})
				if withOptions {
					cpu += cpuTime() - start
				}
				b.StopTimer()
				assertion := dev.assert(begun)
				b.StartTimer()
				start = cpuTime()
				if done := post(pathPasskeyLogin, map[string]any{"ceremony": begun["ceremony"], "credential": assertion}); done["redirect"] != "/account" {
					b.Fatalf("finish: %v", done)
				}
				cpu += cpuTime() - start
			}
			b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/op")
		})
	}
}

// passkeyBenchServer is Janua on SQLite with a user holding dev's passkey.
func passkeyBenchServer(b *testing.B) (*echo.Echo, *passkeyDevice) {
	b.Helper()
	ctx := context.Background()
	e, store, c := sqliteBenchServer(b)
	u, err := directory.NewUsers(store).Create(ctx, directory.UserSpec{Email: "ana@example.com"}, "bench")
	if err != nil {
		b.Fatal(err)
	}
	handle, err := store.PasskeyUserHandle(ctx, u.ID)
	if err != nil {
		b.Fatal(err)
	}
	dev := &passkeyDevice{t: b, rp: virtualwebauthn.RelyingParty{ID: "localhost", Name: "Janua", Origin: c.Issuer},
		auth: virtualwebauthn.NewAuthenticatorWithOptions(virtualwebauthn.AuthenticatorOptions{UserHandle: handle}),
		cred: newEC2Credential(b)}
	if err := store.CreatePasskey(ctx, &storage.Passkey{UserID: u.ID, CredentialID: dev.cred.ID, PublicKey: dev.cred.Key.AttestationData(),
		AttestationType: "self", AttestationFormat: "packed", AAGUID: dev.auth.Aaguid[:], UserPresent: true, UserVerified: true, Name: "Bench"}, 10); err != nil {
		b.Fatal(err)
	}
	return e, dev
}

var benchCSRF = regexp.MustCompile(`data-csrf="([^"]+)"`)

// benchBrowser opens the sign-in page once: the browser's cookie and the
// CSRF token the page script sends.
func benchBrowser(b *testing.B, e *echo.Echo) (cookie, csrf string) {
	b.Helper()
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/login", nil))
	m := benchCSRF.FindStringSubmatch(rec.Body.String())
	if m == nil {
		b.Fatalf("sign-in page without a passkey button: %d", rec.Code)
	}
	return strings.SplitN(rec.Header().Get("Set-Cookie"), ";", 2)[0], m[1]
}

// cpuTime is the process's CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// sqliteBenchServer is Janua's handler on a fresh SQLite database with the
// default configuration (per-IP limits lifted), in-memory hot state and a
// discarded log: the server of the sign-in benchmarks.
func sqliteBenchServer(b *testing.B) (*echo.Echo, *storage.Store, Config) {
	b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	c := defaultConfig()
	c.Issuer, c.DataDir, c.Secret = "http://localhost:4100", b.TempDir(), strings.Repeat("s", 40)
	c.Database.URL = "sqlite:" + filepath.Join(b.TempDir(), "janua.db")
	c.Login.IPRateLimit = 1 << 30
	store, err := storage.Open(ctx, storage.Options{URL: c.Database.URL, Secret: []byte(c.Secret)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = store.Close() })
	if _, err := store.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	hot := storage.NewMemoryHotState(storage.MemoryHotStateOptions{})
	b.Cleanup(func() { _ = hot.Close() })
	a := &app{io: streams{in: strings.NewReader(""), out: io.Discard, err: io.Discard}}
	e, err := a.newServer(ctx, c, slog.New(slog.DiscardHandler), store, hot)
	if err != nil {
		b.Fatal(err)
	}
	return e, store, c
}
