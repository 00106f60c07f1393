package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/madfam-org/janua/consent"
	"github.com/madfam-org/janua/directory"
	"github.com/madfam-org/janua/login"
	"github.com/madfam-org/janua/oidc"
	"github.com/madfam-org/janua/storage"
	"github.com/madfam-org/janua/storage/storagetest"
	"github.com/madfam-org/janua/templates"
	"github.com/madfam-org/janua/web"
)

// This file is the harness of the sign-in, consent and end-to-end tests:
// newInteractionServer serves newServer (every route, the real middleware
// and configuration) over a store and hot state the test can reach, at an
// httptest URL that is also its issuer, and a browser is a cookie-jar
// client that acts like one. createFlow stores a flow exactly as oidc's
// authorization endpoint does (state created, bound to a browser), for the
// page tests; the end-to-end tests (e2e_test.go) start at a real
// authorization request instead.

// testPassword is the password of every test user (≥ 12 characters, not a
// common one).
const testPassword = "correct horse battery staple"

// interactionServer is Janua's HTTP server on a test store.
type interactionServer struct {
	t     *testing.T
	URL   string
	store *storage.Store
	hot   storage.HotState
	cfg   Config
	echo  *echo.Echo
	pw    *login.Passwords
}

// serverOptions vary newInteractionServer.
type serverOptions struct {
	backend storagetest.Backend // SQLite when zero
	hot     storage.HotState    // memory when nil
	config  func(*Config)
	// routes adds test-only routes before the server starts.
	routes func(e *echo.Echo)
	// now is the store's clock (time.Now when nil).
	now func() time.Time
}

func newInteractionServer(t *testing.T, o serverOptions) *interactionServer {
	t.Helper()
	// The server's background work (key and client cache watchers) ends
	// with the test, before the store and hot state close.
	ctx, cancel := context.WithCancel(context.Background())
	if o.backend.NewDatabaseURL == nil {
		o.backend = storagetest.SQLiteBackend()
	}
	// Listen first: the issuer is the server's own URL, as in production.
	srv := httptest.NewUnstartedServer(nil)
	started := false
	t.Cleanup(func() {
		if !started {
			_ = srv.Listener.Close()
		}
	})
	c := defaultConfig()
	c.Issuer = "http://" + srv.Listener.Addr().String()
	c.DataDir = t.TempDir()
	c.Secret = strings.Repeat("s", 40)
	c.Database.URL = o.backend.NewDatabaseURL(t)
	// Cheap argon2 for tests; the production cost is exercised in login's tests.
	c.Passwords.Argon2.MemoryKiB, c.Passwords.Argon2.Iterations = 8192, 1
	c.Login.IPRateLimit = 1000
	if o.config != nil {
		o.config(&c)
	}
	if probs := c.validate(); len(probs) > 0 {
		t.Fatalf("test configuration: %v", probs.err())
	}
	store, err := storage.Open(ctx, storage.Options{URL: c.Database.URL, Secret: []byte(c.Secret), Now: o.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	if _, err := store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	hot := o.hot
	if hot == nil {
		hot = storage.NewMemoryHotState(storage.MemoryHotStateOptions{})
		t.Cleanup(func() { _ = hot.Close() })
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	a := &app{io: streams{in: strings.NewReader(""), out: io.Discard, err: io.Discard}}
	t.Cleanup(cancel)
	e, err := a.newServer(ctx, c, log, store, hot)
	if err != nil {
		t.Fatal(err)
	}
	if o.routes != nil {
		o.routes(e)
	}
	srv.Config.Handler = e
	srv.Start()
	started = true
	t.Cleanup(srv.Close)
	a2 := c.Passwords.Argon2
	return &interactionServer{t: t, URL: srv.URL, store: store, hot: hot, cfg: c, echo: e,
		pw: login.NewPasswords(a2.params(), login.HashLimits{Concurrent: 2})}
}

// user creates a user with testPassword (disabled when asked).
func (s *interactionServer) user(email string, disabled bool) *storage.User {
	s.t.Helper()
	ctx := context.Background()
	h, err := s.pw.Hash(ctx, testPassword)
	if err != nil {
		s.t.Fatal(err)
	}
	d := directory.NewUsers(s.store)
	u, err := d.Create(ctx, directory.UserSpec{Email: email, Claims: map[string]any{"name": "Test " + email}, PasswordHash: h}, "test")
	if err != nil {
		s.t.Fatal(err)
	}
	if disabled {
		if u, err = d.SetDisabled(ctx, u.ID, true, "test"); err != nil {
			s.t.Fatal(err)
		}
	}
	return u
}

// client registers a client.
func (s *interactionServer) client(id, name string, firstParty bool) *storage.Client {
	s.t.Helper()
	cl := &storage.Client{ID: id, Name: name, FirstParty: firstParty, TokenEndpointAuthMethod: "none", Public: true,
		RedirectURIs: []string{"https://app.example.com/cb"}, Scopes: []string{"openid", "profile", "email"},
		Metadata: storage.ClientMetadata{LogoURI: "https://app.example.com/logo.png", PolicyURI: "https://app.example.com/privacy", TosURI: "https://app.example.com/terms"}}
	if err := s.store.CreateClient(context.Background(), cl); err != nil {
		s.t.Fatal(err)
	}
	return cl
}

// createFlow stores a flow in state created for clientID, bound to the
// browser whose identity cookie is browserCookie, with the authorization
// request params; it returns the challenge.
func (s *interactionServer) createFlow(clientID, browserCookie string, params url.Values) string {
	s.t.Helper()
	challenge, id := storage.NewFlowChallenge()
	sum := sha256.Sum256([]byte(browserCookie))
	req := map[string][]string{"client_id": {clientID}, "response_type": {"code"}, "redirect_uri": {"https://app.example.com/cb"}, "state": {"st"}}
	for k, v := range params {
		req[k] = v
	}
	f := &storage.Flow{ID: id, ClientID: clientID, Browser: hex.EncodeToString(sum[:]), Request: req, ExpiresAt: time.Now().Add(10 * time.Minute)}
	if err := s.store.CreateFlow(context.Background(), f); err != nil {
		s.t.Fatal(err)
	}
	return challenge
}

// flow reads a flow back.
func (s *interactionServer) flow(challenge string) *storage.Flow {
	s.t.Helper()
	f, err := s.store.GetFlow(context.Background(), storage.FlowID(challenge))
	if err != nil {
		s.t.Fatal(err)
	}
	return f
}

// audit returns the audit events of a type, newest first.
func (s *interactionServer) audit(typ string) []storage.AuditEvent {
	s.t.Helper()
	evs, err := s.store.ListAuditEvents(context.Background(), storage.AuditFilter{Type: typ})
	if err != nil {
		s.t.Fatal(err)
	}
	return evs
}

// browser is a cookie-keeping HTTP client that does not follow redirects,
// so tests see each hop.
type browser struct {
	t      *testing.T
	s      *interactionServer
	c      *http.Client
	header http.Header // sent with every request
	page   string      // the last body
}

func (s *interactionServer) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: s.t, s: s, header: http.Header{"Accept": {"text/html"}}, c: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// do sends a request to path (on the server, or an absolute URL) and keeps
// the body in b.page.
func (b *browser) do(method, path string, form url.Values) *http.Response {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	target := path
	if !strings.HasPrefix(path, "http://") && !strings.HasPrefix(path, "https://") {
		target = b.s.URL + path
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		b.t.Fatal(err)
	}
	for k, v := range b.header {
		req.Header[k] = v
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	b.page = string(raw)
	return res
}

func (b *browser) get(path string) *http.Response {
	b.t.Helper()
	return b.do(http.MethodGet, path, nil)
}

// submit posts form to path with the CSRF token of the last page.
func (b *browser) submit(path string, form url.Values) *http.Response {
	b.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set(web.CSRFField, b.csrf())
	return b.do(http.MethodPost, path, form)
}

var csrfInput = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// csrf is the token of the last page.
func (b *browser) csrf() string {
	b.t.Helper()
	m := csrfInput.FindStringSubmatch(b.page)
	if m == nil {
		b.t.Fatalf("the last page has no CSRF token:\n%s", b.page)
	}
	return m[1]
}

// cookie returns the value of a cookie the browser holds ("" if none).
func (b *browser) cookie(name string) string {
	u, _ := url.Parse(b.s.URL)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// identity returns the browser's identity cookie, visiting the sign-in page
// first when it has none.
func (b *browser) identity() string {
	b.t.Helper()
	if v := b.cookie("janua-browser"); v != "" {
		return v
	}
	b.get(oidc.LoginPath)
	v := b.cookie("janua-browser")
	if v == "" {
		b.t.Fatal("the sign-in page set no browser cookie")
	}
	return v
}

// startFlow creates a flow for this browser and opens its sign-in page.
func (b *browser) startFlow(clientID string, params url.Values) string {
	b.t.Helper()
	ch := b.s.createFlow(clientID, b.identity(), params)
	if res := b.get(flowURL(oidc.LoginPath, ch)); res.StatusCode != 200 {
		b.t.Fatalf("sign-in page: %d\n%s", res.StatusCode, b.page)
	}
	return ch
}

// signIn submits the sign-in form of the last page.
func (b *browser) signIn(ch, email, password string, remember bool) *http.Response {
	b.t.Helper()
	form := url.Values{"email": {email}, "password": {password}, "action": {"login"}}
	if remember {
		form.Set("remember", "1")
	}
	return b.submit(flowURL(oidc.LoginPath, ch), form)
}

func flowURL(path, challenge string) string {
	if challenge == "" {
		return path
	}
	return path + "?" + url.Values{oidc.FlowParam: {challenge}}.Encode()
}

// The hand-off constants agree on both sides, and cmd/janua hands oidc the
// interfaces it consumes.
func TestHandOffContract(t *testing.T) {
	if login.FlowParam != oidc.FlowParam || consent.FlowParam != oidc.FlowParam {
		t.Fatalf("flow parameter: login %q, consent %q, oidc %q", login.FlowParam, consent.FlowParam, oidc.FlowParam)
	}
	s := newInteractionServer(t, serverOptions{})
	ia, err := newInteraction(s.cfg, slog.New(slog.DiscardHandler), s.store, s.hot, mustTemplates(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	if ia.authenticator() == nil || ia.consentGate() == nil {
		t.Fatal("no authenticator or consent gate for oidc")
	}
}

func mustTemplates(t *testing.T) *templates.Set {
	t.Helper()
	set, err := templates.New(templates.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return set
}
