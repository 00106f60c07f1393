package main

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/labstack/echo/v4"
	"golang.org/x/oauth2"

	"github.com/madfam-org/janua/login"
	"github.com/madfam-org/janua/oidc"
	"github.com/madfam-org/janua/storage"
)

// The pages in a real browser: Debian's Chromium, headless, driven over the
// DevTools protocol (chromedp) against the in-process server. Each scenario
// runs in its own browser context (its own cookies) and fails on any console
// error or warning, uncaught exception or CSP violation. Screenshots of every
// page at desktop (1280×900) and phone (390×844) width go to
// $JANUA_TEST_SCREENSHOTS when set (make screenshots: docs/screenshots),
// else to a temporary directory.

// chromiumPath finds Chromium. Absent, the test is skipped — or fails under
// CI=true, the rule of the test databases (storagetest's missing server).
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	const why = "Chromium is not installed (apt-get install -y chromium)"
	if strings.EqualFold(os.Getenv("CI"), "true") {
		t.Fatalf("%s (CI=true: a missing test browser is a failure)", why)
	}
	t.Skip(why)
	return ""
}

// cspProbe reports CSP violations to the console, where the collector sees
// them. It is injected by DevTools, so the page's CSP does not apply to it.
const cspProbe = `document.addEventListener('securitypolicyviolation', e =>
  console.error('CSP violation: ' + e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline')))`

// console collects what a tab reports: console errors and warnings,
// uncaught exceptions and browser-log errors and warnings.
type console struct {
	mu   sync.Mutex
	msgs []string
}

func (c *console) listen(ev any) {
	var msg string
	switch e := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if e.Type == runtime.ConsoleAPICalledTypeError || e.Type == runtime.ConsoleAPICalledTypeWarning || e.Type == runtime.ConsoleAPICalledTypeAssert {
			var parts []string
			for _, a := range e.Args {
				if len(a.Value) > 0 {
					parts = append(parts, string(a.Value))
				} else {
					parts = append(parts, a.Description)
				}
			}
			msg = "console." + string(e.Type) + ": " + strings.Join(parts, " ")
		}
	case *runtime.EventExceptionThrown:
		msg = "exception: " + e.ExceptionDetails.Text
		if e.ExceptionDetails.Exception != nil {
			msg += " " + e.ExceptionDetails.Exception.Description
		}
	case *cdplog.EventEntryAdded:
		if e.Entry.Level == cdplog.EntryLevelError || e.Entry.Level == cdplog.EntryLevelWarning {
			msg = "log." + string(e.Entry.Level) + " (" + string(e.Entry.Source) + "): " + e.Entry.Text + " " + e.Entry.URL
		}
	}
	if msg != "" {
		c.mu.Lock()
		c.msgs = append(c.msgs, msg)
		c.mu.Unlock()
	}
}

func (c *console) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.msgs
	c.msgs = nil
	return out
}

// expectStatus accepts what the browser reported since the last check
// when it is only its network log noting the document's expected status
// (a form answered 400, an error page 403): anything else fails.
func (tb *tab) expectStatus(status int) {
	tb.t.Helper()
	want := fmt.Sprintf("status of %d ", status)
	for _, m := range tb.console.take() {
		if !strings.Contains(m, "(network)") || !strings.Contains(m, want) {
			tb.t.Errorf("unexpected: %s", m)
		}
	}
}

// tab is one scenario's page, in a browser context of its own.
type tab struct {
	t       *testing.T
	ctx     context.Context
	s       *interactionServer
	console *console
	shots   string
}

func (bt *browserTest) tab(t *testing.T) *tab {
	t.Helper()
	con := &console{}
	ctx, cancel := chromedp.NewContext(bt.browser, chromedp.WithNewBrowserContext(), chromedp.WithListener(con.listen))
	t.Cleanup(cancel)
	tb := &tab{t: t, ctx: ctx, s: bt.s, console: con, shots: bt.shots}
	// The first action opens the tab, which lives as long as the context of
	// that call: no timeout here.
	err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: cspProbe})
		return err
	}), chromedp.EmulateViewport(1280, 900))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if msgs := con.take(); len(msgs) > 0 && !t.Failed() {
			t.Errorf("the browser reported:\n  %s", strings.Join(msgs, "\n  "))
		}
	})
	return tb
}

func (tb *tab) do(steps ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 10*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		tb.t.Fatal(err)
	}
}

func eval[T any](tb *tab, a chromedp.Action[T]) T {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		tb.t.Fatal(err)
	}
	return v
}

// open navigates to path and waits for the element sel.
func (tb *tab) open(path, sel string) {
	tb.t.Helper()
	tb.do(chromedp.Navigate(tb.s.URL+path), chromedp.WaitVisible(chromedp.CSS(sel)))
}

// text is the text of the element sel.
func (tb *tab) text(sel string) string {
	tb.t.Helper()
	return eval(tb, chromedp.Text(chromedp.CSS(sel)))
}

// active is the id of the focused element.
func (tb *tab) active() string {
	tb.t.Helper()
	return eval(tb, chromedp.Evaluate[string](`document.activeElement ? document.activeElement.id : ''`))
}

// startFlow opens a real authorization request of the client (code, PKCE,
// redirect to the test callback) with params added, waits for Janua's
// sign-in page and returns the flow challenge it was handed.
func (tb *tab) startFlow(clientID string, params url.Values) string {
	tb.t.Helper()
	verifier := strings.Repeat("v", 43)
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{"client_id": {clientID}, "response_type": {"code"}, "redirect_uri": {tb.s.URL + browserCallback},
		"state": {"browser-state-1234"}, "nonce": {"browser-nonce-1234"}, "scope": {"openid"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}
	for k, v := range params {
		q[k] = v
	}
	tb.open("/oauth2/authorize?"+q.Encode(), "#login-form")
	loc, err := url.Parse(eval(tb, chromedp.Location()))
	if err != nil || loc.Path != oidc.LoginPath || loc.Query().Get(oidc.FlowParam) == "" {
		tb.t.Fatalf("the authorization request did not reach the sign-in page: %v", loc)
	}
	return loc.Query().Get(oidc.FlowParam)
}

// browserCallback is the test clients' redirect URI: it shows "completed"
// for a code and the error code otherwise, as #result.
const browserCallback = "/test/callback"

func callbackResult(c echo.Context) error {
	result := c.QueryParam("error")
	if c.QueryParam("code") != "" && result == "" {
		result = "completed"
	}
	return c.HTML(http.StatusOK, `<!doctype html><html lang="en"><link rel="icon" href="data:,"><title>Callback</title><p id="result">`+
		html.EscapeString(result)+`</p></html>`)
}

// shoot saves the page at desktop and phone width as name-desktop.png and
// name-phone.png, and checks the phone layout does not scroll sideways.
func (tb *tab) shoot(name string) {
	tb.t.Helper()
	for _, v := range []struct {
		suffix        string
		width, height int64
		mobile        bool
	}{{"desktop", 1280, 900, false}, {"phone", 390, 844, true}} {
		opts := []chromedp.EmulateViewportOption{}
		if v.mobile {
			opts = append(opts, chromedp.EmulateMobile, chromedp.EmulatePortrait)
		}
		tb.do(chromedp.EmulateViewport(v.width, v.height, opts...), chromedp.Sleep(50*time.Millisecond))
		if w := eval(tb, chromedp.Evaluate[int64](`document.documentElement.scrollWidth`)); w > v.width {
			tb.t.Errorf("%s at %d px: the page is %d px wide (scrolls sideways)", name, v.width, w)
		}
		png := eval(tb, chromedp.CaptureScreenshot())
		if err := os.WriteFile(filepath.Join(tb.shots, name+"-"+v.suffix+".png"), png, 0o644); err != nil {
			tb.t.Fatal(err)
		}
	}
	tb.do(chromedp.EmulateViewport(1280, 900))
}

// browserTest is one Chromium for every scenario.
type browserTest struct {
	s       *interactionServer
	browser context.Context
	shots   string
}

// newBrowserTest starts Chromium for the scenarios of t against s; it
// stops when t ends.
func newBrowserTest(t *testing.T, s *interactionServer) *browserTest {
	t.Helper()
	started := time.Now()
	path := chromiumPath(t)
	shots := os.Getenv("JANUA_TEST_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	browser := launchChromium(t, path)
	t.Logf("Chromium started in %v", time.Since(started).Round(time.Millisecond))
	return &browserTest{s: s, browser: browser, shots: shots}
}

func TestBrowserPages(t *testing.T) {
	started := time.Now()
	chromiumPath(t)
	s := newInteractionServer(t, serverOptions{routes: func(e *echo.Echo) {
		e.GET(browserCallback, callbackResult)
		// A page that breaks the CSP, to prove violations are caught.
		e.GET("/test/csp-violation", func(c echo.Context) error {
			return c.HTML(http.StatusOK, `<!doctype html><html lang="en"><title>x</title><p id="x">x</p><script>document.title='ran'</script></html>`)
		})
	}})
	for _, cl := range []*storage.Client{
		{ID: "app", Name: "Example App", Public: true, TokenEndpointAuthMethod: "none", RedirectURIs: []string{s.URL + browserCallback},
			GrantTypes: []string{"authorization_code", "refresh_token"}, ResponseTypes: []string{"code"},
			Scopes:   []string{"openid", "profile", "email", "offline_access"},
			Metadata: storage.ClientMetadata{PolicyURI: "https://app.example.com/privacy", TosURI: "https://app.example.com/terms"}},
		{ID: "own", Name: "Our Dashboard", FirstParty: true, Public: true, TokenEndpointAuthMethod: "none", RedirectURIs: []string{s.URL + browserCallback},
			GrantTypes: []string{"authorization_code"}, ResponseTypes: []string{"code"}, Scopes: []string{"openid"}},
	} {
		if err := s.store.CreateClient(context.Background(), cl); err != nil {
			t.Fatal(err)
		}
	}
	s.user("ana@example.com", false)

	bt := newBrowserTest(t, s)

	t.Run("SignUpThenAllow", func(t *testing.T) {
		tb := bt.tab(t)
		ch := tb.startFlow("app", url.Values{"scope": {"openid profile email offline_access"}, "login_hint": {"new@example.com"}})
		tb.shoot("login")
		tb.do(chromedp.Click(chromedp.CSS("#signup-link")), chromedp.WaitVisible(chromedp.CSS("#signup-form")))
		tb.shoot("signup")
		// A common password is refused, with the error announced and the field marked.
		tb.do(chromedp.SendKeys(chromedp.CSS("#name"), "Ana Pérez"), chromedp.SendKeys(chromedp.CSS("#password"), "qwerty123456"),
			chromedp.Click(chromedp.CSS("#submit")), chromedp.WaitVisible(chromedp.CSS("#form-error")))
		if msg := tb.text("#form-error"); !strings.Contains(msg, "too common") || tb.active() != "password" {
			t.Fatalf("common password: %q, focus on %q", msg, tb.active())
		}
		tb.expectStatus(http.StatusBadRequest)
		tb.shoot("signup-error")
		tb.do(chromedp.SendKeys(chromedp.CSS("#password"), testPassword+" 2"), chromedp.Click(chromedp.CSS("#submit")),
			chromedp.WaitVisible(chromedp.CSS("#consent-form")))
		if h := tb.text("#consent-title"); h != "Example App wants to access your account" {
			t.Fatalf("consent heading %q", h)
		}
		tb.shoot("consent")
		tb.do(chromedp.Click(chromedp.CSS("#allow")), chromedp.WaitVisible(chromedp.CSS("#result")))
		if r := tb.text("#result"); r != "completed" {
			t.Fatalf("after allow: %q", r)
		}
		f := s.flow(ch)
		if f.State != storage.FlowCompleted || len(f.GrantedScopes) != 4 {
			t.Fatalf("flow %+v", f)
		}
		// Signed in now: the account page.
		tb.open("/account", "#account-email")
		tb.shoot("account")
	})

	t.Run("SignInThenDeny", func(t *testing.T) {
		tb := bt.tab(t)
		ch := tb.startFlow("app", url.Values{"scope": {"openid email"}})
		tb.do(chromedp.SendKeys(chromedp.CSS("#email"), "ana@example.com"), chromedp.SendKeys(chromedp.CSS("#password"), "not the password!"),
			chromedp.Click(chromedp.CSS("#submit")), chromedp.WaitVisible(chromedp.CSS("#form-error")))
		tb.expectStatus(http.StatusBadRequest)
		if a := tb.active(); a != "password" {
			t.Errorf("after a failed sign-in the focus is on %q, want password", a)
		}
		tb.shoot("login-error")
		tb.do(chromedp.SetValue(chromedp.CSS("#password"), testPassword), chromedp.Click(chromedp.CSS("#submit")),
			chromedp.WaitVisible(chromedp.CSS("#consent-form")))
		tb.do(chromedp.Click(chromedp.CSS("#deny")), chromedp.WaitVisible(chromedp.CSS("#result")))
		if r := tb.text("#result"); r != "access_denied" {
			t.Fatalf("after deny: %q", r)
		}
		if f := s.flow(ch); f.State != storage.FlowRejected || f.Error != "access_denied" {
			t.Fatalf("flow %+v", f)
		}
	})

	// Tab and Enter only: the focus order is email, password, "keep me
	// signed in", Sign in, Cancel; focus is visible; Enter submits.
	t.Run("KeyboardOnly", func(t *testing.T) {
		tb := bt.tab(t)
		ch := tb.startFlow("own", url.Values{"scope": {"openid"}, "ui_locales": {"es"}})
		if a := tb.active(); a != "email" {
			t.Fatalf("focus on load: %q, want email", a)
		}
		tb.do(chromedp.KeyEvent("ana@example.com"), chromedp.KeyEvent("\t"))
		if a := tb.active(); a != "password" {
			t.Fatalf("after Tab: %q, want password", a)
		}
		tb.do(chromedp.KeyEvent(testPassword), chromedp.KeyEvent("\t"))
		if a := tb.active(); a != "remember" {
			t.Fatalf("after Tab: %q, want remember", a)
		}
		tb.do(chromedp.KeyEvent("\t"))
		if a := tb.active(); a != "submit" {
			t.Fatalf("after Tab: %q, want submit", a)
		}
		if ring := eval(tb, chromedp.Evaluate[string](`getComputedStyle(document.activeElement).boxShadow`)); ring == "none" || ring == "" {
			t.Fatal("the focused button shows no focus ring")
		}
		tb.do(chromedp.KeyEvent("\t"))
		if a := tb.active(); a != "cancel" {
			t.Fatalf("after Tab: %q, want cancel", a)
		}
		tb.shoot("login-es-keyboard")
		// Back to Sign in (Shift+Tab) and Enter.
		tb.do(chromedp.KeyEvent("\t", chromedp.KeyModifiers(chromedp.ModifierShift)))
		if a := tb.active(); a != "submit" {
			t.Fatalf("after Shift+Tab: %q, want submit", a)
		}
		tb.do(chromedp.KeyEvent("\r"), chromedp.WaitVisible(chromedp.CSS("#result")))
		if r := tb.text("#result"); r != "completed" {
			t.Fatalf("keyboard sign-in to a first-party client: %q", r)
		}
		if f := s.flow(ch); f.State != storage.FlowCompleted {
			t.Fatalf("flow %+v", f)
		}
	})

	t.Run("ErrorPages", func(t *testing.T) {
		tb := bt.tab(t)
		ch := s.createFlow("app", "some other browser's cookie", nil)
		tb.open(flowURL(oidc.LoginPath, ch), "#error-message")
		if msg := tb.text("#error-message"); !strings.Contains(msg, "started in another browser") {
			t.Fatalf("error page: %q", msg)
		}
		tb.expectStatus(http.StatusForbidden)
		tb.shoot("error")
		tb.open("/no/such/page", "#error-title")
		tb.expectStatus(http.StatusNotFound)
		tb.shoot("notfound")
	})

	// The OpenID Connect round trip on the real endpoints: a real
	// authorization request, sign-in, consent, the client's redirect URI
	// (a page of the test's own), the code exchanged by a go-oidc RP, then
	// RP-initiated logout to the signed-out page, after which prompt=none
	// comes back login_required.
	t.Run("OIDCRoundTripAndLogout", func(t *testing.T) {
		const callbackPage = `<!doctype html><html lang="en"><link rel="icon" href="data:,"><title>Example App</title><p id="callback">Back at the app</p></html>`
		s2 := newInteractionServer(t, serverOptions{routes: func(e *echo.Echo) {
			e.GET("/test/callback", func(c echo.Context) error { return c.HTML(http.StatusOK, callbackPage) })
		}})
		u := s2.user("ana@example.com", false)
		o := discover(t, &op{interactionServer: s2, email: u.Email, userID: u.ID})
		c := o.register(t, oidc.ClientSpec{Name: "Example App", RedirectURIs: []string{s2.URL + "/test/callback"}})
		rp := o.goRP(t, c)
		tb := bt.tab(t)
		tb.s = s2
		// back reads the authorization response the browser brought to the app.
		back := func() url.Values {
			t.Helper()
			tb.do(chromedp.WaitVisible(chromedp.CSS("#callback")))
			loc, err := url.Parse(eval(tb, chromedp.Location()))
			if err != nil || loc.Path != "/test/callback" {
				t.Fatalf("the browser is at %v, not the redirect URI (%v)", loc, err)
			}
			if loc.Query().Get("iss") != o.issuer {
				t.Errorf("no iss in %v", loc.Query())
			}
			return loc.Query()
		}

		authURL, state, nonce, verifier := rp.authURL()
		tb.do(chromedp.Navigate(authURL), chromedp.WaitVisible(chromedp.CSS("#login-form")))
		tb.do(chromedp.SendKeys(chromedp.CSS("#email"), o.email), chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
			chromedp.Click(chromedp.CSS("#submit")), chromedp.WaitVisible(chromedp.CSS("#consent-form")))
		if h := tb.text("#consent-title"); h != "Example App wants to access your account" {
			t.Fatalf("consent heading %q", h)
		}
		tb.do(chromedp.Click(chromedp.CSS("#allow")))
		q := back()
		if q.Get("state") != state || q.Get("code") == "" {
			t.Fatalf("authorization response %v", q)
		}
		s := rp.exchange(q.Get("code"), nonce, verifier)
		checkIDToken(t, o, c, s, o.userID)

		logout := o.issuer + pathLogout + "?" + url.Values{"id_token_hint": {s.RawID}, "state": {"st-" + randomID(8)}}.Encode()
		tb.do(chromedp.Navigate(logout), chromedp.WaitVisible(chromedp.CSS("#signedout-title")))
		if msg := tb.text("#signedout-message"); !strings.Contains(msg, "Example App") {
			t.Errorf("signed-out page: %q", msg)
		}
		tb.shoot("signedout")

		again, state2, _, _ := rp.authURL(oauth2.SetAuthURLParam("prompt", "none"))
		tb.do(chromedp.Navigate(again))
		if q := back(); q.Get("error") != "login_required" || q.Get("state") != state2 || q.Has("code") {
			t.Fatalf("prompt=none after logout: %v", q)
		}
	})

	// The collector is not blind: a page that breaks the CSP is reported.
	t.Run("CSPViolationsAreCaught", func(t *testing.T) {
		tb := bt.tab(t)
		tb.open("/test/csp-violation", "#x")
		deadline := time.Now().Add(2 * time.Second)
		var msgs []string
		for time.Now().Before(deadline) && len(msgs) == 0 {
			time.Sleep(20 * time.Millisecond)
			msgs = tb.console.take()
		}
		if !strings.Contains(strings.Join(msgs, "\n"), "CSP violation: script-src") {
			t.Fatalf("an inline script was not reported: %v", msgs)
		}
		if title := eval(tb, chromedp.Title()); title == "ran" {
			t.Fatal("the inline script ran despite the CSP")
		}
	})
	t.Logf("browser tests took %v; screenshots in %s", time.Since(started).Round(time.Millisecond), bt.shots)
}

// An authenticator app in Chromium: set up from the security page (the
// server-drawn QR code shows; the code is computed by pquerna/otp from the
// secret the page shows), backup codes shown once, then a real
// authorization request of a go-oidc RP signs in with the password and a
// code from the app, back at the RP's redirect URI with acr "mfa".
func TestBrowserTOTP(t *testing.T) {
	path := chromiumPath(t)
	const callbackPage = `<!doctype html><html lang="en"><link rel="icon" href="data:,"><title>Example App</title><p id="callback">Back at the app</p></html>`
	s := newInteractionServer(t, serverOptions{routes: func(e *echo.Echo) {
		e.GET("/test/callback", func(c echo.Context) error { return c.HTML(http.StatusOK, callbackPage) })
	}})
	u := s.user("ana@example.com", false)
	o := discover(t, &op{interactionServer: s, email: u.Email, userID: u.ID})
	c := o.register(t, oidc.ClientSpec{Name: "Example App", FirstParty: true, RedirectURIs: []string{s.URL + "/test/callback"}})
	rp := o.goRP(t, c)
	shots := os.Getenv("JANUA_TEST_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	}
	bt := &browserTest{s: s, browser: launchChromium(t, path), shots: shots}
	tb := bt.tab(t)

	// Sign in to the account pages and set the app up.
	tb.open(oidc.LoginPath, "#login-form")
	tb.do(chromedp.SendKeys(chromedp.CSS("#email"), o.email), chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
		chromedp.Click(chromedp.CSS("#submit")), chromedp.WaitVisible(chromedp.CSS("#account-email")))
	tb.open(login.SecurityPath, "#totp-setup")
	tb.do(chromedp.Click(chromedp.CSS("#totp-setup")), chromedp.WaitVisible(chromedp.CSS("#totp-secret")))
	if w := eval(tb, chromedp.Evaluate[int64](`document.getElementById('totp-qr').naturalWidth`)); w != 200 {
		t.Fatalf("the QR code image did not load (natural width %d)", w)
	}
	tb.shoot("totp-enrol")
	app := &authApp{t: t, secret: strings.ReplaceAll(tb.text("#totp-secret"), " ", "")}
	if a := tb.active(); a != "totp-code" {
		t.Errorf("focus on the set-up page: %q, want totp-code", a)
	}
	tb.do(chromedp.SendKeys(chromedp.CSS("#totp-code"), app.next()), chromedp.Click(chromedp.CSS("#totp-confirm")),
		chromedp.WaitVisible(chromedp.CSS("#backup-codes")))
	if n := eval(tb, chromedp.Evaluate[int64](`document.querySelectorAll('#backup-codes li').length`)); n != 10 {
		t.Fatalf("%d backup codes shown", n)
	}
	tb.shoot("totp-backup-codes")
	backup := tb.text("#backup-codes li")
	tb.do(chromedp.Click(chromedp.CSS("#continue")), chromedp.WaitVisible(chromedp.CSS("#totp-status")))
	if st := tb.text("#totp-status"); !strings.HasPrefix(st, "On since") {
		t.Fatalf("security page: %q", st)
	}
	tb.shoot("security-totp")

	// A real authorization request: password, then the app's code.
	authURL, state, nonce, verifier := rp.authURL(oauth2.SetAuthURLParam("prompt", "login"))
	tb.do(chromedp.Navigate(authURL), chromedp.WaitVisible(chromedp.CSS("#login-form")))
	tb.do(chromedp.SendKeys(chromedp.CSS("#email"), o.email), chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
		chromedp.Click(chromedp.CSS("#submit")), chromedp.WaitVisible(chromedp.CSS("#totp-form")))
	if a := tb.active(); a != "totp-code" {
		t.Errorf("focus on the second-factor step: %q, want totp-code", a)
	}
	tb.shoot("factor-totp")
	tb.do(chromedp.SendKeys(chromedp.CSS("#totp-code"), app.next()), chromedp.Click(chromedp.CSS("#totp-submit")),
		chromedp.WaitVisible(chromedp.CSS("#callback")))
	loc, err := url.Parse(eval(tb, chromedp.Location()))
	if err != nil || loc.Path != "/test/callback" || loc.Query().Get("state") != state || loc.Query().Get("code") == "" {
		t.Fatalf("the browser is at %v", loc)
	}
	checkMFA(t, rp.exchange(loc.Query().Get("code"), nonce, verifier))

	// Again with a backup code instead of the app.
	authURL, state, nonce, verifier = rp.authURL(oauth2.SetAuthURLParam("prompt", "login"))
	tb.do(chromedp.Navigate(authURL), chromedp.WaitVisible(chromedp.CSS("#login-form")))
	tb.do(chromedp.SendKeys(chromedp.CSS("#email"), o.email), chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
		chromedp.Click(chromedp.CSS("#submit")), chromedp.WaitVisible(chromedp.CSS("#totp-form")))
	tb.do(chromedp.Click(chromedp.CSS("#backup-summary")), chromedp.WaitVisible(chromedp.CSS("#backup-code")))
	tb.shoot("factor-backup")
	tb.do(chromedp.SendKeys(chromedp.CSS("#backup-code"), backup), chromedp.Click(chromedp.CSS("#backup-submit")),
		chromedp.WaitVisible(chromedp.CSS("#callback")))
	loc, err = url.Parse(eval(tb, chromedp.Location()))
	if err != nil || loc.Path != "/test/callback" || loc.Query().Get("state") != state || loc.Query().Get("code") == "" {
		t.Fatalf("after a backup code the browser is at %v", loc)
	}
	checkMFA(t, rp.exchange(loc.Query().Get("code"), nonce, verifier))
}

// launchChromium starts a headless Chromium for one test.
func launchChromium(t *testing.T, path string) context.Context {
	t.Helper()
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-features", "Translate,OptimizationHints,MediaRouter"),
		chromedp.Flag("hide-scrollbars", true), chromedp.WindowSize(1280, 900))
	t.Cleanup(cancelAlloc)
	browser, cancelBrowser := chromedp.NewContext(alloc)
	t.Cleanup(cancelBrowser)
	if err := chromedp.Do(browser); err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	return browser
}

// Sign-in by email in Chromium, from a real authorization request: the
// sign-in page's "Email me a sign-in link" with the address typed, the
// message delivered to a real SMTP server, its link opened in the same
// browser (the flow completes with amr ["otp"]) and in another one (a
// confirmation page, and nothing signed in).
func TestBrowserMagicLink(t *testing.T) {
	path := chromiumPath(t)
	mc := newMailCatcher(t)
	s := newInteractionServer(t, serverOptions{config: mc.configure, routes: func(e *echo.Echo) { e.GET(browserCallback, callbackResult) }})
	if err := s.store.CreateClient(context.Background(), &storage.Client{ID: "app", Name: "Example App", Public: true,
		TokenEndpointAuthMethod: "none", RedirectURIs: []string{s.URL + browserCallback}, GrantTypes: []string{"authorization_code"},
		ResponseTypes: []string{"code"}, Scopes: []string{"openid", "email"}}); err != nil {
		t.Fatal(err)
	}
	s.user("ana@example.com", false)
	shots := os.Getenv("JANUA_TEST_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	}
	bt := &browserTest{s: s, browser: launchChromium(t, path), shots: shots}

	tb := bt.tab(t)
	ch := tb.startFlow("app", url.Values{"scope": {"openid email"}})
	tb.do(chromedp.SendKeys(chromedp.CSS("#email"), "ana@example.com"), chromedp.Click(chromedp.CSS("#email-link")),
		chromedp.WaitVisible(chromedp.CSS("#email-code-form")))
	if a := tb.active(); a != "code" {
		t.Errorf("focus on the check-your-email page: %q, want code", a)
	}
	tb.shoot("email-sent")
	link := mc.next(t, "ana@example.com", kindMagicLink).link(t)

	// Another browser: a question, not a sign-in.
	other := bt.tab(t)
	other.do(chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS("#email-confirm-form")))
	if e := other.text("#confirm-email"); e != "ana@example.com" {
		t.Fatalf("confirmation page names %q", e)
	}
	other.shoot("email-confirm")
	if f := s.flow(ch); f.State != storage.FlowCreated {
		t.Fatalf("the flow moved on in another browser: %s", f.State)
	}

	// The same browser: the flow goes on to consent and back to the app.
	tb.do(chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS("#consent-form")))
	tb.do(chromedp.Click(chromedp.CSS("#allow")), chromedp.WaitVisible(chromedp.CSS("#result")))
	if r := tb.text("#result"); r != "completed" {
		t.Fatalf("after the link: %q", r)
	}
	f, err := s.store.GetFlow(context.Background(), storage.FlowID(ch))
	if err != nil || f.State != storage.FlowCompleted || len(f.AMR) != 1 || f.AMR[0] != "otp" || f.ACR != "1" {
		t.Fatalf("flow %+v %v, want completed with amr [otp] and acr 1", f, err)
	}
	// The confirmation in the other browser now fails: the link is spent.
	other.do(chromedp.Click(chromedp.CSS("#confirm")), chromedp.WaitVisible(chromedp.CSS("#error-message")))
	other.expectStatus(http.StatusBadRequest)
	if msg := other.text("#error-message"); !strings.Contains(msg, "already used") {
		t.Fatalf("spent link: %q", msg)
	}

	// The code of the message, typed into the tab that asked for it.
	tb.open(login.AccountPath, "#signout-form")
	tb.do(chromedp.Click(chromedp.CSS("#signout")), chromedp.WaitVisible(chromedp.CSS("#login-form")))
	ch = tb.startFlow("app", url.Values{"scope": {"openid email"}})
	tb.do(chromedp.SendKeys(chromedp.CSS("#email"), "ana@example.com"), chromedp.Click(chromedp.CSS("#email-link")),
		chromedp.WaitVisible(chromedp.CSS("#email-code-form")))
	code := mc.next(t, "ana@example.com", kindMagicLink).code(t)
	tb.do(chromedp.SendKeys(chromedp.CSS("#code"), code), chromedp.Click(chromedp.CSS("#submit")),
		chromedp.WaitVisible(chromedp.CSS("#result")))
	if r := tb.text("#result"); r != "completed" {
		t.Fatalf("after the code: %q", r)
	}
	if f, err := s.store.GetFlow(context.Background(), storage.FlowID(ch)); err != nil || f.State != storage.FlowCompleted ||
		len(f.AMR) != 1 || f.AMR[0] != "otp" {
		t.Fatalf("flow after the code %+v %v", f, err)
	}
}
