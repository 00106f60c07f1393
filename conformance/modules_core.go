package conformance

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// The happy-flow modules: one authorization that must succeed, with a twist in the
// request (openid/OIDCCServerTest.java and its siblings).

var (
	oidccServer = &Module{Name: "oidcc-server", Summary: "happy flow: code/tokens, valid id_token, userinfo 200",
		Run: func(t *T) { t.happy(t.newAuthRequest(), flowOpts{serverTest: true}) }}

	oidccServerClientSecretPost = &Module{Name: "oidcc-server-client-secret-post",
		Summary: "happy flow authenticating with client_secret_post (the static client_secret_post client)",
		Run: func(t *T) {
			t.client = t.run.cfg.ClientSecretPost
			t.client.AuthMethod = "client_secret_post"
			t.happy(t.newAuthRequest(), flowOpts{serverTest: true})
		}}

	oidccIDTokenSignature = &Module{Name: "oidcc-idtoken-signature", Summary: "default alg: id_token has kid, alg RS256",
		NotApplicable: staticNA,
		Run: func(t *T) {
			f := t.happy(t.newAuthRequest(), flowOpts{})
			tok := f.idToken()
			t.call("EnsureIdTokenContainsKid", Failure, []string{"OIDCC-10.1"}, func() error {
				if tok.kid() == "" {
					return errors.New("id_token header has no kid")
				}
				return nil
			})
			t.call("EnsureIdTokenSignatureIsRS256", Failure, []string{"OIDCC-3.1.3.7"}, func() error {
				if tok.alg() != "RS256" {
					return fmt.Errorf("id_token alg is %q, not RS256", tok.alg())
				}
				return nil
			})
		}}

	oidccIDTokenUnsigned = &Module{Name: "oidcc-idtoken-unsigned", Flags: "S",
		Summary:       "registers id_token_signed_response_alg=none: unsigned id_token",
		NotApplicable: staticNA,
		Run:           func(t *T) { t.skip("requires dynamic client registration (id_token_signed_response_alg=none)") }}

	oidccUserinfoGet        = userinfoModule("oidcc-userinfo-get", userinfoGet, "GET with a Bearer header")
	oidccUserinfoPostHeader = userinfoModule("oidcc-userinfo-post-header", userinfoPostHeader, "POST with a Bearer header")
	oidccUserinfoPostBody   = userinfoModule("oidcc-userinfo-post-body", userinfoPostBody, "POST with access_token in the form body (W if refused)")

	oidccNoNonceCode = &Module{Name: "oidcc-ensure-request-without-nonce-succeeds-for-code-flow",
		Summary:       "no nonce: the code flow still succeeds",
		NotApplicable: responseTypesNA("id_token", "id_token token", "code id_token", "code id_token token"),
		Run: func(t *T) {
			r := t.newAuthRequest()
			r.Nonce = ""
			t.happy(r, flowOpts{noTokenRequest: true})
		}}

	oidccNoNonceFails = &Module{Name: "oidcc-ensure-request-without-nonce-fails", Flags: "R?",
		Summary:       "no nonce with an id_token from the authorization endpoint: invalid_request or an error page (OIDCC 3.2.2.1)",
		NotApplicable: responseTypesNA("code", "code token"),
		Run: func(t *T) {
			r := t.newAuthRequest()
			r.Nonce = ""
			t.pageOrError(r, "request_missing_nonce_error", func(resp url.Values) {
				t.expectError("CheckErrorFromAuthorizationEndpointErrorInvalidRequest", []string{"OIDCC-3.2.2.1"}, resp, "invalid_request")
			})
		}}

	oidccScopeProfile = scopeModule("oidcc-scope-profile", "openid profile", "profile")
	oidccScopeEmail   = scopeModule("oidcc-scope-email", "openid email", "email").withEmailChecks()
	oidccScopeAddress = scopeModule("oidcc-scope-address", "openid address", "address")
	oidccScopePhone   = scopeModule("oidcc-scope-phone", "openid phone", "phone")
	oidccScopeAll     = scopeModule("oidcc-scope-all", "openid profile email address phone", "profile", "email", "address", "phone")
	// OIDCEnsureOtherScopeOrderSucceeds extends OIDCCScopeEmail: "openid email" reversed.
	oidccScopeOrder = scopeModule("oidcc-ensure-other-scope-order-succeeds", "email openid", "email").withEmailChecks()

	oidccDisplayPage  = extraParamModule("oidcc-display-page", "L", "display=page: a normal login, no error", "display", "page")
	oidccDisplayPopup = extraParamModule("oidcc-display-popup", "L", "display=popup: a normal login, no error", "display", "popup")
	oidccUnknownParam = extraParamModule("oidcc-ensure-request-with-unknown-parameter-succeeds", "",
		"an unknown parameter extra=foobar is ignored (RFC 6749 §3.1)", "extra", "foobar")
	oidccClaimsLocales = extraParamModule("oidcc-claims-locales", "", "claims_locales=se: no error", "claims_locales", "se")

	oidccLoginHint = &Module{Name: "oidcc-login-hint", Flags: "L", Summary: "login_hint: no error",
		Run: func(t *T) {
			r := t.newAuthRequest()
			hint := t.run.cfg.Server.LoginHint
			if hint == "" {
				u, _ := url.Parse(t.issuer)
				hint = "buffy@" + u.Hostname()
			}
			r.Extra.Set("login_hint", hint)
			t.happy(r, flowOpts{})
		}}

	oidccUILocales = &Module{Name: "oidcc-ui-locales", Flags: "L", Summary: "ui_locales: no error",
		Run: func(t *T) {
			r := t.newAuthRequest()
			loc := t.run.cfg.Server.UILocales
			if loc == "" {
				loc = "se"
			}
			r.Extra.Set("ui_locales", loc)
			t.happy(r, flowOpts{})
		}}

	oidccAcrValues = &Module{Name: "oidcc-ensure-request-with-acr-values-succeeds", Flags: "W",
		Summary: "acr_values from acr_values_supported (else \"1 2\"): success; acr one of them",
		Run: func(t *T) {
			acr := "1 2"
			if list, err := stringList(t.server["acr_values_supported"]); err == nil && len(list) > 0 {
				acr = strings.Join(list, " ")
			}
			r := t.newAuthRequest()
			r.Extra.Set("acr_values", acr)
			f := t.happy(r, flowOpts{})
			tok := f.idToken()
			if got, ok := tok.Claims["acr"]; ok {
				t.call("ValidateIdTokenACRClaimAgainstAcrValuesRequest", Warn, []string{"OIDCC-3.1.2.1"}, func() error {
					for _, a := range strings.Fields(acr) {
						if got == a {
							return nil
						}
					}
					return fmt.Errorf("acr %v is not one of the requested %q", got, acr)
				})
			}
		}}

	oidccPostRequest = &Module{Name: "oidcc-ensure-post-request-succeeds", Flags: "W",
		Summary: "the authorization request sent as an HTML form POST succeeds (OIDCC 3.1.2.1); W if no callback",
		Run: func(t *T) {
			r := t.newAuthRequest()
			r.Post = true
			v := t.authorize(r)
			if v.Callback == nil {
				// The suite waits 30 s for the callback and then only warns.
				t.call("WaitForCallbackAfterPostRequest", Warn, []string{"OIDCC-3.1.2.1"}, func() error {
					return fmt.Errorf("no callback after the authorization request was POSTed; the OP showed %s (HTTP %d)", v.Page.URL, v.Page.Status)
				})
				return
			}
			t.complete(r, v, flowOpts{})
		}}

	oidccClaimsEssential = &Module{Name: "oidcc-claims-essential", Flags: "W",
		Summary: "name requested as essential (in userinfo; in the id_token for response_type=id_token): success; W if not returned",
		Run: func(t *T) {
			r := t.newAuthRequest()
			idTokenOnly := r.ResponseType == "id_token"
			if idTokenOnly {
				r.Extra.Set("claims", `{"id_token":{"name":{"essential":true}}}`)
			} else {
				r.Extra.Set("claims", `{"userinfo":{"name":{"essential":true}}}`)
			}
			f := t.happy(r, flowOpts{})
			if idTokenOnly {
				t.call("EnsureIdTokenContainsName", Warn, []string{"OIDCC-5.5", "OIDC-5.5.1"}, func() error {
					return hasClaim(f.authzIDToken, "name")
				})
				return
			}
			ur := t.callUserinfo(f.accessToken, userinfoGet)
			t.checkUserinfo(ur, f.authzIDToken, f.tokenIDToken)
			t.call("EnsureUserInfoContainsName", Warn, []string{"OIDCC-5.5", "OIDC-5.5.1"}, func() error {
				if _, ok := ur.JSON["name"]; !ok {
					return errors.New("userinfo has no name although it was requested as essential")
				}
				return nil
			})
			t.call("EnsureIdTokenDoesNotContainName", Warn, []string{"OIDCC-5.5", "OIDC-5.5.1"}, func() error {
				if _, ok := f.idToken().Claims["name"]; ok {
					return errors.New("the id_token contains name although it was requested for the userinfo endpoint only")
				}
				return nil
			})
		}}

	oidccPKCE = &Module{Name: "oidcc-ensure-request-with-valid-pkce-succeeds",
		Summary: "S256 PKCE from a confidential client succeeds (RFC 7636)",
		Run: func(t *T) {
			r := t.newAuthRequest()
			r.CodeVerifier = randomString(64)
			t.happy(r, flowOpts{})
		}}
)

func extraParamModule(name, flags, summary, key, value string) *Module {
	return &Module{Name: name, Flags: flags, Summary: summary, Run: func(t *T) {
		r := t.newAuthRequest()
		r.Extra.Set(key, value)
		t.happy(r, flowOpts{})
	}}
}

// userinfoModule is AbstractOIDCCUserInfoTest with one way of presenting the token.
func userinfoModule(name string, style userinfoStyle, how string) *Module {
	flags := ""
	if style == userinfoPostBody {
		flags = "W"
	}
	return &Module{Name: name, Flags: flags, Summary: "userinfo " + how + ": 200 JSON, sub equals the id_token's",
		NotApplicable: responseTypesNA("id_token"),
		Run: func(t *T) {
			f := t.happy(t.newAuthRequest(), flowOpts{})
			ur := t.callUserinfo(f.accessToken, style)
			if style == userinfoPostBody && ur.Status != 200 {
				t.call("CallUserInfoEndpointWithBearerTokenInBody", Warn, []string{"RFC6750-2.2"}, func() error {
					return fmt.Errorf("userinfo endpoint refused the token in the form body: HTTP %d", ur.Status)
				})
				return
			}
			t.call("EnsureHttpStatusCodeIs200", Failure, []string{"OIDCC-5.3.2"}, func() error {
				if ur.Status != 200 {
					return fmt.Errorf("userinfo endpoint returned HTTP %d", ur.Status)
				}
				return nil
			})
			t.checkUserinfo(ur, f.authzIDToken, f.tokenIDToken)
		}}
}

// scopeModule is AbstractOIDCCReturnedClaimsServerTest for a scope value.
func scopeModule(name, scope string, needed ...string) *Module {
	return &Module{Name: name, Flags: "S, W", Summary: "scope \"" + scope + "\": success; the scope's claims returned",
		Run: func(t *T) {
			t.call("OIDCCCheckScopesSupportedContainScopeTest", Info, nil, func() error {
				if _, ok := t.server["scopes_supported"]; !ok {
					return errors.New("scopes_supported absent: assuming the scopes are supported")
				}
				return nil
			})
			if list, err := stringList(t.server["scopes_supported"]); err == nil {
				for _, s := range needed {
					if !containsStr(list, s) {
						t.skip("scopes_supported from the discovery endpoint does not include %q; the scopes required for this test are not supported", s)
					}
				}
			}
			r := t.newAuthRequest()
			r.Scope = scope
			f := t.happy(r, flowOpts{})
			if f.accessToken != "" {
				var ur *userinfoResponse
				t.stop("CallUserInfoEndpointWithBearerToken", []string{"OIDCC-5.3.1"}, func() error {
					ur = t.callUserinfo(f.accessToken, userinfoGet)
					if ur.Status != 200 {
						return fmt.Errorf("userinfo endpoint returned HTTP %d", ur.Status)
					}
					return nil
				})
				t.checkUserinfo(ur, f.authzIDToken, f.tokenIDToken)
				t.call("VerifyScopesReturnedInUserInfoClaims", Warn, []string{"OIDCC-5.4"}, func() error {
					return missingScopeClaims(scope, ur.JSON)
				})
				if t.emailChecks {
					t.checkEmailScope(f, ur.JSON)
				}
				return
			}
			t.call("VerifyScopesReturnedInAuthorizationEndpointIdToken", Warn, []string{"OIDCC-5.4"}, func() error {
				return missingScopeClaims(scope, f.authzIDToken.Claims)
			})
			if t.emailChecks {
				t.checkEmailScope(f, nil)
			}
		}}
}

// withEmailChecks adds OIDCCScopeEmail's own WARNINGs: name in neither the id_token
// nor userinfo (only email was asked for), and email not in the id_token when an access
// token lets the client ask the userinfo endpoint (OpenID Connect Core 1.0 §5.4, §5.5).
func (m *Module) withEmailChecks() *Module {
	run := m.Run
	m.Run = func(t *T) {
		t.emailChecks = true
		run(t)
	}
	return m
}

func (t *T) checkEmailScope(f *flowResult, userinfo map[string]any) {
	for _, tok := range []*idToken{f.authzIDToken, f.tokenIDToken} {
		if tok == nil {
			continue
		}
		t.call("EnsureIdTokenDoesNotContainName", Warn, []string{"OIDCC-5.5", "OIDCC-5.5.1"}, func() error {
			if _, ok := tok.Claims["name"]; ok {
				return errors.New("the id_token contains name although only the email scope was requested")
			}
			return nil
		})
		if includes(f.req.ResponseType, "code") || includes(f.req.ResponseType, "token") {
			t.call("EnsureIdTokenDoesNotContainEmailForScopeEmail", Warn, []string{"OIDCC-5.4"}, func() error {
				if _, ok := tok.Claims["email"]; ok {
					return errors.New("the id_token contains email although an access token was issued (email belongs in userinfo)")
				}
				return nil
			})
		}
	}
	if userinfo != nil {
		t.call("EnsureUserInfoDoesNotContainName", Warn, []string{"OIDCC-5.5", "OIDCC-5.5.1"}, func() error {
			if _, ok := userinfo["name"]; ok {
				return errors.New("userinfo contains name although only the email scope was requested")
			}
			return nil
		})
	}
}

func containsStr(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
