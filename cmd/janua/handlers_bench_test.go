package main

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/madfam-org/janua/directory"
	"github.com/madfam-org/janua/login"
	"github.com/madfam-org/janua/oidc"
	"github.com/madfam-org/janua/storage"
	"github.com/madfam-org/janua/storage/storagetest"
)

// The authorization and token endpoints in-process: newServer's echo
// instance (every middleware, the real store) served straight to an
// httptest.ResponseRecorder, no network. cmd/janua-load measures the same
// over loopback with a separate process.
func BenchmarkHandlers(b *testing.B) {
	for _, be := range storagetest.Backends(b) {
		b.Run(be.Name, func(b *testing.B) {
			s := newBenchServer(b, be)
			for _, path := range []string{"/.well-known/openid-configuration", "/.well-known/jwks.json"} {
				b.Run(strings.TrimPrefix(path, "/.well-known/"), func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						if rec := s.serve(httptest.NewRequest(http.MethodGet, path, nil)); rec.Code != http.StatusOK {
							b.Fatalf("%s: %d", path, rec.Code)
						}
					}
				})
			}
			ccForm := url.Values{"grant_type": {"client_credentials"}, "scope": {"api"}}.Encode()
			ccGrant := func(b *testing.B) {
				req := httptest.NewRequest(http.MethodPost, "/oauth2/token", strings.NewReader(ccForm))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.SetBasicAuth(s.ccID, s.ccSecret)
				rec := httptest.NewRecorder()
				s.e.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Errorf("token: %d %s", rec.Code, rec.Body)
				}
			}
			b.Run("TokenClientCredentials", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					ccGrant(b)
				}
			})
			// Eight grants at a time, as from several resource servers at
			// once: what the group commit of token rows is for. cpu-µs/op
			// is the process's CPU per grant (wall time per op is divided
			// by the concurrency and says little on a shared machine).
			b.Run("TokenClientCredentialsParallel", func(b *testing.B) {
				b.ReportAllocs()
				b.SetParallelism(4)
				stats, cpu := s.store.Stats(), cpuTime()
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						ccGrant(b)
					}
				})
				b.StopTimer()
				b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/float64(b.N), "cpu-µs/op")
				b.ReportMetric(float64(s.store.Stats().Total()-stats.Total())/float64(b.N), "stmts/op")
			})
			b.Run("Authorize", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					s.authorize(b)
				}
			})
			b.Run("AuthorizeAndToken", func(b *testing.B) {
				b.ReportAllocs()
				defer s.reportStatements(b)()
				for b.Loop() {
					code, verifier := s.authorize(b)
					form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {benchRedirect}, "code_verifier": {verifier}}.Encode()
					req := httptest.NewRequest(http.MethodPost, "/oauth2/token", strings.NewReader(form))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					req.SetBasicAuth(s.codeID, s.codeSecret)
					if rec := s.serve(req); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"id_token"`) {
						b.Fatalf("token: %d %s", rec.Code, rec.Body)
					}
				}
			})
		})
	}
}

const benchRedirect = "https://app.example.com/cb"

// benchServer is Janua's handler with a client_credentials client, a
// first-party code client and a signed-in browser (its cookies).
type benchServer struct {
	e                  *echo.Echo
	store              *storage.Store
	ccID, ccSecret     string
	codeID, codeSecret string
	cookies            map[string]*http.Cookie
}

func newBenchServer(b *testing.B, be storagetest.Backend) *benchServer {
	b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	c := defaultConfig()
	c.Issuer = "http://janua.bench.test"
	c.DataDir = b.TempDir()
	c.Secret = strings.Repeat("b", 40)
	c.Database.URL = be.NewDatabaseURL(b)
	c.Passwords.Argon2.MemoryKiB, c.Passwords.Argon2.Iterations = 8192, 1
	c.Tokens.FailureLimit = -1
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
	// The access log is formatted as in production (JSON, info) and dropped.
	e, err := a.newServer(ctx, c, slog.New(slog.NewJSONHandler(io.Discard, nil)), store, hot)
	if err != nil {
		b.Fatal(err)
	}
	s := &benchServer{e: e, store: store, cookies: map[string]*http.Cookie{}}
	reg := oidc.NewClients(store, nil)
	cc, err := reg.Create(ctx, oidc.ClientSpec{Name: "bench cc", GrantTypes: []string{"client_credentials"}, Scopes: []string{"api"}}, "bench")
	if err != nil {
		b.Fatal(err)
	}
	code, err := reg.Create(ctx, oidc.ClientSpec{Name: "bench code", FirstParty: true, RedirectURIs: []string{benchRedirect},
		GrantTypes: []string{"authorization_code", "refresh_token"}, Scopes: []string{"openid profile email"}}, "bench")
	if err != nil {
		b.Fatal(err)
	}
	s.ccID, s.ccSecret, s.codeID, s.codeSecret = cc.Client.ID, cc.Secret, code.Client.ID, code.Secret
	a2 := c.Passwords.Argon2
	hash, err := login.NewPasswords(a2.params(), login.HashLimits{Concurrent: 1}).Hash(ctx, testPassword)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := directory.NewUsers(store).Create(ctx, directory.UserSpec{Email: "bench@example.com", PasswordHash: hash}, "bench"); err != nil {
		b.Fatal(err)
	}
	// Sign in once through the page: the SSO session every authorize uses.
	rec := s.serve(httptest.NewRequest(http.MethodGet, oidc.LoginPath, nil))
	m := csrfInput.FindStringSubmatch(rec.Body.String())
	if rec.Code != http.StatusOK || m == nil {
		b.Fatalf("login page: %d", rec.Code)
	}
	form := url.Values{"csrf_token": {m[1]}, "email": {"bench@example.com"}, "password": {testPassword}}.Encode()
	req := httptest.NewRequest(http.MethodPost, oidc.LoginPath, strings.NewReader(form))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if rec := s.serve(req); rec.Code != http.StatusSeeOther {
		b.Fatalf("sign-in: %d %s", rec.Code, rec.Body)
	}
	return s
}

// reportStatements reports the database statements per operation (BEGIN
// and COMMIT included) of the benchmark it is deferred in:
// defer s.reportStatements(b)().
func (s *benchServer) reportStatements(b *testing.B) func() {
	before := s.store.Stats()
	return func() {
		if b.N > 0 {
			b.ReportMetric(float64(s.store.Stats().Total()-before.Total())/float64(b.N), "stmts/op")
		}
	}
}

// serve sends req with the browser's cookies and keeps the ones set.
func (s *benchServer) serve(req *http.Request) *httptest.ResponseRecorder {
	for _, c := range s.cookies {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	s.e.ServeHTTP(rec, req)
	for _, c := range rec.Result().Cookies() {
		s.cookies[c.Name] = c
	}
	return rec
}

// authorize runs an authorization request with PKCE on the SSO session,
// following Janua's own redirects, and returns the code and verifier.
func (s *benchServer) authorize(b *testing.B) (code, verifier string) {
	verifier = strings.Repeat("v", 43)
	sum := sha256.Sum256([]byte(verifier))
	target := "/oauth2/authorize?" + url.Values{"response_type": {"code"}, "client_id": {s.codeID}, "redirect_uri": {benchRedirect},
		"scope": {"openid profile email"}, "state": {"state-0123456789"}, "nonce": {"nonce-0123456789"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}.Encode()
	for range 5 {
		rec := s.serve(httptest.NewRequest(http.MethodGet, target, nil))
		loc := rec.Header().Get("Location")
		if rec.Code != http.StatusSeeOther && rec.Code != http.StatusFound || loc == "" {
			b.Fatalf("authorize: %d %s", rec.Code, rec.Body)
		}
		if strings.HasPrefix(loc, benchRedirect) {
			u, _ := url.Parse(loc)
			if code = u.Query().Get("code"); code == "" {
				b.Fatalf("authorize: %s", loc)
			}
			return code, verifier
		}
		target = loc
	}
	b.Fatal("authorize: no redirect to the client")
	return "", ""
}
