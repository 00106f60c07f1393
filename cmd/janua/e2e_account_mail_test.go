package main

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/madfam-org/janua/login"
	"github.com/madfam-org/janua/oidc"
)

// Email verification, password reset, password change and the new sign-in
// alert, end to end with the mail delivered to a real SMTP server.

// requestRef is the request ID every page shows.
var requestRef = regexp.MustCompile(`Reference: [0-9a-f]+`)

// passwordSignIn signs in on the sign-in page without a flow.
func (b *browser) passwordSignIn(email, password string) *http.Response {
	b.t.Helper()
	b.get(oidc.LoginPath)
	return b.submit(oidc.LoginPath, url.Values{"email": {email}, "password": {password}, "action": {"login"}})
}

func TestEmailVerificationEndToEnd(t *testing.T) {
	eachMailBackend(t, nil, func(t *testing.T, o *op, mc *mailCatcher) {
		ctx := context.Background()
		c := o.register(t, oidc.ClientSpec{})
		rp := o.goRP(t, c, "openid", "email")
		// email_verified as userinfo tells a relying party after a sign-in.
		emailVerified := func(a *agent) any {
			t.Helper()
			s := rp.login(a)
			status, ui := o.userinfo(t, s.Token.AccessToken)
			if status != http.StatusOK || ui["email"] != a.email {
				t.Fatalf("userinfo %d %v", status, ui)
			}
			return ui["email_verified"]
		}

		t.Run("SignUpMailsALink", func(t *testing.T) {
			b := o.browser()
			b.get(login.SignupPath)
			res := b.submit(login.SignupPath, url.Values{"name": {"Nova"}, "email": {"nova@example.com"}, "password": {testPassword}})
			wantStatus(t, res, http.StatusSeeOther, b.page)
			m := mc.next(t, "nova@example.com", kindVerifyEmail)
			link := m.link(t)
			if !strings.HasPrefix(link, o.issuer+login.VerifyEmailPath+"?token=") || !strings.Contains(m.Text, "Nova") {
				t.Fatalf("verification message %q:\n%s", m.Subject, m.Text)
			}
			a := o.agent()
			a.email = "nova@example.com"
			if v := emailVerified(a); v != false {
				t.Fatalf("email_verified before the link: %v", v)
			}
			// Any browser may open it (a mail app's own, say).
			other := o.browser()
			wantStatus(t, other.get(link), http.StatusOK, other.page)
			if !strings.Contains(other.page, `id="verified-title"`) {
				t.Fatalf("verified page:\n%s", other.page)
			}
			u, _ := o.store.GetUserByEmail(ctx, "nova@example.com")
			if !u.EmailVerified || len(o.audit("user.email_verified")) != 1 {
				t.Fatalf("after the link: verified %v", u.EmailVerified)
			}
			wantStatus(t, other.get(link), http.StatusBadRequest, other.page)
			if v := emailVerified(a); v != true {
				t.Fatalf("email_verified after the link: %v", v)
			}
		})

		t.Run("ResendFromTheAccountPage", func(t *testing.T) {
			b := o.browser()
			wantStatus(t, b.passwordSignIn(o.email, testPassword), http.StatusSeeOther, b.page)
			b.get(login.AccountPath)
			if !strings.Contains(b.page, `id="verify-form"`) {
				t.Fatalf("account page of an unverified address:\n%s", b.page)
			}
			res := b.submit("/account/verify/send", nil)
			wantStatus(t, res, http.StatusSeeOther, b.page)
			b.get(res.Header.Get("Location"))
			if !strings.Contains(b.page, "verification link") {
				t.Fatalf("no notice after resending:\n%s", b.page)
			}
			wantStatus(t, b.get(mc.next(t, o.email, kindVerifyEmail).link(t)), http.StatusOK, b.page)
			b.get(login.AccountPath)
			if !strings.Contains(b.page, `id="email-verified"`) || strings.Contains(b.page, `id="verify-form"`) {
				t.Fatalf("account page after verification:\n%s", b.page)
			}
		})
	})
}

func TestPasswordResetEndToEnd(t *testing.T) {
	const newPassword = "a brand new passphrase 42"
	eachMailBackend(t, nil, func(t *testing.T, o *op, mc *mailCatcher) {
		c := o.register(t, oidc.ClientSpec{})
		rp := o.goRP(t, c, "openid", "offline_access")
		signedIn := o.agent()
		s := rp.login(signedIn)
		if s.Token.RefreshToken == "" {
			t.Fatal("no refresh token")
		}

		a := o.browser()
		a.get(oidc.LoginPath)
		if !strings.Contains(a.page, `href="`+login.ResetPath+`"`) {
			t.Fatalf("the sign-in page does not offer a reset:\n%s", a.page)
		}
		ask := func(email string) string {
			a.get(login.ResetPath)
			wantStatus(t, a.submit(login.ResetPath, url.Values{"email": {email}}), http.StatusOK, a.page)
			return requestRef.ReplaceAllString(strings.ReplaceAll(a.page, email, "EMAIL"), "")
		}
		if known, unknown := ask(o.email), ask("nobody@example.com"); known != unknown || !strings.Contains(known, `id="reset-sent"`) {
			t.Fatalf("the answers differ for a known and an unknown address:\n%s\n---\n%s", known, unknown)
		}
		m := mc.next(t, o.email, kindPasswordReset)
		link := m.link(t)
		if !strings.HasPrefix(link, o.issuer+login.ResetPasswordPath+"?token=") {
			t.Fatalf("reset link %s", link)
		}
		// Opening it changes nothing (mail scanners open links too).
		for range 2 {
			wantStatus(t, a.get(link), http.StatusOK, a.page)
		}
		set := func(password string) *http.Response {
			_, fields, ok := pageForm(a.page, "reset-password-form")
			if !ok {
				t.Fatalf("no reset form:\n%s", a.page)
			}
			fields.Set("password", password)
			return a.do(http.MethodPost, login.ResetPasswordPath, fields)
		}
		wantStatus(t, set("short"), http.StatusBadRequest, a.page)
		res := set(newPassword)
		wantStatus(t, res, http.StatusSeeOther, a.page)
		if loc := res.Header.Get("Location"); loc != oidc.LoginPath+"?done=password_reset" || sessionCookie(res) != nil && sessionCookie(res).Value != "" {
			t.Fatalf("after the reset: to %q, cookie %v", loc, sessionCookie(res))
		}
		a.get(res.Header.Get("Location"))
		if !strings.Contains(a.page, `id="notice"`) {
			t.Fatalf("sign-in page after the reset:\n%s", a.page)
		}
		// Every session of the user ended, and their refresh token.
		if res := signedIn.get(login.AccountPath); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("the other browser's session survived the reset: %d", res.StatusCode)
		}
		if _, err := rp.cfg.TokenSource(o.ctx, &oauth2.Token{RefreshToken: s.Token.RefreshToken}).Token(); err == nil ||
			oauthError(t, err).Code != "invalid_grant" {
			t.Fatalf("the refresh token survived the reset: %v", err)
		}
		changed := mc.next(t, o.email, kindPasswordChanged)
		if !strings.Contains(changed.Text, "127.0.0.1") {
			t.Errorf("password-changed message without the IP:\n%s", changed.Text)
		}
		// The old password fails, the new one works; the link is spent.
		fresh := o.browser()
		wantStatus(t, fresh.passwordSignIn(o.email, testPassword), http.StatusBadRequest, fresh.page)
		wantStatus(t, fresh.passwordSignIn(o.email, newPassword), http.StatusSeeOther, fresh.page)
		wantStatus(t, a.get(link), http.StatusBadRequest, a.page)
		if evs := o.audit("password.reset"); len(evs) != 1 || evs[0].Details["sessions_ended"] != float64(1) {
			t.Fatalf("audit %+v", evs)
		}
	})
}

func TestChangePasswordEndToEnd(t *testing.T) {
	const first, second = "the first new passphrase", "the second new passphrase"
	eachMailBackend(t, nil, func(t *testing.T, o *op, mc *mailCatcher) {
		anon := o.browser()
		if res := anon.get(login.PasswordPath); res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), oidc.LoginPath) {
			t.Fatalf("the password page without a session: %d %q", res.StatusCode, res.Header.Get("Location"))
		}
		b, other := o.browser(), o.browser()
		wantStatus(t, b.passwordSignIn(o.email, testPassword), http.StatusSeeOther, b.page)
		wantStatus(t, other.passwordSignIn(o.email, testPassword), http.StatusSeeOther, other.page)
		b.get(login.SecurityPath)
		if !strings.Contains(b.page, `id="change-password-link"`) {
			t.Fatalf("security page:\n%s", b.page)
		}
		// Just signed in: the current password is not asked.
		wantStatus(t, b.get(login.PasswordPath), http.StatusOK, b.page)
		if strings.Contains(b.page, `id="current_password"`) {
			t.Fatal("the current password is asked right after a sign-in")
		}
		wantStatus(t, b.submit(login.PasswordPath, url.Values{"new_password": {"short"}}), http.StatusBadRequest, b.page)
		res := b.submit(login.PasswordPath, url.Values{"new_password": {first}})
		wantStatus(t, res, http.StatusSeeOther, b.page)
		b.get(res.Header.Get("Location"))
		if !strings.Contains(b.page, "Your password was changed") {
			t.Fatalf("no notice:\n%s", b.page)
		}
		if other.get(login.AccountPath).StatusCode != http.StatusSeeOther || b.get(login.AccountPath).StatusCode != http.StatusOK {
			t.Fatal("the change must end the other session and keep this one")
		}
		mc.next(t, o.email, kindPasswordChanged)

		// An hour later: the current password is asked.
		o.ageSignIns(t, o.userID, time.Hour)
		b.get(login.PasswordPath)
		if !strings.Contains(b.page, `id="current_password"`) {
			t.Fatalf("no current password field an hour after sign-in:\n%s", b.page)
		}
		wantStatus(t, b.submit(login.PasswordPath, url.Values{"new_password": {second}}), http.StatusBadRequest, b.page)
		if !strings.Contains(b.page, "current password") {
			t.Fatalf("change without proof:\n%s", b.page)
		}
		wantStatus(t, b.submit(login.PasswordPath, url.Values{"current_password": {testPassword}, "new_password": {second}}), http.StatusBadRequest, b.page)
		wantStatus(t, b.submit(login.PasswordPath, url.Values{"current_password": {first}, "new_password": {second}}), http.StatusSeeOther, b.page)
		fresh := o.browser()
		wantStatus(t, fresh.passwordSignIn(o.email, first), http.StatusBadRequest, fresh.page)
		wantStatus(t, fresh.passwordSignIn(o.email, second), http.StatusSeeOther, fresh.page)
		if ok, failed := len(o.audit("password.changed")), len(o.audit("password.change_failed")); ok != 2 || failed != 3 {
			t.Fatalf("audited %d changes and %d failures, want 2 and 3", ok, failed)
		}
	})
}

func TestNewSignInAlert(t *testing.T) {
	eachMailBackend(t, nil, func(t *testing.T, o *op, mc *mailCatcher) {
		a, b := o.browser(), o.browser()
		for _, br := range []*browser{a, a, b, b, a} {
			wantStatus(t, br.passwordSignIn(o.email, testPassword), http.StatusSeeOther, br.page)
		}
		// Only b's first sign-in is news: a was the first browser ever.
		m := mc.next(t, o.email, kindNewSignIn)
		if !strings.Contains(m.Text, "127.0.0.1") || !strings.Contains(m.Text, "Password") {
			t.Fatalf("alert:\n%s", m.Text)
		}
		// The first sign-in after sign-up is no news either.
		n := o.browser()
		n.get(login.SignupPath)
		wantStatus(t, n.submit(login.SignupPath, url.Values{"email": {"zed@example.com"}, "password": {testPassword}}), http.StatusSeeOther, n.page)
		mc.next(t, "zed@example.com", kindVerifyEmail)
		if evs := o.audit("login.new_browser"); len(evs) != 1 || evs[0].Subject != o.userID || evs[0].Details["alerted"] != true {
			t.Fatalf("new-browser events %+v, want one for b", evs)
		}
		if n := mc.count(kindNewSignIn); n != 1 {
			t.Fatalf("%d alerts delivered, want 1", n)
		}
	})
}
