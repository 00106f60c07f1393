package login_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/madfam-org/janua/login"
	"github.com/madfam-org/janua/mail"
	"github.com/madfam-org/janua/storage"
	"github.com/madfam-org/janua/storage/storagetest"
	"github.com/madfam-org/janua/templates"
)

// The server's cost of a sign-in by email on SQLite, request in, response
// out, without the network: the link opened in the browser that asked, the
// code typed there, and the request that sends them. Each reports the
// process CPU per operation (cpu-µs/op) besides the wall time; a send's
// wall time is its deliberate 50 ms even-out wait.

const benchCookie = "bench-browser-cookie-0123456789abcdef0123"

type emailBench struct {
	e     *echo.Echo
	store *storage.Store
	user  *storage.User
}

func newEmailBench(b *testing.B) *emailBench {
	b.Helper()
	store := storagetest.OpenSQLite(b)
	set, err := templates.New(templates.Options{})
	if err != nil {
		b.Fatal(err)
	}
	hot := storage.NewMemoryHotState(storage.MemoryHotStateOptions{})
	b.Cleanup(func() { _ = hot.Close() })
	u := &storage.User{Email: "ana@example.com"}
	if err := store.CreateUser(context.Background(), u, ""); err != nil {
		b.Fatal(err)
	}
	sessions := login.NewSessions(store, login.SessionOptions{})
	p := login.New(store, login.Options{
		Templates: set, Sessions: sessions, HotState: hot, Issuer: "http://janua.test", EmailSignIn: true,
		Passwords: login.NewPasswords(login.DefaultArgon2Params(), login.HashLimits{Concurrent: 1}),
		Limits:    login.Limits{}, EmailLimits: login.EmailLimits{PerAddress: 1 << 30, PerIP: 1 << 30, Window: time.Hour},
		Mail:      mail.NewOutbox(store, mail.OutboxOptions{Templates: set, Issuer: "http://janua.test"}),
		LoginPath: "/login", ResumePath: "/oauth2/resume",
	})
	e := echo.New()
	p.Routes(e)
	return &emailBench{e: e, store: store, user: u}
}

// tokens stores n live magic-link rows of the user, bound to the bench
// browser, each with the link token and code returned.
func (eb *emailBench) tokens(b *testing.B, n int) (ids, links, codes []string) {
	b.Helper()
	sum := sha256.Sum256([]byte(benchCookie))
	for i := range n {
		row := &storage.EmailToken{Purpose: storage.EmailTokenMagicLink, UserID: &eb.user.ID, Email: eb.user.Email, Browser: hex.EncodeToString(sum[:])}
		token, code := storage.NewEmailSecret(), "1234567"+string(rune('0'+i%10))
		if err := eb.store.CreateEmailToken(context.Background(), row, token, code, time.Hour); err != nil {
			b.Fatal(err)
		}
		ids, links, codes = append(ids, row.ID), append(links, token), append(codes, code)
	}
	return ids, links, codes
}

func (eb *emailBench) serve(b *testing.B, req *http.Request, want int) {
	req.AddCookie(&http.Cookie{Name: "janua-browser", Value: benchCookie})
	rec := httptest.NewRecorder()
	eb.e.ServeHTTP(rec, req)
	if rec.Code != want {
		b.Fatalf("%s %s: %d, want %d\n%s", req.Method, req.URL, rec.Code, want, rec.Body)
	}
}

// cpu is the process's user+system CPU time so far.
func cpu() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportCPU(b *testing.B, since time.Duration) {
	b.ReportMetric(float64((cpu()-since)/time.Microsecond)/float64(b.N), "cpu-µs/op")
}

func BenchmarkEmailLinkSignIn(b *testing.B) {
	eb := newEmailBench(b)
	_, links, _ := eb.tokens(b, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	start := cpu()
	for i := range b.N {
		eb.serve(b, httptest.NewRequest(http.MethodGet, login.EmailLinkPath+"?token="+links[i], nil), http.StatusSeeOther)
	}
	reportCPU(b, start)
}

func BenchmarkEmailCodeSignIn(b *testing.B) {
	eb := newEmailBench(b)
	ids, _, codes := eb.tokens(b, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	start := cpu()
	for i := range b.N {
		form := url.Values{"id": {ids[i]}, "code": {codes[i]}}
		req := httptest.NewRequest(http.MethodPost, "/login/email/code", strings.NewReader(form.Encode()))
		req.Header.Set(echo.HeaderContentType, echo.MIMEApplicationForm)
		eb.serve(b, req, http.StatusSeeOther)
	}
	reportCPU(b, start)
}

func BenchmarkEmailLinkSend(b *testing.B) {
	eb := newEmailBench(b)
	b.ReportAllocs()
	b.ResetTimer()
	start := cpu()
	for range b.N {
		form := url.Values{"email": {eb.user.Email}}
		req := httptest.NewRequest(http.MethodPost, login.EmailSignInPath, strings.NewReader(form.Encode()))
		req.Header.Set(echo.HeaderContentType, echo.MIMEApplicationForm)
		eb.serve(b, req, http.StatusOK)
	}
	reportCPU(b, start)
}
