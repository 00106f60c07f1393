package login

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/madfam-org/janua/storage"
	"github.com/madfam-org/janua/storage/storagetest"
	"github.com/madfam-org/janua/web"
)

// On an https issuer the session cookie is __Host- prefixed: Secure,
// Path=/, no Domain (RFC 6265bis §4.1.3.2), HttpOnly and SameSite=Lax; it
// is persistent only for a remembered session.
func TestSessionCookieOnHTTPS(t *testing.T) {
	store := storagetest.OpenSQLite(t)
	u := &storage.User{Email: "ana@example.com"}
	if err := store.CreateUser(context.Background(), u, ""); err != nil {
		t.Fatal(err)
	}
	s := NewSessions(store, SessionOptions{Cookies: web.Cookies{Secure: true}})
	for _, remember := range []bool{false, true} {
		rec := httptest.NewRecorder()
		c := echo.New().NewContext(httptest.NewRequest(http.MethodPost, "/login", nil), rec)
		st, err := s.start(context.Background(), c, u.ID, remember, []string{AMRPassword})
		if err != nil {
			t.Fatal(err)
		}
		s.setCookie(c, st)
		set := rec.Header().Get("Set-Cookie")
		if !strings.HasPrefix(set, "__Host-janua-session="+st.token+";") || !strings.Contains(set, "; Path=/") || !strings.Contains(set, "; HttpOnly") ||
			!strings.Contains(set, "; Secure") || !strings.Contains(set, "; SameSite=Lax") || strings.Contains(set, "Domain") ||
			strings.Contains(set, "Max-Age=2592000") != remember || strings.Contains(set, "Expires") != remember {
			t.Fatalf("remember=%v: Set-Cookie %q", remember, set)
		}
		if st.session.ID != sessionID(st.token) || len(st.token) != 43 || st.session.SID == "" || strings.Contains(st.session.ID, st.token) {
			t.Fatalf("session %+v", st.session)
		}
	}
}

// countingSessions counts the session reads of a real store.
type countingSessions struct {
	*storage.Store
	reads int
}

func (s *countingSessions) GetBrowserSession(ctx context.Context, id string) (*storage.BrowserSession, error) {
	s.reads++
	return s.Store.GetBrowserSession(ctx, id)
}

// One request reads the browser's session once, however many of its parts
// ask; a sign-in or sign-out within it makes the next ask read again.
func TestSessionReadOncePerRequest(t *testing.T) {
	store := &countingSessions{Store: storagetest.OpenSQLite(t)}
	ctx := context.Background()
	u := &storage.User{Email: "ana@example.com"}
	if err := store.CreateUser(ctx, u, ""); err != nil {
		t.Fatal(err)
	}
	s := NewSessions(store, SessionOptions{})
	rec := httptest.NewRecorder()
	c := echo.New().NewContext(httptest.NewRequest(http.MethodPost, "/login", nil), rec)
	st, err := s.start(ctx, c, u.ID, false, []string{AMRPassword})
	if err != nil {
		t.Fatal(err)
	}
	s.setCookie(c, st)

	req := httptest.NewRequest(http.MethodGet, "/account/security", nil)
	req.Header.Set("Cookie", strings.Split(rec.Header().Get("Set-Cookie"), ";")[0])
	c = echo.New().NewContext(req, httptest.NewRecorder())
	store.reads = 0
	for range 3 {
		if _, ok, err := s.Authenticated(c); !ok || err != nil {
			t.Fatalf("not signed in: %v", err)
		}
		if bs, err := s.live(ctx, c); bs == nil || err != nil {
			t.Fatalf("live: %v", err)
		}
	}
	if store.reads != 1 {
		t.Fatalf("%d session reads in one request, want 1", store.reads)
	}
	if _, err := s.EndSession(c); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.Authenticated(c); ok || store.reads != 2 {
		t.Fatalf("after ending the session: signed in %v, %d reads", ok, store.reads)
	}
}
