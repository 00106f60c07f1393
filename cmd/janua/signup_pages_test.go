package main

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/madfam-org/janua/login"
	"github.com/madfam-org/janua/oidc"
	"github.com/madfam-org/janua/storage"
	"github.com/madfam-org/janua/storage/storagetest"
)

func TestSignUpContinuesTheFlow(t *testing.T) {
	for _, b := range storagetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			s := newInteractionServer(t, serverOptions{backend: b})
			s.client("app", "Example App", false)
			br := s.browser()
			ch := br.startFlow("app", url.Values{"login_hint": {"new@example.com"}})
			if !strings.Contains(br.page, `id="signup-link" href="/signup?flow=`+url.QueryEscape(ch)+`"`) {
				t.Fatalf("no sign-up link carrying the flow:\n%s", br.page)
			}
			if res := br.get(flowURL(login.SignupPath, ch)); res.StatusCode != 200 || !strings.Contains(br.page, `value="new@example.com"`) ||
				!strings.Contains(br.page, `minlength="12"`) || !strings.Contains(br.page, "At least 12 characters") {
				t.Fatalf("sign-up page: %d\n%s", res.StatusCode, br.page)
			}
			res := br.submit(flowURL(login.SignupPath, ch), url.Values{"name": {"Ana Pérez"}, "email": {"new@example.com"}, "password": {testPassword}})
			if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != flowURL(oidc.ResumePath, ch) {
				t.Fatalf("sign-up: %d %q\n%s", res.StatusCode, res.Header.Get("Location"), br.page)
			}
			u, err := s.store.GetUserByEmail(ctx, "new@example.com")
			if err != nil || u.Claims["name"] != "Ana Pérez" || u.EmailVerified {
				t.Fatalf("user %+v %v", u, err)
			}
			f := s.flow(ch)
			ck := sessionCookie(res)
			if f.State != storage.FlowAuthenticated || f.Subject != u.ID || f.ACR != login.ACRPassword || ck == nil {
				t.Fatalf("flow %+v, cookie %+v", f, ck)
			}
			if bs, err := s.store.GetBrowserSession(ctx, hashHex(ck.Value)); err != nil || bs.SID != f.SessionID {
				t.Fatalf("session %+v %v", bs, err)
			}
			if len(s.audit("signup.succeeded")) != 1 || len(s.audit("user.created")) != 1 {
				t.Fatal("sign-up not audited")
			}
			// The new account signs in like any other.
			br2 := s.browser()
			ch2 := br2.startFlow("app", nil)
			if res := br2.signIn(ch2, "new@example.com", testPassword, false); res.StatusCode != http.StatusSeeOther {
				t.Fatalf("sign-in after sign-up: %d", res.StatusCode)
			}
		})
	}
}

// The password policy (NIST SP 800-63B §3.1.1.2) and the other refusals,
// each a 400 naming the field; a taken email gets a generic answer.
func TestSignUpRefusals(t *testing.T) {
	s := newInteractionServer(t, serverOptions{})
	s.client("app", "Example App", false)
	s.user("taken@example.com", false)
	br := s.browser()
	ch := br.startFlow("app", nil)
	for _, tc := range []struct {
		name, field, message string
		form                 url.Values
	}{
		{"short", "password", "at least 12 characters", url.Values{"email": {"a@example.com"}, "password": {"short pass"}}},
		{"common", "password", "too common", url.Values{"email": {"a@example.com"}, "password": {"qwerty123456"}}},
		{"common, other case", "password", "too common", url.Values{"email": {"a@example.com"}, "password": {"QWERTY123456"}}},
		{"the email itself", "password", "too common", url.Values{"email": {"long.address@example.com"}, "password": {"long.address@example.com"}}},
		{"too long", "password", "too long", url.Values{"email": {"a@example.com"}, "password": {strings.Repeat("p", 1025)}}},
		{"not utf-8", "password", "not allowed", url.Values{"email": {"a@example.com"}, "password": {"\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8\xf7\xf6\xf5\xf4"}}},
		{"no email", "email", "valid email", url.Values{"password": {testPassword}}},
		{"bad email", "email", "valid email", url.Values{"email": {"not an email@"}, "password": {testPassword}}},
		{"name too long", "name", "too long", url.Values{"name": {strings.Repeat("n", 201)}, "email": {"a@example.com"}, "password": {testPassword}}},
		{"taken", "email", "could not create an account with that email", url.Values{"email": {"Taken@Example.com"}, "password": {testPassword}}},
	} {
		res := br.submit(flowURL(login.SignupPath, ch), tc.form)
		if res.StatusCode != http.StatusBadRequest || !strings.Contains(br.page, tc.message) ||
			!strings.Contains(br.page, `id="`+tc.field+`"`) || !strings.Contains(br.page, `aria-invalid="true"`) || sessionCookie(res) != nil {
			t.Errorf("%s: %d\n%s", tc.name, res.StatusCode, br.page)
		}
	}
	if f := s.flow(ch); f.State != storage.FlowCreated {
		t.Fatalf("a refused sign-up advanced the flow: %+v", f)
	}
	if ev := s.audit("signup.failed"); len(ev) != 1 || ev[0].Details["reason"] != "email_taken" {
		t.Fatalf("taken email not audited: %+v", ev)
	}
	// Without a CSRF token: 403.
	if res := br.do(http.MethodPost, flowURL(login.SignupPath, ch), url.Values{"email": {"b@example.com"}, "password": {testPassword}}); res.StatusCode != http.StatusForbidden {
		t.Fatalf("sign-up without a token: %d", res.StatusCode)
	}
}

func TestSignUpCanBeTurnedOff(t *testing.T) {
	s := newInteractionServer(t, serverOptions{config: func(c *Config) { c.Signup.Enabled = false }})
	br := s.browser()
	br.get(oidc.LoginPath)
	if strings.Contains(br.page, "signup-link") {
		t.Fatal("sign-in page links a disabled sign-up")
	}
	token := br.csrf()
	if res := br.get(login.SignupPath); res.StatusCode != http.StatusNotFound {
		t.Fatalf("GET /signup: %d", res.StatusCode)
	}
	if res := br.do(http.MethodPost, login.SignupPath, url.Values{"csrf_token": {token}, "email": {"a@example.com"}, "password": {testPassword}}); res.StatusCode != http.StatusNotFound {
		t.Fatalf("POST /signup: %d", res.StatusCode)
	}
}

// Without a flow: sign in, land on /account, sign out (a recorded logout).
func TestAccountAndSignOut(t *testing.T) {
	ctx := context.Background()
	s := newInteractionServer(t, serverOptions{})
	u := s.user("ana@example.com", false)
	br := s.browser()
	if res := br.get(login.AccountPath); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != oidc.LoginPath {
		t.Fatalf("account without a session: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	br.get(oidc.LoginPath)
	if strings.Contains(br.page, `id="cancel"`) {
		t.Fatal("a sign-in without a flow offers Cancel")
	}
	res := br.signIn("", "ana@example.com", testPassword, false)
	ck := sessionCookie(res)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != login.AccountPath || ck == nil {
		t.Fatalf("sign-in: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	if res := br.get(login.AccountPath); res.StatusCode != 200 || !strings.Contains(br.page, `id="account-email">ana@example.com<`) {
		t.Fatalf("account: %d\n%s", res.StatusCode, br.page)
	}
	res = br.submit(login.SignOutPath, nil)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != oidc.LoginPath {
		t.Fatalf("sign out: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	if c := sessionCookie(res); c == nil || c.MaxAge >= 0 {
		t.Fatalf("sign out did not clear the cookie: %+v", c)
	}
	if _, err := s.store.GetBrowserSession(ctx, hashHex(ck.Value)); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("session still live after sign-out: %v", err)
	}
	if ev := s.audit("session.ended"); len(ev) != 1 || ev[0].Subject != u.ID {
		t.Fatalf("logout not audited: %+v", ev)
	}
	if res := br.get(login.AccountPath); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("account after sign-out: %d", res.StatusCode)
	}
}
