package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/madfam-org/janua/login"
	"github.com/madfam-org/janua/oidc"
)

// Passkeys on the account: the per-user limit, renaming, removing (only
// after a recent sign-in, never another user's), and registration that
// asks for a recent sign-in first.
func TestE2EPasskeyLimitRenameRemove(t *testing.T) {
	eachPasskeyBackend(t, func(c *Config) { c.Passkeys.MaxPerUser = 2 }, func(t *testing.T, o *op) {
		b := o.browser()
		passwordSignIn(t, o, b, o.email)
		b.get(pathSecurity)
		laptop, phone := newPasskeyDevice(t, o, false), newPasskeyDevice(t, o, true)
		for _, d := range []*passkeyDevice{laptop, phone} {
			if status, _, done := d.register(b, b.scriptCSRF(), "", ""); status != http.StatusOK {
				t.Fatalf("registration: %d %v", status, done)
			}
		}
		if status, begun, _ := newPasskeyDevice(t, o, false).register(b, b.scriptCSRF(), "", ""); status != http.StatusConflict || begun["error"] != "passkey_limit" {
			t.Fatalf("a third passkey over a limit of 2: %d %v", status, begun)
		}
		keys := o.passkeys(t, o.userID)
		if len(keys) != 2 || keys[0].Name != "Passkey 1" || keys[1].Name != "Passkey 2" {
			t.Fatalf("stored %+v", keys)
		}
		b.get(pathSecurity)
		if !strings.Contains(b.page, `id="passkey-full"`) || strings.Contains(b.page, `id="passkey-register"`) {
			t.Fatal("the security page still offers to add a passkey at the limit")
		}

		// Rename: a valid name, not an empty or overlong one, not a passkey
		// the user does not have.
		for _, tc := range []struct {
			id, name string
			status   int
		}{
			{keys[0].ID, "", http.StatusBadRequest},
			{keys[0].ID, strings.Repeat("é", 65), http.StatusBadRequest},
			{"4d1f7c4e-57b1-4b83-9a1c-4a6f3a0b7a11", "Mine", http.StatusNotFound},
			{"not-an-id", "Mine", http.StatusNotFound},
			{keys[0].ID, "  Work laptop ", http.StatusSeeOther},
		} {
			b.get(pathSecurity)
			if res := b.submit(pathPasskeyRename, url.Values{"id": {tc.id}, "name": {tc.name}}); res.StatusCode != tc.status {
				t.Errorf("rename %q to %q: %d, want %d", tc.id, tc.name, res.StatusCode, tc.status)
			}
		}
		if got := o.passkeys(t, o.userID)[0].Name; got != "Work laptop" {
			t.Fatalf("renamed to %q", got)
		}
		b.get(pathSecurity + "?done=passkey_renamed")
		if !strings.Contains(b.page, "The passkey was renamed.") || !strings.Contains(b.page, `value="Work laptop"`) {
			t.Fatal("the security page does not show the new name")
		}

		// Remove the phone's passkey: gone, audited, and it signs in no more.
		if res := b.submit(pathPasskeyRemove, url.Values{"id": {keys[1].ID}}); res.StatusCode != http.StatusSeeOther ||
			res.Header.Get("Location") != pathSecurity+"?done=passkey_removed" {
			t.Fatalf("remove: %d %q", res.StatusCode, res.Header.Get("Location"))
		}
		if left := o.passkeys(t, o.userID); len(left) != 1 || left[0].ID != keys[0].ID {
			t.Fatalf("after removal %+v", left)
		}
		if evs := o.audit(passkeyRemovedAudit); len(evs) != 1 || evs[0].Details["method"] != "passkey" || evs[0].Details["passkey"] != keys[1].ID {
			t.Fatalf("removal audit %+v", evs)
		}
		if m := o.mfaMail(t, o.email, "mail.mfa.passkey_removed"); m.Data["detail"] != "Passkey 2" {
			t.Fatalf("the user was told %+v", m)
		}
		other := o.browser()
		other.get(oidc.LoginPath)
		if status, _, done := phone.signIn(other, other.scriptCSRF(), ""); status != http.StatusBadRequest || done["error"] != "passkey_unknown" {
			t.Fatalf("a removed passkey: %d %v", status, done)
		}

		// An hour later the sign-in is no longer recent: registering and
		// removing send the browser to confirm who it is; renaming does not.
		o.ageSignIns(t, o.userID, time.Hour)
		b.get(pathSecurity)
		if !strings.Contains(b.page, `id="reauth-link"`) {
			t.Fatal("the security page does not ask to confirm who you are")
		}
		reauth := oidc.LoginPath + "?" + url.Values{login.ReturnParam: {pathSecurity}}.Encode()
		status, begun := b.postJSON(pathPasskeys+pathPasskeyOptions, b.scriptCSRF(), map[string]any{})
		if status != http.StatusUnauthorized || begun["error"] != "reauth_required" || begun["redirect"] != reauth {
			t.Fatalf("registration without a recent sign-in: %d %v", status, begun)
		}
		if res := b.submit(pathPasskeyRemove, url.Values{"id": {keys[0].ID}}); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != reauth {
			t.Fatalf("removal without a recent sign-in: %d %q", res.StatusCode, res.Header.Get("Location"))
		}
		if len(o.passkeys(t, o.userID)) != 1 {
			t.Fatal("a passkey was removed without a recent sign-in")
		}
		// Confirming with the passkey itself makes the sign-in recent again.
		b.get(reauth)
		status, _, done := laptop.signIn(b, b.scriptCSRF(), "?"+url.Values{login.ReturnParam: {pathSecurity}}.Encode())
		if status != http.StatusOK || done["redirect"] != pathSecurity {
			t.Fatalf("re-authentication with a passkey: %d %v", status, done)
		}
		b.get(pathSecurity)
		if strings.Contains(b.page, `id="reauth-link"`) {
			t.Fatal("still not recent after re-authenticating")
		}
	})
}

// When every sign-in needs a second factor, a user without one enrols a
// passkey during the sign-in, then signs in with it (registering proves
// nothing), and may not remove their only one.
func TestE2EPasskeyEnrolmentWhenRequired(t *testing.T) {
	eachPasskeyBackend(t, func(c *Config) { c.Login.RequireSecondFactor = true }, func(t *testing.T, o *op) {
		rp := o.goRP(t, o.register(t, oidc.ClientSpec{Name: "Strict App"}))
		a := o.agent()
		query, state, nonce, verifier := toSignInPage(t, a, rp)
		if res := a.signIn(strings.TrimPrefix(query, "?flow="), o.email, testPassword, false); res.Header.Get("Location") != login.FactorPath+query {
			t.Fatalf("password: %d to %q", res.StatusCode, res.Header.Get("Location"))
		}
		a.get(login.FactorPath + query)
		if !strings.Contains(a.page, `id="passkey-enrol"`) || !strings.Contains(a.page, `data-passkey="register"`) {
			t.Fatalf("no passkey enrolment on the second-factor step:\n%.600s", a.page)
		}
		dev := newPasskeyDevice(t, o, false)
		status, _, done := dev.register(a.browser, a.scriptCSRF(), query, "")
		if status != http.StatusOK || done["redirect"] != login.FactorPath+query {
			t.Fatalf("enrolment: %d %v", status, done)
		}
		if evs := o.audit(passkeyRegAudit); len(evs) != 1 || evs[0].Details["during"] != "sign_in" {
			t.Fatalf("enrolment audit %+v", evs)
		}
		// Enrolled, but not signed in: the step now asks for the passkey.
		if res := a.get(login.AccountPath); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("signed in by registering a passkey: %d", res.StatusCode)
		}
		a.get(login.FactorPath + query)
		if !strings.Contains(a.page, `data-passkey="factor"`) {
			t.Fatalf("the step does not offer the new passkey:\n%.600s", a.page)
		}
		// A second enrolment on the password alone is refused now.
		if status, begun, _ := newPasskeyDevice(t, o, false).register(a.browser, a.scriptCSRF(), query, ""); status != http.StatusForbidden || begun["error"] != "enrolment_refused" {
			t.Fatalf("second enrolment during the sign-in: %d %v", status, begun)
		}
		status, _, done, _ = dev.ceremony(a.browser, pathPasskeyFactor, a.scriptCSRF(), query)
		if status != http.StatusOK {
			t.Fatalf("second factor: %d %v", status, done)
		}
		s := finish(t, a, rp, done, state, nonce, verifier)
		if got := strings.Join(amrOf(s), " "); got != "pwd hwk user pop pin mfa" {
			t.Fatalf("amr %s", got)
		}
		// The only second factor stays.
		a.get(pathSecurity)
		id := o.passkeys(t, o.userID)[0].ID
		if res := a.submit(pathPasskeyRemove, url.Values{"id": {id}}); res.StatusCode != http.StatusForbidden || !strings.Contains(a.page, "your last way to confirm") {
			t.Fatalf("removing the last factor: %d\n%.400s", res.StatusCode, a.page)
		}
		if len(o.passkeys(t, o.userID)) != 1 {
			t.Fatal("the last second factor was removed")
		}
	})
}

// Right after sign-up the new user is offered a passkey: "Not now"
// continues the flow, and so does adding one.
func TestE2EPasskeyOfferAfterSignup(t *testing.T) {
	eachPasskeyBackend(t, nil, func(t *testing.T, o *op) {
		rp := o.goRP(t, o.register(t, oidc.ClientSpec{Name: "New Users App"}))
		for i, add := range []bool{false, true} {
			a := o.agent()
			query, state, nonce, verifier := toSignInPage(t, a, rp)
			a.get("/signup" + query)
			email := []string{"skip@example.com", "add@example.com"}[i]
			res := a.submit("/signup"+query, url.Values{"name": {"New User"}, "email": {email}, "password": {testPassword}})
			if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || loc != pathPasskeyOffer+query {
				t.Fatalf("sign-up: %d to %q", res.StatusCode, loc)
			}
			a.get(pathPasskeyOffer + query)
			next := oidc.ResumePath + query
			if !strings.Contains(a.page, `id="passkey-offer"`) || !strings.Contains(a.page, `id="passkey-skip" href="`+strings.ReplaceAll(next, "&", "&amp;")+`"`) {
				t.Fatalf("offer page:\n%.800s", a.page)
			}
			done := map[string]any{"redirect": next}
			if add {
				dev := newPasskeyDevice(t, o, true)
				var status int
				if status, _, done = dev.register(a.browser, a.scriptCSRF(), query, "Phone"); status != http.StatusOK || done["redirect"] != next {
					t.Fatalf("adding a passkey after sign-up: %d %v", status, done)
				}
			}
			s := finish(t, a, rp, done, state, nonce, verifier)
			u, err := o.store.GetUserByEmail(t.Context(), email)
			if err != nil || s.Claims["sub"] != u.ID || strings.Join(amrOf(s), " ") != "pwd" {
				t.Fatalf("after sign-up: sub %v amr %v (%v)", s.Claims["sub"], s.Claims["amr"], err)
			}
			if n := len(o.passkeys(t, u.ID)); n != map[bool]int{false: 0, true: 1}[add] {
				t.Fatalf("%d passkeys after the offer (add=%v)", n, add)
			}
		}
	})
}

// The options requests are rate-limited per IP, and failed passwordless
// sign-ins hold the address back for the lockout duration.
func TestE2EPasskeyAbuseLimits(t *testing.T) {
	eachPasskeyBackend(t, func(c *Config) { c.Login.IPRateLimit, c.Login.IPRateWindow = 2, 3*time.Second }, func(t *testing.T, o *op) {
		b := o.browser()
		b.get(oidc.LoginPath)
		csrf := b.scriptCSRF()
		begin := func() (int, map[string]any) {
			return b.postJSON(pathPasskeyLogin+pathPasskeyOptions, csrf, map[string]any{})
		}
		for i := 0; i < 2; i++ {
			if status, begun := begin(); status != http.StatusOK {
				t.Fatalf("options %d: %d %v", i, status, begun)
			}
		}
		if status, begun := begin(); status != http.StatusTooManyRequests || begun["error"] != "rate_limited" {
			t.Fatalf("third options request within the window: %d %v", status, begun)
		}
		// Two windows: the count is forgotten. The window is 3 s, not 1:
		// the sliding window would let the third request above through
		// after a pause of half a window between the second and it.
		time.Sleep(6100 * time.Millisecond)

		stranger := newPasskeyDevice(t, o, false) // registered nowhere
		stranger.auth.Options.UserHandle = []byte(strings.Repeat("h", 32))
		for i := 0; i < 2; i++ {
			if status, _, done := stranger.signIn(b, csrf, ""); status != http.StatusBadRequest || done["error"] != "passkey_unknown" {
				t.Fatalf("unknown passkey %d: %d %v", i, status, done)
			}
		}
		if evs := o.audit("login.failed"); len(evs) != 2 || evs[0].Details["method"] != "passkey" || evs[0].Details["reason"] != "unknown_credential" {
			t.Fatalf("failure audit %+v", evs)
		}
		status, begun := begin()
		if status != http.StatusTooManyRequests || begun["error"] != "locked" || begun["message"] == "" {
			t.Fatalf("options after two failures: %d %v", status, begun)
		}
	})
}
