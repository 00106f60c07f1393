package main

import (
	"context"
	"database/sql"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	"golang.org/x/oauth2"

	"github.com/madfam-org/janua/login"
	"github.com/madfam-org/janua/storage"
)

// The harness of the second-factor tests: authApp is the user's
// authenticator app (pquerna/otp computing codes from the secret the
// enrolment page shows), and mfa answers Janua's second-factor pages as a
// user with that app (or a backup code) would, on top of the agent.

// authApp is an authenticator app holding one account.
type authApp struct {
	t      *testing.T
	secret string // base32, as the enrolment page shows it (spaces removed)
	last   int64  // the last time step it gave a code for
	code   string // that code
}

// totpCode is the code of secret for time step step (RFC 6238: SHA-1,
// six digits, 30 seconds), computed by pquerna/otp.
func totpCode(t *testing.T, secret string, step int64) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(secret, time.Unix(step*30, 0), totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// next returns a code Janua accepts now: of the earliest step after the
// last one used, within one step of the current one. Janua accepts each
// step once, so at most three codes are available at any moment; when
// they are spent it waits for the next step. The previous step is used
// only with more than five seconds of the current one left, so that it is
// still in Janua's window when the code arrives.
func (a *authApp) next() string {
	a.t.Helper()
	for {
		now := time.Now()
		cur := now.Unix() / 30
		lo := cur - 1
		if now.Unix()%30 >= 25 {
			lo = cur
		}
		if s := max(a.last+1, lo); s <= cur+1 {
			a.last, a.code = s, totpCode(a.t, a.secret, s)
			return a.code
		}
		time.Sleep(time.Until(time.Unix((cur+1)*30, 0)) + 50*time.Millisecond)
	}
}

// wrong returns a six-digit code that no step Janua could accept now has.
func (a *authApp) wrong() string {
	a.t.Helper()
	cur := time.Now().Unix() / 30
	var window []string
	for s := cur - 2; s <= cur+2; s++ {
		window = append(window, totpCode(a.t, a.secret, s))
	}
	for n := 0; ; n++ {
		c := strings.Repeat(string(rune('0'+n%10)), 6)
		if !slices.Contains(window, c) {
			return c
		}
	}
}

// mfa answers the second-factor pages of a navigation.
type mfa struct {
	app *authApp
	// backup, when set, answers the second-factor step instead of the app.
	backup string
	// codes are the backup codes a page showed last.
	codes []string
	// shown lists the second-factor pages acted on: "totp", "backup",
	// "totp-enrol", "totp-confirm", "backup-codes", "backup-low".
	shown []string
}

func newMFA(t *testing.T) *mfa { return &mfa{app: &authApp{t: t}} }

var (
	secretOnPage = regexp.MustCompile(`id="totp-secret">([A-Z2-7 ]+)<`)
	codesOnPage  = regexp.MustCompile(`<li><code>([0-9a-z]{5}-[0-9a-z]{5})</code></li>`)
	continueLink = regexp.MustCompile(`id="continue" href="([^"]+)"`)
)

// readSecret takes the secret of an enrolment page into the app.
func (m *mfa) readSecret(t *testing.T, page string) {
	t.Helper()
	s := secretOnPage.FindStringSubmatch(page)
	if s == nil {
		t.Fatalf("no secret on the enrolment page:\n%s", page)
	}
	m.app.secret, m.app.last = strings.ReplaceAll(s[1], " ", ""), 0
}

// readCodes keeps the backup codes a page shows.
func (m *mfa) readCodes(page string) {
	m.codes = nil
	for _, c := range codesOnPage.FindAllStringSubmatch(page, -1) {
		m.codes = append(m.codes, c[1])
	}
}

// run goes on from resp, a navigation stopped at a page, answering the
// second-factor pages until it reaches redirect (or, with redirect "", a
// page it has nothing to answer on).
func (m *mfa) run(a *agent, resp *authResponse, redirect string) *authResponse {
	a.t.Helper()
	base, _ := url.Parse(a.o.issuer + "/")
	for step := 0; step < 10 && resp.Mode == ""; step++ {
		page := resp.Page
		var (
			method = http.MethodPost
			target string
			form   url.Values
			what   string
		)
		if action, fields, ok := pageForm(page, "totp-confirm-form"); ok {
			m.readSecret(a.t, page)
			fields.Set("code", m.app.next())
			target, form, what = action, fields, "totp-confirm"
		} else if action, fields, ok := pageForm(page, "totp-enrol-form"); ok {
			target, form, what = action, fields, "totp-enrol"
		} else if action, fields, ok := pageForm(page, "backup-form"); ok && m.backup != "" {
			fields.Set("code", m.backup)
			target, form, what = action, fields, "backup"
		} else if action, fields, ok := pageForm(page, "totp-form"); ok {
			fields.Set("code", m.app.next())
			target, form, what = action, fields, "totp"
		} else if l := continueLink.FindStringSubmatch(page); l != nil {
			what = "backup-low"
			if strings.Contains(page, `id="backup-codes"`) {
				m.readCodes(page)
				what = "backup-codes"
			}
			method, target = http.MethodGet, html.UnescapeString(l[1])
		} else {
			break
		}
		m.shown = append(m.shown, what)
		next := a.navigate(method, resolve(base, target), form, redirect)
		next.Shown = append(append(append([]string(nil), resp.Shown...), what), next.Shown...)
		resp = next
	}
	return resp
}

// authorize is agent.authorize answering the second-factor pages too.
func (m *mfa) authorize(a *agent, rawURL, redirect string) *authResponse {
	a.t.Helper()
	return a.checkIss(m.run(a, a.authorize(rawURL, redirect), redirect))
}

// login is goRP.login for a user with a second factor.
func (m *mfa) login(rp *goRP, a *agent, opts ...oauth2.AuthCodeOption) *signIn {
	rp.t.Helper()
	m.shown = nil
	u, state, nonce, verifier := rp.authURL(opts...)
	resp := m.authorize(a, u, rp.c.Redirect)
	if resp.Mode == "" || resp.Get("code") == "" || resp.Get("state") != state {
		rp.t.Fatalf("no code: mode %q params %v status %d, second-factor pages %v, page:\n%.1500s", resp.Mode, resp.Params, resp.Status, m.shown, resp.Page)
	}
	s := rp.exchange(resp.Get("code"), nonce, verifier)
	s.Response = resp
	return s
}

// stopAt starts an authorization request and returns the page the
// navigation stopped at (the second-factor step), with its URL.
func stopAt(t *testing.T, rp *goRP, a *agent, opts ...oauth2.AuthCodeOption) *authResponse {
	t.Helper()
	u, _, _, _ := rp.authURL(opts...)
	resp := a.authorize(u, rp.c.Redirect)
	if resp.Mode != "" || resp.Status != http.StatusOK {
		t.Fatalf("the navigation did not stop at a page: mode %q status %d %v", resp.Mode, resp.Status, resp.Params)
	}
	return resp
}

// postForm submits the form id of the page resp stopped at, with values
// set, and returns where the browser ended up (following redirects up to
// the RP's redirect URI).
func postForm(t *testing.T, a *agent, resp *authResponse, id string, values url.Values, redirect string) *authResponse {
	t.Helper()
	action, fields, ok := pageForm(resp.Page, id)
	if !ok {
		t.Fatalf("no form %q on the page:\n%.1500s", id, resp.Page)
	}
	for k, v := range values {
		fields[k] = v
	}
	base, _ := url.Parse(a.o.issuer + "/")
	return a.navigate(http.MethodPost, resolve(base, action), fields, redirect)
}

// checkMFA asserts an ID token of a sign-in with a password and a one-time
// code: acr "mfa" and amr pwd, otp, mfa (RFC 8176).
func checkMFA(t *testing.T, s *signIn) {
	t.Helper()
	if s.Claims["acr"] != login.ACRMFA {
		t.Errorf("acr %v, want mfa", s.Claims["acr"])
	}
	amr, _ := s.Claims["amr"].([]any)
	if !slices.Equal(amr, []any{"pwd", "otp", "mfa"}) {
		t.Errorf("amr %v, want [pwd otp mfa]", s.Claims["amr"])
	}
}

// checkPasswordOnly asserts an ID token of a password sign-in.
func checkPasswordOnly(t *testing.T, s *signIn) {
	t.Helper()
	amr, _ := s.Claims["amr"].([]any)
	if s.Claims["acr"] != login.ACRPassword || !slices.Equal(amr, []any{"pwd"}) {
		t.Errorf("acr %v amr %v, want 1 and [pwd]", s.Claims["acr"], s.Claims["amr"])
	}
}

// enrolTOTP sets up the authenticator app from the security page of a
// browser signed in recently and returns the page it lands on.
func (m *mfa) enrolTOTP(t *testing.T, a *agent) *authResponse {
	t.Helper()
	if res := a.get(login.SecurityPath); res.StatusCode != http.StatusOK {
		t.Fatalf("security page: %d", res.StatusCode)
	}
	resp := postForm(t, a, &authResponse{Page: a.page}, "totp-setup-form", nil, "")
	m.shown = nil
	resp = m.run(a, resp, "")
	if !slices.Equal(m.shown, []string{"totp-confirm", "backup-codes"}) || len(m.codes) != 10 {
		t.Fatalf("enrolment went through %v with %d backup codes:\n%.1500s", m.shown, len(m.codes), resp.Page)
	}
	return resp
}

// ageSessions moves every sign-in of userID back by d, as if it had
// happened that long ago (sensitive changes need a recent one).
func ageSessions(t *testing.T, o *op, userID string, d time.Duration) {
	t.Helper()
	u, err := storage.ParseDatabaseURL(o.cfg.Database.URL)
	if err != nil {
		t.Fatal(err)
	}
	driver := "pgx"
	if u.Dialect == storage.SQLite {
		driver = "sqlite"
	}
	db, err := sql.Open(driver, u.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	q := "UPDATE browser_sessions SET auth_time = ? WHERE user_id = ?"
	if _, err := db.ExecContext(context.Background(), u.Dialect.Rebind(q), time.Now().Add(-d).UTC(), userID); err != nil {
		t.Fatal(err)
	}
}

// auditDetail returns the newest audit event of typ whose details.key is
// value, or nil.
func auditDetail(o *op, typ, key string, value any) *storage.AuditEvent {
	for _, e := range o.audit(typ) {
		if e.Details[key] == value {
			return &e
		}
	}
	return nil
}
