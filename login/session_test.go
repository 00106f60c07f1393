package login_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/madfam-org/janua/login"
	"github.com/madfam-org/janua/storage"
	"github.com/madfam-org/janua/storage/storagetest"
)

// sessionHarness is a store and Sessions on one fake clock.
type sessionHarness struct {
	t        *testing.T
	clock    *storagetest.Clock
	store    *storage.Store
	sessions *login.Sessions
	user     *storage.User
}

func newSessionHarness(t *testing.T, b storagetest.Backend) *sessionHarness {
	t.Helper()
	ctx := context.Background()
	clock := storagetest.NewClock()
	store, err := storage.Open(ctx, storage.Options{URL: b.NewDatabaseURL(t), Secret: []byte("test secret, test secret, test secret!"), Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	if _, err := store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	u := &storage.User{Email: "ana@example.com"}
	if err := store.CreateUser(ctx, u, ""); err != nil {
		t.Fatal(err)
	}
	return &sessionHarness{t: t, clock: clock, store: store, user: u,
		sessions: login.NewSessions(store, login.SessionOptions{Now: clock.Now})}
}

// session stores a live session as a sign-in does and returns its cookie
// token: the row's ID is the token's SHA-256.
func (h *sessionHarness) session(remember bool) string {
	h.t.Helper()
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	token := base64.RawURLEncoding.EncodeToString(raw)
	sum := sha256.Sum256([]byte(token))
	now := h.clock.Now()
	life := 12 * time.Hour
	idle := now.Add(30 * time.Minute)
	if remember {
		life = 30 * 24 * time.Hour
		idle = now.Add(life)
	}
	bs := &storage.BrowserSession{ID: hex.EncodeToString(sum[:]), SID: "sid-" + token[:10], UserID: h.user.ID, AuthTime: now,
		AMR: []string{"pwd"}, ACR: login.ACRPassword, Remember: remember, IdleExpiresAt: idle, ExpiresAt: now.Add(life)}
	if err := h.store.CreateBrowserSession(context.Background(), bs); err != nil {
		h.t.Fatal(err)
	}
	return token
}

// request runs fn on a request carrying the session cookie token.
func request(token string, fn func(c echo.Context)) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	if token != "" {
		req.AddCookie(&http.Cookie{Name: login.SessionCookie, Value: token})
	}
	rec := httptest.NewRecorder()
	fn(echo.New().NewContext(req, rec))
	return rec
}

func (h *sessionHarness) authenticated(token string) (login.Authentication, bool, *httptest.ResponseRecorder) {
	h.t.Helper()
	var a login.Authentication
	var ok bool
	var err error
	rec := request(token, func(c echo.Context) { a, ok, err = h.sessions.Authenticated(c) })
	if err != nil {
		h.t.Fatal(err)
	}
	return a, ok, rec
}

func (h *sessionHarness) row(token string) *storage.BrowserSession {
	h.t.Helper()
	sum := sha256.Sum256([]byte(token))
	bs, err := h.store.GetBrowserSession(context.Background(), hex.EncodeToString(sum[:]))
	if err != nil {
		h.t.Fatal(err)
	}
	return bs
}

func cleared(rec *httptest.ResponseRecorder) bool {
	c := rec.Header().Get("Set-Cookie")
	return strings.HasPrefix(c, login.SessionCookie+"=;") && strings.Contains(c, "Max-Age=0")
}

// The idle expiry slides with use, at most one write a minute; the absolute
// expiry does not move.
func TestAuthenticatedSlidesIdleExpiry(t *testing.T) {
	for _, b := range storagetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			h := newSessionHarness(t, b)
			start := h.clock.Now()
			token := h.session(false)
			a, ok, _ := h.authenticated(token)
			if !ok || a.Subject != h.user.ID || a.SessionID != "sid-"+token[:10] || !a.AuthTime.Equal(start) || a.ACR != "1" || a.AMR[0] != "pwd" {
				t.Fatalf("authenticated: %+v %v", a, ok)
			}
			h.clock.Advance(30 * time.Second)
			if _, ok, _ := h.authenticated(token); !ok || !h.row(token).LastSeenAt.Equal(start) {
				t.Fatal("a request within a minute of the last one wrote the session")
			}
			h.clock.Advance(29 * time.Minute) // 29.5 min since sign-in: slides
			h.authenticated(token)
			if r := h.row(token); !r.IdleExpiresAt.Equal(h.clock.Now().Add(30*time.Minute)) || !r.LastSeenAt.Equal(h.clock.Now()) {
				t.Fatalf("idle expiry did not slide: %+v", r)
			}
			h.clock.Advance(29 * time.Minute) // 58.5 min since sign-in, 29 since last use
			if _, ok, _ := h.authenticated(token); !ok {
				t.Fatal("an active session expired at its first idle deadline")
			}
			h.clock.Advance(31 * time.Minute) // 31 min unused
			if _, ok, rec := h.authenticated(token); ok || !cleared(rec) {
				t.Fatalf("idle session still live (ok=%v) or cookie kept: %v", ok, rec.Header())
			}

			// Kept busy, a session still ends at its absolute expiry.
			busy := h.session(false)
			for range 35 { // 35 × 20 min = 11 h 40 min
				h.clock.Advance(20 * time.Minute)
				if _, ok, _ := h.authenticated(busy); !ok {
					t.Fatal("a busy session ended before its absolute expiry")
				}
			}
			h.clock.Advance(20 * time.Minute)
			if _, ok, _ := h.authenticated(busy); ok {
				t.Fatal("a session outlived its absolute expiry")
			}
			// A remembered session has no shorter idle limit.
			kept := h.session(true)
			h.clock.Advance(10 * 24 * time.Hour)
			if _, ok, _ := h.authenticated(kept); !ok {
				t.Fatal("a remembered session expired while idle")
			}
		})
	}
}

func TestAuthenticatedWithoutASession(t *testing.T) {
	h := newSessionHarness(t, storagetest.SQLiteBackend())
	if _, ok, rec := h.authenticated(""); ok || rec.Header().Get("Set-Cookie") != "" {
		t.Fatal("no cookie: authenticated, or a cookie set")
	}
	for _, token := range []string{"short", strings.Repeat("u", 43), strings.Repeat("v", 500)} {
		if _, ok, rec := h.authenticated(token); ok || !cleared(rec) {
			t.Errorf("cookie %.10q…: ok=%v, Set-Cookie %q", token, ok, rec.Header().Get("Set-Cookie"))
		}
	}
}

func TestEndSession(t *testing.T) {
	h := newSessionHarness(t, storagetest.SQLiteBackend())
	token := h.session(true)
	var ended *login.Authentication
	var err error
	rec := request(token, func(c echo.Context) { ended, err = h.sessions.EndSession(c) })
	if err != nil || ended == nil || ended.Subject != h.user.ID || ended.SessionID != "sid-"+token[:10] || !cleared(rec) {
		t.Fatalf("EndSession: %+v %v %v", ended, err, rec.Header())
	}
	sum := sha256.Sum256([]byte(token))
	if _, err := h.store.GetBrowserSession(context.Background(), hex.EncodeToString(sum[:])); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("revoked session still live: %v", err)
	}
	if _, ok, _ := h.authenticated(token); ok {
		t.Fatal("authenticated after EndSession")
	}
	evs, _ := h.store.ListAuditEvents(context.Background(), storage.AuditFilter{Type: "session.ended"})
	if len(evs) != 1 || evs[0].Subject != h.user.ID || evs[0].Details["sid"] != ended.SessionID {
		t.Fatalf("logout audit: %+v", evs)
	}
	// Nothing left to end: nil, and the cookie is still cleared.
	rec = request(token, func(c echo.Context) { ended, err = h.sessions.EndSession(c) })
	if ended != nil || err != nil || !cleared(rec) {
		t.Fatalf("second EndSession: %+v %v", ended, err)
	}
}
