package conformance

import (
	"errors"
	"fmt"
	"time"
)

// The session modules: two authorizations in one browser, the second with prompt,
// max_age or id_token_hint (OpenID Connect Core 1.0 §3.1.2.1).

var (
	oidccPromptLogin = &Module{Name: "oidcc-prompt-login", Flags: "R, L", Slow: true,
		Summary: "login; 1 s later prompt=login shows a second login page; the 2nd auth_time is later",
		Run: func(t *T) {
			first := t.happy(t.newAuthRequest(), flowOpts{})
			t.sleep(time.Second)
			r := t.newAuthRequest()
			r.Extra.Set("prompt", "login")
			v := t.authorize(r)
			if len(v.LoginPages) == 0 {
				t.fail("ExpectSecondLoginPage", "prompt=login: the OP did not ask the user to log in again (OIDCC 3.1.2.1)")
			}
			t.placeholder("expect_second_login_page", v.LoginPages[0])
			second := t.complete(r, v, flowOpts{})
			t.call("CheckIdTokenAuthTimeClaimsDifferIfPresent", Failure, []string{"OIDCC-2"}, func() error {
				return authTimeLater(first.idToken(), second.idToken(), false)
			})
		}}

	oidccPromptNoneNotLoggedIn = &Module{Name: "oidcc-prompt-none-not-logged-in", Flags: "L",
		Summary: "no session, prompt=none, 128-char state: redirect with login_required (or another UI-required error)",
		Run: func(t *T) {
			r := t.newAuthRequest()
			r.State = randomString(128)
			r.Extra.Set("prompt", "none")
			r.NoInteraction = true
			v := t.authorize(r)
			resp := t.callback(r, v)
			t.checkErrorResponse(r, resp)
			t.expectError("CheckErrorFromAuthorizationEndpointIsOneThatRequiredAUserInterface", []string{"OIDCC-3.1.2.6"}, resp,
				"login_required", "interaction_required", "consent_required", "account_selection_required")
		}}

	oidccPromptNoneLoggedIn = &Module{Name: "oidcc-prompt-none-logged-in",
		Summary: "login, then prompt=none: a code without UI; same sub and auth_time",
		Run: func(t *T) {
			first := t.happy(t.newAuthRequest(), flowOpts{})
			r := t.newAuthRequest()
			r.Extra.Set("prompt", "none")
			r.NoInteraction = true
			second := t.happy(r, flowOpts{})
			t.sameSession(first, second)
		}}

	oidccMaxAge1 = &Module{Name: "oidcc-max-age-1", Flags: "R", Slow: true,
		Summary: "login; 2 s later max_age=1 forces a new login; the 2nd id_token has a later, recent auth_time",
		Run: func(t *T) {
			first := t.happy(t.newAuthRequest(), flowOpts{})
			t.sleep(2 * time.Second)
			r := t.newAuthRequest()
			r.Extra.Set("max_age", "1")
			v := t.authorize(r)
			if len(v.LoginPages) == 0 {
				t.fail("ExpectMaxAgeLoginPage", "max_age=1 after 2 s: the OP did not ask the user to log in again (OIDCC 3.1.2.1)")
			}
			t.placeholder("expect_max_age_login_page", v.LoginPages[0])
			second := t.complete(r, v, flowOpts{})
			// OIDCCMaxAge1.performIdTokenValidation: every id_token of the second
			// authorization (authorization and token endpoint) is checked.
			for _, tok := range []*idToken{second.authzIDToken, second.tokenIDToken} {
				if tok == nil {
					continue
				}
				t.call("CheckIdTokenAuthTimeClaimPresentDueToMaxAge", Failure, []string{"OIDCC-2", "OIDCC-3.1.2.1"}, func() error {
					return hasClaim(tok, "auth_time")
				})
				t.call("CheckSecondIdTokenAuthTimeIsLaterIfPresent", Failure, []string{"OIDCC-2"}, func() error {
					return authTimeLater(first.idToken(), tok, false)
				})
				t.call("CheckIdTokenAuthTimeIsRecentIfPresent", Failure, []string{"OIDCC-2"}, func() error {
					at, ok := tok.num("auth_time")
					if ok && time.Since(time.Unix(at, 0)) > 60*time.Second {
						return fmt.Errorf("auth_time %s is not recent", time.Unix(at, 0).UTC())
					}
					return nil
				})
			}
		}}

	oidccMaxAge10000 = &Module{Name: "oidcc-max-age-10000",
		Summary: "max_age=15000 then max_age=10000: no new login; auth_time present in both and equal; same sub",
		Run: func(t *T) {
			r1 := t.newAuthRequest()
			r1.Extra.Set("max_age", "15000")
			first := t.happy(r1, flowOpts{})
			r2 := t.newAuthRequest()
			r2.Extra.Set("max_age", "10000")
			second := t.happy(r2, flowOpts{})
			for i, f := range []*flowResult{first, second} {
				t.call("CheckIdTokenAuthTimeClaimPresentDueToMaxAge", Failure, []string{"OIDCC-2", "OIDCC-3.1.2.1"}, func() error {
					if err := hasClaim(f.idToken(), "auth_time"); err != nil {
						return fmt.Errorf("authorization %d requested max_age: %v", i+1, err)
					}
					return nil
				})
			}
			t.sameSession(first, second)
		}}

	oidccIDTokenHint = &Module{Name: "oidcc-id-token-hint",
		Summary: "login; then prompt=none with id_token_hint=<1st id_token>: success without UI; same sub",
		Run: func(t *T) {
			first := t.happy(t.newAuthRequest(), flowOpts{})
			r := t.newAuthRequest()
			r.Extra.Set("prompt", "none")
			r.Extra.Set("id_token_hint", first.idToken().Raw)
			r.NoInteraction = true
			second := t.happy(r, flowOpts{})
			t.sameSession(first, second)
		}}
)

// sameSession: the second authorization is the same end-user session (CompareIdTokenClaims:
// same sub; same auth_time when both carry one).
func (t *T) sameSession(first, second *flowResult) {
	a, b := first.idToken(), second.idToken()
	t.call("CheckIdTokenSubConsistent", Failure, []string{"OIDCC-2"}, func() error {
		if a.Claims["sub"] != b.Claims["sub"] {
			return fmt.Errorf("sub changed from %v to %v", a.Claims["sub"], b.Claims["sub"])
		}
		return nil
	})
	t.call("CheckIdTokenAuthTimeClaimsSameIfPresent", Failure, []string{"OIDCC-2"}, func() error {
		x, ok1 := a.num("auth_time")
		y, ok2 := b.num("auth_time")
		if ok1 && ok2 && x != y {
			return fmt.Errorf("auth_time changed from %d to %d without a new login", x, y)
		}
		return nil
	})
}

// authTimeLater: a re-authentication moved auth_time forward. With required, both
// id_tokens must carry auth_time.
func authTimeLater(a, b *idToken, required bool) error {
	x, ok1 := a.num("auth_time")
	y, ok2 := b.num("auth_time")
	if !ok1 || !ok2 {
		if required && !ok2 {
			return errors.New("the second id_token has no auth_time")
		}
		return nil
	}
	if y <= x {
		return fmt.Errorf("the second auth_time (%d) is not later than the first (%d) although the user logged in again", y, x)
	}
	return nil
}
