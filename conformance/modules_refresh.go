package conformance

import (
	"errors"
	"fmt"
	"net/url"
	"time"
)

// oidccRefreshToken is OIDCCRefreshToken (an AbstractOIDCCMultipleClient): both clients
// get a refresh token (offline_access and prompt=consent when advertised, OpenID Connect
// Core 1.0 §11), refresh it (§12, RFC 6749 §6), and client2's refresh token presented
// with client1's credentials is refused (RFC 6749 §10.4: bound to its client).
var oidccRefreshToken = &Module{Name: "oidcc-refresh-token", Flags: "S", Slow: true,
	Summary:       "two clients; refresh works and keeps iss/sub/aud/azp/auth_time; client2's refresh token with client1 → invalid_grant",
	NotApplicable: responseTypesNA("id_token", "id_token token"),
	Run: func(t *T) {
		first := t.refreshClient(false)
		_ = first
		t.client = t.run.cfg.Client2
		t.second = true
		second := t.refreshClient(true)
		t.client = t.run.cfg.Client
		t.second = false
		t.note("Attempting to use refresh_token issued to client 2 with client 1")
		form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {second}}
		tr := t.tokenRequest(t.run.cfg.Client, t.authMethod(), form)
		t.expectTokenError(tr, Failure, "invalid_grant")
	}}

// refreshClient runs the authorization and the refresh for the current client and
// returns the refresh token left in hand.
func (t *T) refreshClient(second bool) string {
	r := t.newAuthRequest()
	if second {
		r.Nonce = randomString(43)
	}
	if containsString(t.server["scopes_supported"], "offline_access") {
		r.Scope = "openid offline_access"
		r.Extra.Set("prompt", "consent")
	}
	f := t.happy(r, flowOpts{})
	if f.refreshToken == "" {
		t.call("EnsureServerConfigurationDoesNotSupportRefreshToken", Warn, []string{"OIDCD-3"}, func() error {
			if containsString(t.server["grant_types_supported"], "refresh_token") {
				return errors.New("grant_types_supported lists refresh_token but no refresh token was issued")
			}
			return nil
		})
		t.skip("Refresh tokens cannot be tested. No refresh token was issued.")
	}
	t.call("EnsureServerConfigurationSupportsRefreshToken", Warn, []string{"OIDCD-3"}, func() error {
		if !containsString(t.server["grant_types_supported"], "refresh_token") {
			return errors.New("a refresh token was issued but grant_types_supported does not list refresh_token")
		}
		return nil
	})
	t.call("EnsureRefreshTokenContainsAllowedCharactersOnly", Failure, []string{"RFC6749-A.17"}, func() error {
		if !tokenChars.MatchString(f.refreshToken) {
			return errors.New("refresh_token contains characters outside RFC 6749 A.17's set")
		}
		return nil
	})
	// RefreshTokenRequestSteps: scope for the first client only; wait 1 s so iat differs.
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {f.refreshToken}}
	if !second {
		form.Set("scope", r.Scope)
	}
	t.sleep(time.Second)
	tr := t.tokenRequest(r.Client, t.authMethod(), form)
	t.checkTokenSuccess(tr)
	at := tr.str("access_token")
	t.call("EnsureMinimumAccessTokenEntropy", Failure, []string{"RFC6749-10.10"}, func() error { return checkEntropy("access token", at) })
	t.call("EnsureAccessTokenContainsAllowedCharactersOnly", Failure, []string{"RFC6749-A.12"}, func() error {
		if !tokenChars.MatchString(at) {
			return errors.New("access_token contains characters outside RFC 6749 A.12's set")
		}
		return nil
	})
	rt := f.refreshToken
	if nrt := tr.str("refresh_token"); nrt != "" {
		rt = nrt
		t.call("EnsureMinimumRefreshTokenLength", Failure, []string{"RFC6749-10.10"}, func() error { return checkLength("refresh token", nrt) })
		t.call("EnsureMinimumRefreshTokenEntropy", Failure, []string{"RFC6749-10.10"}, func() error { return checkEntropy("refresh token", nrt) })
	}
	if raw := tr.str("id_token"); raw != "" {
		tok, err := parseIDToken(raw)
		if err != nil {
			t.call("ExtractIdTokenFromTokenResponse", Failure, nil, func() error { return err })
		} else {
			t.call("ValidateIdTokenSignature", Failure, []string{"OIDCC-12.2"}, func() error { return verifySignature(tok, t.jwks, true) })
			t.call("CompareIdTokenClaims", Failure, []string{"OIDCC-12.2"}, func() error { return compareRefreshedIDToken(f.idToken(), tok) })
		}
	}
	t.requestProtectedResource(at)
	return rt
}

// compareRefreshedIDToken is CompareIdTokenClaims (OpenID Connect Core 1.0 §12.2): iss,
// sub, aud, azp and auth_time as before; iat newer.
func compareRefreshedIDToken(a, b *idToken) error {
	for _, c := range []string{"iss", "sub", "auth_time", "azp"} {
		if fmt.Sprint(a.Claims[c]) != fmt.Sprint(b.Claims[c]) {
			return fmt.Errorf("%s changed in the refreshed id_token: %v -> %v", c, a.Claims[c], b.Claims[c])
		}
	}
	if fmt.Sprint(a.Claims["aud"]) != fmt.Sprint(b.Claims["aud"]) {
		return fmt.Errorf("aud changed in the refreshed id_token: %v -> %v", a.Claims["aud"], b.Claims["aud"])
	}
	x, _ := a.num("iat")
	y, _ := b.num("iat")
	if y <= x {
		return fmt.Errorf("the refreshed id_token's iat (%d) is not later than the original's (%d)", y, x)
	}
	return nil
}
