package main

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/madfam-org/janua/login"
)

var (
	otherSID   = regexp.MustCompile(`<li data-sid="([^"]+)">`)
	currentSID = regexp.MustCompile(`<li data-sid="([^"]+)" data-current="true">`)
)

// signedIn is a browser signed in as email without a flow.
func (s *interactionServer) signedIn(email string) *browser {
	s.t.Helper()
	b := s.browser()
	b.get(login.SignupPath) // any page with a form, for the CSRF token
	b.get("/login")
	if res := b.signIn("", email, testPassword, false); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != login.AccountPath {
		s.t.Fatalf("sign-in: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	return b
}

// The security page lists the user's signed-in browsers, marks this one,
// and signs out another one or all the others — never another user's.
func TestSecurityPageSessions(t *testing.T) {
	s := newInteractionServer(t, serverOptions{})
	s.user("ana@example.com", false)
	s.user("bob@example.com", false)

	anon := s.browser()
	if res := anon.get(login.SecurityPath); res.StatusCode != http.StatusSeeOther ||
		res.Header.Get("Location") != "/login?return=%2Faccount%2Fsecurity" {
		t.Fatalf("signed out: %d %q", res.StatusCode, res.Header.Get("Location"))
	}

	b1, b2, b3 := s.signedIn("ana@example.com"), s.signedIn("ana@example.com"), s.signedIn("ana@example.com")
	bob := s.signedIn("bob@example.com")
	if res := b1.get(login.SecurityPath); res.StatusCode != http.StatusOK {
		t.Fatalf("security page: %d", res.StatusCode)
	}
	if n := len(otherSID.FindAllString(b1.page, -1)); n != 2 || len(currentSID.FindAllString(b1.page, -1)) != 1 {
		t.Fatalf("want 2 other sessions and this one, got %d others:\n%s", n, b1.page)
	}
	bob.get(login.SecurityPath)
	bobSID := currentSID.FindStringSubmatch(bob.page)[1]
	b2.get(login.SecurityPath)
	b2SID := currentSID.FindStringSubmatch(b2.page)[1]

	// Another user's session cannot be ended from here.
	b1.get(login.SecurityPath)
	b1.submit(login.SecurityPath+"/sessions", url.Values{"action": {"revoke"}, "sid": {bobSID}})
	if res := bob.get(login.AccountPath); res.StatusCode != http.StatusOK {
		t.Fatalf("bob was signed out by ana: %d", res.StatusCode)
	}
	// One other browser.
	b1.get(login.SecurityPath)
	res := b1.submit(login.SecurityPath+"/sessions", url.Values{"action": {"revoke"}, "sid": {b2SID}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != login.SecurityPath+"?done=sessions_ended" {
		t.Fatalf("revoke: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	if res := b2.get(login.AccountPath); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("the revoked browser is still signed in: %d", res.StatusCode)
	}
	if res := b3.get(login.AccountPath); res.StatusCode != http.StatusOK {
		t.Fatalf("an unrelated browser was signed out: %d", res.StatusCode)
	}
	b1.get(login.SecurityPath + "?done=sessions_ended")
	if !strings.Contains(b1.page, `id="notice"`) {
		t.Error("no notice after ending a session")
	}
	// Every other browser; this one stays.
	b1.submit(login.SecurityPath+"/sessions", url.Values{"action": {"revoke_others"}})
	if res := b3.get(login.AccountPath); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("revoke_others left a browser signed in: %d", res.StatusCode)
	}
	if res := b1.get(login.SecurityPath); res.StatusCode != http.StatusOK || len(otherSID.FindAllString(b1.page, -1)) != 0 {
		t.Fatalf("after revoke_others: %d\n%s", res.StatusCode, b1.page)
	}
	if len(s.audit("session.revoked")) != 3 {
		t.Errorf("audit: %d session.revoked events", len(s.audit("session.revoked")))
	}
	// A made-up action is a 400, never a 500.
	b1.get(login.AccountPath) // a page with a form
	if res := b1.submit(login.SecurityPath+"/sessions", url.Values{"action": {"explode"}}); res.StatusCode != http.StatusBadRequest {
		t.Errorf("unknown action: %d", res.StatusCode)
	}
}

// Once the sign-in is older than login.reauth_window the page asks the
// user to confirm who they are; doing so re-runs the sign-in and returns
// to the security page, and a return parameter naming anything else is
// ignored (no open redirect).
//
// A session's auth_time is kept in whole seconds (ID tokens carry it so),
// so a sign-in looks up to a second older than it is: the window is 3 s,
// leaving a slow (-race, busy CI) sign-in two seconds to reach the page.
func TestReauthentication(t *testing.T) {
	const window = 3 * time.Second
	s := newInteractionServer(t, serverOptions{config: func(c *Config) { c.Login.ReauthWindow = window }})
	s.user("ana@example.com", false)
	b := s.signedIn("ana@example.com")
	b.get(login.SecurityPath)
	if strings.Contains(b.page, `id="reauth-link"`) {
		t.Fatal("a fresh sign-in was asked to re-authenticate")
	}
	time.Sleep(window + 100*time.Millisecond)
	b.get(login.SecurityPath)
	if !strings.Contains(b.page, `id="reauth-link" href="/login?return=%2Faccount%2Fsecurity"`) {
		t.Fatalf("no re-authentication link on a stale sign-in:\n%s", b.page)
	}
	b.get("/login?return=%2Faccount%2Fsecurity")
	if !strings.Contains(b.page, `id="reauth"`) || !strings.Contains(b.page, `value="ana@example.com"`) {
		t.Fatalf("re-authentication page:\n%s", b.page)
	}
	res := b.submit("/login?return=%2Faccount%2Fsecurity", url.Values{"email": {"ana@example.com"}, "password": {testPassword}, "action": {"login"}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != login.SecurityPath {
		t.Fatalf("after re-authentication: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	b.get(login.SecurityPath)
	if strings.Contains(b.page, `id="reauth-link"`) {
		t.Fatal("still asked to re-authenticate after doing so")
	}
	for _, evil := range []string{"https://evil.example/", "//evil.example/", "/oauth2/auth"} {
		b.get("/login?return=" + url.QueryEscape(evil))
		res := b.submit("/login?return="+url.QueryEscape(evil), url.Values{"email": {"ana@example.com"}, "password": {testPassword}, "action": {"login"}})
		if loc := res.Header.Get("Location"); loc != login.AccountPath {
			t.Errorf("return=%s went to %q", evil, loc)
		}
	}
}
