package conformance

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// flowOpts selects module-specific checks inside the standard flow.
type flowOpts struct {
	// serverTest adds OIDCCServerTest's checks: at_hash / c_hash required in the
	// authorization endpoint's id_token when the response type returns a token / code
	// (OpenID Connect Core 1.0 §3.3.2.11), a WARNING for name in the id_token.
	serverTest bool
	// noTokenRequest stops after the authorization response (the nonce-less code flow).
	noTokenRequest bool
}

// flowResult is everything one authorization gave the client.
type flowResult struct {
	req              *authRequest
	resp             url.Values
	code             string
	authzAccessToken string
	authzIDToken     *idToken
	tokenIDToken     *idToken
	accessToken      string
	refreshToken     string
	token            *tokenResponse
	visit            *Visit
}

// idToken is the latest id_token (the token endpoint's when there is one).
func (f *flowResult) idToken() *idToken {
	if f.tokenIDToken != nil {
		return f.tokenIDToken
	}
	return f.authzIDToken
}

func includes(responseType, part string) bool {
	return strings.Contains(" "+responseType+" ", " "+part+" ")
}

// happy runs one authorization that must succeed, through the token and userinfo
// endpoints (AbstractOIDCCServerTest: performAuthorizationFlow .. onPostAuthorizationFlowComplete).
func (t *T) happy(r *authRequest, o flowOpts) *flowResult {
	return t.complete(r, t.authorize(r), o)
}

// complete processes the callback of a successful authorization.
func (t *T) complete(r *authRequest, v *Visit, o flowOpts) *flowResult {
	return t.finish(r, v, t.callback(r, v), o)
}

// finish is complete for a callback whose transport was already checked.
func (t *T) finish(r *authRequest, v *Visit, resp url.Values, o flowOpts) *flowResult {
	t.onCallback(r, resp)
	f := &flowResult{req: r, resp: resp, visit: v, code: resp.Get("code"), authzAccessToken: resp.Get("access_token")}
	f.accessToken = f.authzAccessToken
	if includes(r.ResponseType, "id_token") {
		f.authzIDToken = t.extractIDToken("ExtractIdTokenFromAuthorizationResponse", resp.Get("id_token"))
		t.checkIDToken(f.authzIDToken, r, o)
		if o.serverTest {
			sev := Info
			if includes(r.ResponseType, "token") {
				sev = Failure
			}
			t.call("ExtractAtHash", sev, []string{"OIDCC-3.3.2.11"}, func() error { return hasClaim(f.authzIDToken, "at_hash") })
			sev = Info
			if includes(r.ResponseType, "code") {
				sev = Failure
			}
			t.call("ExtractCHash", sev, []string{"OIDCC-3.3.2.11"}, func() error { return hasClaim(f.authzIDToken, "c_hash") })
		}
		t.checkHashes(f.authzIDToken, f.authzAccessToken, f.code)
	}
	if includes(r.ResponseType, "code") {
		t.call("EnsureMinimumAuthorizationCodeLength", Failure, []string{"RFC6749-10.10", "RFC6819-5.1.4.2-2"}, func() error {
			return checkLength("authorization code", f.code)
		})
		t.call("EnsureMinimumAuthorizationCodeEntropy", Failure, []string{"RFC6749-10.10", "RFC6819-5.1.4.2-2"}, func() error {
			return checkEntropy("authorization code", f.code)
		})
	}
	if includes(r.ResponseType, "token") {
		t.requestProtectedResource(f.authzAccessToken)
	}
	if includes(r.ResponseType, "code") && !o.noTokenRequest {
		t.exchangeCode(f, o)
		t.requestProtectedResource(f.accessToken)
	}
	return f
}

func hasClaim(tok *idToken, name string) error {
	if _, ok := tok.Claims[name]; !ok {
		return fmt.Errorf("id_token has no %s", name)
	}
	return nil
}

// checkHashes validates at_hash and c_hash when present (ValidateAtHash, ValidateCHash).
func (t *T) checkHashes(tok *idToken, accessToken, code string) {
	if _, ok := tok.Claims["at_hash"]; ok && accessToken != "" {
		t.call("ValidateAtHash", Failure, []string{"OIDCC-3.3.2.11"}, func() error { return checkHash(tok, "at_hash", accessToken) })
	}
	if _, ok := tok.Claims["c_hash"]; ok && code != "" {
		t.call("ValidateCHash", Failure, []string{"OIDCC-3.3.2.11"}, func() error { return checkHash(tok, "c_hash", code) })
	}
}

func (t *T) extractIDToken(cond, raw string) *idToken {
	var tok *idToken
	t.stop(cond, []string{"OIDCC-3.1.3.3", "OIDCC-3.3.2.5"}, func() error {
		if raw == "" {
			return errors.New("no id_token in the response")
		}
		var err error
		tok, err = parseIDToken(raw)
		return err
	})
	return tok
}

// checkIDToken is PerformStandardIdTokenChecks.
func (t *T) checkIDToken(tok *idToken, r *authRequest, o flowOpts) {
	t.call("ValidateIdToken", Failure, []string{"OIDCC-3.1.3.7"}, func() error {
		return validateIDToken(tok, t.issuer, r.Client.ClientID, time.Now())
	})
	t.call("ValidateIdTokenStandardClaims", Failure, []string{"OIDCC-5.1"}, func() error { return validateStandardClaims(tok.Claims) })
	t.call("ValidateIdTokenNonce", Failure, []string{"OIDCC-2"}, func() error { return checkNonce(tok, r.Nonce) })
	t.call("ValidateIdTokenSignature", Failure, []string{"OIDCC-3.1.3.7-6"}, func() error { return verifySignature(tok, t.jwks, false) })
	t.call("ValidateIdTokenSignatureUsingKid", Failure, []string{"OIDCC-10.1"}, func() error { return verifySignature(tok, t.jwks, true) })
	t.call("CheckForSubjectInIdToken", Failure, []string{"OIDCC-2"}, func() error { return checkSub(tok) })
	t.call("EnsureIdTokenUpdatedAtValid", Failure, []string{"OIDCC-5.1"}, func() error {
		if v, ok := tok.Claims["updated_at"]; ok {
			if _, num := v.(float64); !num {
				return fmt.Errorf("updated_at is not a number: %v", v)
			}
		}
		return nil
	})
	if o.serverTest {
		t.call("EnsureIdTokenDoesNotContainName", Warn, []string{"OIDCC-5.5", "OIDC-5.5.1"}, func() error {
			if _, ok := tok.Claims["name"]; ok {
				return errors.New("id_token contains name although only the openid scope was requested")
			}
			return nil
		})
	}
}

// exchangeCode is the suite's createAuthorizationCodeRequest + requestAuthorizationCode
// (OpenID Connect Core 1.0 §3.1.3).
func (t *T) exchangeCode(f *flowResult, o flowOpts) {
	form := url.Values{"grant_type": {"authorization_code"}, "code": {f.code}, "redirect_uri": {f.req.RedirectURI}}
	if f.req.CodeVerifier != "" {
		form.Set("code_verifier", f.req.CodeVerifier)
	}
	tr := t.tokenRequest(f.req.Client, t.authMethod(), form)
	f.token = tr
	t.checkTokenSuccess(tr)
	f.accessToken = tr.str("access_token")
	f.refreshToken = tr.str("refresh_token")
	f.tokenIDToken = t.extractIDToken("ExtractIdTokenFromTokenResponse", tr.str("id_token"))
	t.checkIDToken(f.tokenIDToken, f.req, o)
	t.checkHashes(f.tokenIDToken, f.accessToken, f.code)
	if f.authzIDToken != nil {
		t.call("VerifyIdTokenSubConsistentHybridFlow", Failure, []string{"OIDCC-2"}, func() error {
			if f.authzIDToken.Claims["sub"] != f.tokenIDToken.Claims["sub"] {
				return fmt.Errorf("sub differs between the authorization endpoint (%v) and token endpoint (%v) id_tokens",
					f.authzIDToken.Claims["sub"], f.tokenIDToken.Claims["sub"])
			}
			return nil
		})
	}
}
