//go:build unix

package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/madfam-org/janua/directory"
	"github.com/madfam-org/janua/login"
)

// The server's cost of a password sign-in (SQLite, in-memory hot state, no
// network, the default argon2id cost m=19 MiB t=2 p=1): "hash" is the
// password check alone (login.Passwords.Verify), "signin" a new browser
// opening the sign-in page and posting the form, as janua-load's password
// scenario does. cpu-µs/op is the process's CPU time (user + system,
// getrusage): the ratio signin/hash is what the page adds to the hash.
func BenchmarkPasswordSignIn(b *testing.B) {
	e, passwords, hash := passwordBenchServer(b)
	b.Run("hash", func(b *testing.B) {
		ctx := context.Background()
		b.ReportAllocs()
		b.ResetTimer()
		start := cpuTime()
		for range b.N {
			if _, err := passwords.Verify(ctx, testPassword, hash); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64((cpuTime()-start).Microseconds())/float64(b.N), "cpu-µs/op")
	})
	b.Run("signin", func(b *testing.B) {
		form := func(csrf string) string {
			return url.Values{"csrf_token": {csrf}, "email": {"ana@example.com"}, "password": {testPassword}}.Encode()
		}
		b.ReportAllocs()
		b.ResetTimer()
		start := cpuTime()
		for range b.N {
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/login", nil))
			m := csrfInput.FindStringSubmatch(rec.Body.String())
			if rec.Code != http.StatusOK || m == nil {
				b.Fatalf("login page: %d", rec.Code)
			}
			req := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(form(m[1])))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			for _, c := range rec.Result().Cookies() {
				req.AddCookie(c)
			}
			rec = httptest.NewRecorder()
			e.ServeHTTP(rec, req)
			if rec.Code != http.StatusSeeOther {
				b.Fatalf("sign-in: %d %s", rec.Code, rec.Body)
			}
		}
		b.ReportMetric(float64((cpuTime()-start).Microseconds())/float64(b.N), "cpu-µs/op")
	})
}

// passwordBenchServer is Janua on SQLite with the default configuration and
// a user ana@example.com whose password is testPassword; it returns the
// hasher it uses and the stored hash.
func passwordBenchServer(b *testing.B) (*echo.Echo, *login.Passwords, string) {
	b.Helper()
	ctx := context.Background()
	e, store, c := sqliteBenchServer(b)
	a2 := c.Passwords.Argon2
	passwords := login.NewPasswords(a2.params(), a2.limits())
	hash, err := passwords.Hash(ctx, testPassword)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := directory.NewUsers(store).Create(ctx, directory.UserSpec{Email: "ana@example.com", PasswordHash: hash}, "bench"); err != nil {
		b.Fatal(err)
	}
	return e, passwords, hash
}
