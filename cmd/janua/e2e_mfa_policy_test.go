package main

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/madfam-org/janua/login"
	"github.com/madfam-org/janua/oidc"
)

// Guessing codes: five wrong ones lock the user's second factors (the
// right code and a backup code are refused too, with Retry-After), and an
// address that posts too many codes is held back whatever the user.
func TestE2ESecondFactorLimits(t *testing.T) {
	t.Parallel()
	t.Run("Lockout", func(t *testing.T) {
		eachBackend(t, nil, func(t *testing.T, o *op) {
			rp := o.goRP(t, o.register(t, oidc.ClientSpec{FirstParty: true}))
			a := o.agent()
			rp.login(a)
			m := newMFA(t)
			m.enrolTOTP(t, a)
			step := stopAt(t, rp, a, oauth2.SetAuthURLParam("prompt", "login"))
			resp := step
			for i := 1; i <= 5; i++ {
				resp = postForm(t, a, resp, "totp-form", url.Values{"code": {m.app.wrong()}}, rp.c.Redirect)
				want := http.StatusBadRequest
				if i == 5 {
					want = http.StatusTooManyRequests
				}
				if resp.Status != want {
					t.Fatalf("wrong code %d: status %d, want %d", i, resp.Status, want)
				}
			}
			if !strings.Contains(resp.Page, "Too many attempts") {
				t.Fatalf("lockout page:\n%.1500s", resp.Page)
			}
			for _, tc := range []struct{ form, code string }{{"totp-form", m.app.next()}, {"backup-form", m.codes[0]}} {
				locked := postForm(t, a, resp, tc.form, url.Values{"code": {tc.code}}, rp.c.Redirect)
				if locked.Status != http.StatusTooManyRequests || locked.Mode != "" {
					t.Fatalf("%s while locked: %d %v", tc.form, locked.Status, locked.Params)
				}
			}
			if n, _ := o.store.CountBackupCodes(context.Background(), o.userID); n != 10 {
				t.Fatalf("a backup code was used while locked: %d left", n)
			}
			if auditDetail(o, "login.locked", "method", "totp") == nil || auditDetail(o, "login.factor_failed", "reason", "locked") == nil {
				t.Fatal("the lockout was not audited")
			}
		})
	})
	// Codes posted at the same moment are each counted before they are
	// checked: of a burst of wrong codes only LockoutFailures are compared
	// (the last of them locks), the rest are refused unchecked.
	t.Run("Burst", func(t *testing.T) {
		eachBackend(t, nil, func(t *testing.T, o *op) {
			rp := o.goRP(t, o.register(t, oidc.ClientSpec{FirstParty: true}))
			a := o.agent()
			rp.login(a)
			m := newMFA(t)
			m.enrolTOTP(t, a)
			step := stopAt(t, rp, a, oauth2.SetAuthURLParam("prompt", "login"))
			action, fields, ok := pageForm(step.Page, "totp-form")
			if !ok {
				t.Fatal("no code form")
			}
			base, _ := url.Parse(o.issuer + "/")
			target := resolve(base, action)
			const burst = 20
			statuses := make(chan int, burst)
			var wg sync.WaitGroup
			for range burst {
				form := url.Values{}
				for k, v := range fields {
					form[k] = v
				}
				form.Set("code", m.app.wrong())
				wg.Go(func() {
					req, _ := http.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					res, err := a.c.Do(req)
					if err != nil {
						t.Error(err)
						return
					}
					res.Body.Close()
					statuses <- res.StatusCode
				})
			}
			wg.Wait()
			close(statuses)
			refused := 0
			for st := range statuses {
				if st == http.StatusBadRequest {
					refused++
				} else if st != http.StatusTooManyRequests {
					t.Errorf("status %d", st)
				}
			}
			if refused > o.cfg.Login.LockoutFailures-1 {
				t.Fatalf("%d of %d simultaneous wrong codes were checked; the lockout allows %d", refused, burst, o.cfg.Login.LockoutFailures)
			}
		})
	})
	t.Run("PerIP", func(t *testing.T) {
		eachBackend(t, func(c *Config) { c.Login.IPRateLimit, c.Login.LockoutFailures = 4, 0 }, func(t *testing.T, o *op) {
			rp := o.goRP(t, o.register(t, oidc.ClientSpec{FirstParty: true}))
			a := o.agent()
			rp.login(a)
			m := newMFA(t)
			m.enrolTOTP(t, a) // one post of a code
			resp := stopAt(t, rp, a, oauth2.SetAuthURLParam("prompt", "login"))
			for i := 2; i <= 4; i++ {
				if resp = postForm(t, a, resp, "totp-form", url.Values{"code": {m.app.wrong()}}, rp.c.Redirect); resp.Status != http.StatusBadRequest {
					t.Fatalf("post %d: %d", i, resp.Status)
				}
			}
			action, fields, _ := pageForm(resp.Page, "totp-form")
			fields.Set("code", m.app.next())
			limited := a.do(http.MethodPost, action, fields)
			if limited.StatusCode != http.StatusTooManyRequests || limited.Header.Get("Retry-After") == "" || !strings.Contains(a.page, "Too many attempts") {
				t.Fatalf("fifth post from one address: %d, Retry-After %q", limited.StatusCode, limited.Header.Get("Retry-After"))
			}
		})
	})
}

// Removing the authenticator: a sensitive change (an old sign-in must
// confirm who it is first: password and code again), refused for the last
// factor while a second factor is required, and with no other factor left
// it takes the backup codes with it.
func TestE2ERemoveTOTP(t *testing.T) {
	t.Parallel()
	eachBackend(t, nil, func(t *testing.T, o *op) {
		ctx := context.Background()
		rp := o.goRP(t, o.register(t, oidc.ClientSpec{FirstParty: true}))
		a := o.agent()
		rp.login(a)
		m := newMFA(t)
		page := m.enrolTOTP(t, a).Page
		if !strings.Contains(page, `id="totp-remove-hint"`) {
			t.Fatalf("no note that removing it removes the backup codes:\n%s", page)
		}

		// An hour-old sign-in: the change needs a re-authentication.
		o.ageSignIns(t, o.userID, time.Hour)
		a.get(login.SecurityPath)
		sec := &authResponse{Page: a.page}
		if !strings.Contains(a.page, `id="reauth-link"`) {
			t.Fatal("no re-authentication hint on an old session's security page")
		}
		for _, form := range []string{"totp-remove-form", "backup-regenerate-form"} {
			action, fields, _ := pageForm(sec.Page, form)
			res := a.do(http.MethodPost, action, fields)
			if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || loc != oidc.LoginPath+"?return=%2Faccount%2Fsecurity" {
				t.Fatalf("%s on an old sign-in: %d %q", form, res.StatusCode, loc)
			}
		}
		if at, _ := o.store.TOTPConfirmedAt(ctx, o.userID); at == nil {
			t.Fatal("removed without re-authentication")
		}
		// Confirming who it is takes the password and a code.
		m.shown = nil
		back := m.run(a, a.navigate(http.MethodGet, o.issuer+oidc.LoginPath+"?return=%2Faccount%2Fsecurity", nil, ""), "")
		if !slices.Equal(back.Shown, []string{"login", "totp"}) || !strings.Contains(back.Page, `id="totp-remove-form"`) || strings.Contains(back.Page, `id="reauth-link"`) {
			t.Fatalf("re-authentication went through %v to:\n%.1500s", back.Shown, back.Page)
		}
		res := a.do(http.MethodPost, login.SecurityPath+"/totp/remove", url.Values{"csrf_token": {a.csrf()}})
		if loc := res.Header.Get("Location"); loc != login.SecurityPath+"?done=totp_removed" {
			t.Fatalf("remove: %d %q", res.StatusCode, loc)
		}
		if at, _ := o.store.TOTPConfirmedAt(ctx, o.userID); at != nil {
			t.Fatal("still enrolled")
		}
		if n, _ := o.store.CountBackupCodes(ctx, o.userID); n != 0 {
			t.Fatalf("%d backup codes outlived the only factor they backed up", n)
		}
		if e := auditDetail(o, "mfa.removed", "method", "totp"); e == nil || e.Details["backup_codes_removed"] != float64(10) {
			t.Fatalf("removal audit: %+v", e)
		}
		a.get(login.SecurityPath + "?done=totp_removed")
		if !strings.Contains(a.page, "The authenticator app was removed") || !strings.Contains(a.page, `id="totp-setup-form"`) {
			t.Fatalf("security page after removal:\n%s", a.page)
		}
		// Sign-ins no longer ask for a code.
		checkPasswordOnly(t, rp.login(a, oauth2.SetAuthURLParam("prompt", "login")))
	})
}

// login.require_second_factor: a user without a factor enrols the
// authenticator app during the sign-in, and that sign-in completes with
// acr "mfa"; the last factor cannot be removed; later sign-ins ask for it.
func TestE2ERequireSecondFactor(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(c *Config) { c.Login.RequireSecondFactor = true }, func(t *testing.T, o *op) {
		ctx := context.Background()
		c := o.register(t, oidc.ClientSpec{})
		rp := o.goRP(t, c)
		a := o.agent()
		m := newMFA(t)
		s := m.login(rp, a)
		if !slices.Equal(s.Response.Shown, []string{"login", "totp-enrol", "totp-confirm", "backup-codes", "consent"}) || len(m.codes) != 10 {
			t.Fatalf("pages %v, %d backup codes", s.Response.Shown, len(m.codes))
		}
		checkMFA(t, s)
		if at, _ := o.store.TOTPConfirmedAt(ctx, o.userID); at == nil {
			t.Fatal("not enrolled")
		}
		if e := o.audit("mfa.enrolled"); len(e) != 1 || e[0].ClientID != c.ID {
			t.Fatalf("enrolment audit %+v", e)
		}
		// Enrolling during a sign-in is only for a user with no factor yet:
		// a password alone may not add another authenticator.
		step := stopAt(t, rp, a, oauth2.SetAuthURLParam("prompt", "login"))
		action, fields, _ := pageForm(step.Page, "totp-form")
		if res := a.do(http.MethodPost, strings.Replace(action, "/totp?", "/totp/enrol?", 1), fields); res.StatusCode != http.StatusForbidden {
			t.Fatalf("enrolment by a pending sign-in of an enrolled user: %d", res.StatusCode)
		}

		a.get(login.SecurityPath)
		if !strings.Contains(a.page, `id="totp-remove-refused"`) || strings.Contains(a.page, `id="totp-remove-form"`) {
			t.Fatalf("the last factor is offered for removal:\n%s", a.page)
		}
		res := a.do(http.MethodPost, login.SecurityPath+"/totp/remove", url.Values{"csrf_token": {a.csrf()}})
		if res.StatusCode != http.StatusForbidden {
			t.Fatalf("removing the last factor: %d", res.StatusCode)
		}
		if at, _ := o.store.TOTPConfirmedAt(ctx, o.userID); at == nil {
			t.Fatal("the last factor was removed")
		}
		if auditDetail(o, "mfa.removed", "reason", "last_factor") == nil {
			t.Fatal("the refusal was not audited")
		}

		again := m.login(rp, a, oauth2.SetAuthURLParam("prompt", "login"))
		if !slices.Equal(again.Response.Shown, []string{"login", "totp"}) {
			t.Fatalf("pages %v", again.Response.Shown)
		}
		checkMFA(t, again)
	})
}

// Step-up (OIDC Core §3.1.2.1 acr_values, §5.5.1.1 essential claims): a
// password session is not enough when an RP asks acr_values=mfa, so the
// sign-in runs again and adds the second factor (enrolling it, here);
// that session then satisfies mfa silently; prompt=login and max_age run
// password and code again; an essential class Janua does not know is
// unmet_authentication_requirements at the redirect URI.
func TestE2EStepUpToMFA(t *testing.T) {
	t.Parallel()
	eachBackend(t, nil, func(t *testing.T, o *op) {
		rp := o.goRP(t, o.register(t, oidc.ClientSpec{FirstParty: true}))
		a := o.agent()
		first := rp.login(a)
		checkPasswordOnly(t, first)
		mfaACR := oauth2.SetAuthURLParam("acr_values", login.ACRMFA)

		m := newMFA(t)
		up := m.login(rp, a, mfaACR)
		if !slices.Equal(up.Response.Shown, []string{"login", "totp-enrol", "totp-confirm", "backup-codes"}) {
			t.Fatalf("step-up pages %v", up.Response.Shown)
		}
		checkMFA(t, up)

		silent := m.login(rp, a, mfaACR)
		if len(silent.Response.Shown) != 0 || silent.Claims["auth_time"] != up.Claims["auth_time"] {
			t.Fatalf("an mfa session asked again: %v", silent.Response.Shown)
		}
		checkMFA(t, silent)
		essential := oauth2.SetAuthURLParam("claims", `{"id_token":{"acr":{"essential":true,"values":["mfa"]}}}`)
		if s := m.login(rp, a, essential); len(s.Response.Shown) != 0 || s.Claims["acr"] != login.ACRMFA {
			t.Fatalf("essential mfa: %v %v", s.Response.Shown, s.Claims["acr"])
		}

		forced := m.login(rp, a, oauth2.SetAuthURLParam("prompt", "login"))
		if !slices.Equal(forced.Response.Shown, []string{"login", "totp"}) {
			t.Fatalf("prompt=login pages %v", forced.Response.Shown)
		}
		checkMFA(t, forced)
		time.Sleep(1100 * time.Millisecond) // auth_time counts whole seconds
		aged := m.login(rp, a, oauth2.SetAuthURLParam("max_age", "1"), mfaACR)
		if !slices.Equal(aged.Response.Shown, []string{"login", "totp"}) || aged.Claims["auth_time"].(float64) <= forced.Claims["auth_time"].(float64) {
			t.Fatalf("max_age=1 pages %v auth_time %v", aged.Response.Shown, aged.Claims["auth_time"])
		}
		checkMFA(t, aged)

		u, state, _, _ := rp.authURL(oauth2.SetAuthURLParam("claims", `{"id_token":{"acr":{"essential":true,"values":["urn:example:loa:4"]}}}`))
		resp := a.authorize(u, rp.c.Redirect)
		if resp.Mode == "" || resp.Get("error") != "unmet_authentication_requirements" || resp.Get("state") != state || resp.Params.Has("code") {
			t.Fatalf("an essential unknown acr: mode %q %v", resp.Mode, resp.Params)
		}
	})
}
