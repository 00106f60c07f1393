package login

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/madfam-org/janua/storage"
	"github.com/madfam-org/janua/web"
)

// SessionCookie is the base name of the SSO session cookie: "janua-session",
// "__Host-janua-session" on an https issuer (web.Cookies). Its value is 256
// random bits (base64url); the database keeps only their SHA-256.
const SessionCookie = "janua-session"

// Default session lifetimes.
const (
	DefaultIdleTimeout     = 30 * time.Minute
	DefaultAbsoluteTimeout = 12 * time.Hour
	DefaultRememberTimeout = 30 * 24 * time.Hour
)

// touchInterval is how stale a session's last-seen time may get before a
// request slides its idle expiry: at most one write per minute per session.
const touchInterval = time.Minute

// maxUserAgent bounds the User-Agent stored with a session or audit event.
const maxUserAgent = 512

// Authentication is how and when the user behind a browser proved who they
// are. It has exactly the fields of oidc.Authentication, so cmd/janua
// converts one into the other (login never imports oidc).
type Authentication struct {
	Subject   string    // the user's ID
	SessionID string    // the SSO session's public id, the ID token's "sid"
	AuthTime  time.Time // when the user last actively authenticated
	AMR       []string  // RFC 8176 method references, e.g. ["pwd"]
	ACR       string    // the authentication context class reached
}

// SessionOptions configure NewSessions.
type SessionOptions struct {
	Cookies web.Cookies
	// IdleTimeout ends a session nobody used for that long; AbsoluteTimeout
	// ends it whatever happens. A "keep me signed in" session lasts
	// RememberTimeout (idle or not) in a persistent cookie; any other lives in
	// a cookie the browser drops when it closes.
	IdleTimeout, AbsoluteTimeout, RememberTimeout time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Sessions is the browser SSO session: the cookie and its database row. It
// implements oidc.Authenticator (through cmd/janua's conversion of
// Authentication) and tells consent who is signed in.
type Sessions struct {
	store SessionStore
	o     SessionOptions
}

// NewSessions returns the SSO sessions over store; zero lifetimes take the
// defaults.
func NewSessions(store SessionStore, o SessionOptions) *Sessions {
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	if o.AbsoluteTimeout <= 0 {
		o.AbsoluteTimeout = DefaultAbsoluteTimeout
	}
	if o.RememberTimeout <= 0 {
		o.RememberTimeout = DefaultRememberTimeout
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Sessions{store: store, o: o}
}

// Authenticated returns the authentication of the browser's live session,
// sliding its idle expiry (at most once a minute), or ok=false when the
// browser has none, or it expired or was revoked.
func (s *Sessions) Authenticated(c echo.Context) (a Authentication, ok bool, err error) {
	bs, err := s.live(c.Request().Context(), c)
	if bs == nil || err != nil {
		return Authentication{}, false, err
	}
	now := s.o.Now()
	if now.Sub(bs.LastSeenAt) >= touchInterval {
		idle := earliest(now.Add(s.idleTimeout(bs.Remember)), bs.ExpiresAt)
		if err := s.store.TouchBrowserSession(c.Request().Context(), bs.ID, idle); err != nil {
			if errors.Is(err, storage.ErrNotFound) { // revoked meanwhile
				s.o.Cookies.Clear(c, SessionCookie)
				forgetLive(c)
				return Authentication{}, false, nil
			}
			return Authentication{}, false, err
		}
		bs.LastSeenAt, bs.IdleExpiresAt = now, idle // the request's later lookups need not touch again
	}
	return authenticationOf(bs), true, nil
}

// SignedInUser returns the ID of the user signed in on this browser, if any
// (consent checks it against the flow's subject).
func (s *Sessions) SignedInUser(c echo.Context) (userID string, ok bool, err error) {
	a, ok, err := s.Authenticated(c)
	return a.Subject, ok, err
}

// EndSession revokes the browser's session, clears its cookie, records the
// logout and returns what it ended (nil when there was no live session).
func (s *Sessions) EndSession(c echo.Context) (*Authentication, error) {
	bs, err := s.live(c.Request().Context(), c)
	s.o.Cookies.Clear(c, SessionCookie)
	if bs == nil || err != nil {
		return nil, err
	}
	ctx := c.Request().Context()
	forgetLive(c)
	if err := s.store.RevokeBrowserSession(ctx, bs.ID); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return nil, nil
		}
		return nil, err
	}
	a := authenticationOf(bs)
	err = s.store.RecordAuditEvent(ctx, auditEvent(c, auditSessionEnded, storage.AuditSuccess, bs.UserID, "",
		map[string]any{"sid": bs.SID}))
	return &a, err
}

// live returns the browser's live session, or nil. A cookie naming no live
// session is cleared.
//
// The answer is kept for the rest of the request (liveKey), so the several
// pieces of one request that ask (the account page, its re-authentication
// check, the current session's row) read the session once.
func (s *Sessions) live(ctx context.Context, c echo.Context) (*storage.BrowserSession, error) {
	if m, ok := c.Get(liveKey).(*liveMemo); ok && m != nil {
		return m.bs, nil
	}
	bs, err := s.lookup(ctx, c)
	if err == nil {
		c.Set(liveKey, &liveMemo{bs: bs})
	}
	return bs, err
}

// liveKey holds a request's *liveMemo in its echo context.
const liveKey = "login.live-session"

// liveMemo is the browser's live session as this request found it (nil:
// none).
type liveMemo struct{ bs *storage.BrowserSession }

// forgetLive drops the request's memo once its session changed.
func forgetLive(c echo.Context) { c.Set(liveKey, (*liveMemo)(nil)) }

// lookup reads the browser's live session from its cookie.
func (s *Sessions) lookup(ctx context.Context, c echo.Context) (*storage.BrowserSession, error) {
	token := s.o.Cookies.Get(c, SessionCookie)
	if token == "" {
		return nil, nil
	}
	if len(token) != base64.RawURLEncoding.EncodedLen(32) {
		s.o.Cookies.Clear(c, SessionCookie)
		return nil, nil
	}
	bs, err := s.store.GetBrowserSession(ctx, sessionID(token))
	if errors.Is(err, storage.ErrNotFound) {
		s.o.Cookies.Clear(c, SessionCookie)
		return nil, nil
	}
	return bs, err
}

// started is a session created inside a transaction whose cookie is set
// once the transaction commits.
type started struct {
	session  *storage.BrowserSession
	token    string
	replaced string // the sid of the session it replaced, if any
}

// start creates a new session for userID, revoking the browser's current
// one (another user's, or the same user's when re-authenticating: a new
// sign-in always gets a new token, against session fixation). amr is what
// the user did (RFC 8176); the session's acr follows from it. Call it in the
// transaction that advances the flow, then setCookie after commit.
func (s *Sessions) start(ctx context.Context, c echo.Context, userID string, remember bool, amr []string) (*started, error) {
	st := &started{}
	if old, err := s.live(ctx, c); err != nil {
		return nil, err
	} else if old != nil {
		if err := s.store.RevokeBrowserSession(ctx, old.ID); err != nil && !errors.Is(err, storage.ErrNotFound) {
			return nil, err
		}
		st.replaced = old.SID
		forgetLive(c)
	}
	now := s.o.Now().UTC()
	st.token = randomToken(32)
	life := s.o.AbsoluteTimeout
	if remember {
		life = s.o.RememberTimeout
	}
	st.session = &storage.BrowserSession{
		ID:            sessionID(st.token),
		SID:           randomToken(16),
		UserID:        userID,
		AuthTime:      now.Truncate(time.Second), // ID tokens carry whole seconds
		AMR:           append([]string(nil), amr...),
		ACR:           acrOf(amr),
		Remember:      remember,
		IP:            c.RealIP(),
		UserAgent:     clean(c.Request().UserAgent(), maxUserAgent),
		CreatedAt:     now,
		LastSeenAt:    now,
		IdleExpiresAt: earliest(now.Add(s.idleTimeout(remember)), now.Add(life)),
		ExpiresAt:     now.Add(life),
	}
	if err := s.store.CreateBrowserSession(ctx, st.session); err != nil {
		return nil, err
	}
	return st, nil
}

// setCookie hands the browser its session token: a persistent cookie for a
// remembered session, else one that ends with the browser session.
func (s *Sessions) setCookie(c echo.Context, st *started) {
	var maxAge time.Duration
	if st.session.Remember {
		maxAge = s.o.RememberTimeout
	}
	s.o.Cookies.Set(c, SessionCookie, st.token, maxAge, http.SameSiteLaxMode)
}

func (s *Sessions) idleTimeout(remember bool) time.Duration {
	if remember {
		return s.o.RememberTimeout
	}
	return s.o.IdleTimeout
}

func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func authenticationOf(bs *storage.BrowserSession) Authentication {
	return Authentication{
		Subject:   bs.UserID,
		SessionID: bs.SID,
		AuthTime:  bs.AuthTime,
		AMR:       append([]string(nil), bs.AMR...),
		ACR:       bs.ACR,
	}
}

// sessionID is the stored ID of the session a cookie token names.
func sessionID(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// randomToken returns n random bytes, base64url-encoded.
func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
