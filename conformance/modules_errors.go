package conformance

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/url"
	"time"
)

// The modules whose correct outcome is a refusal: a missing response_type, an
// unregistered redirect_uri, a reused code, request objects.

var (
	oidccResponseTypeMissing = &Module{Name: "oidcc-response-type-missing", Flags: "R?",
		Summary: "no response_type: redirect with invalid_request/unsupported_response_type, or an error page (RFC 6749 §3.1.1)",
		Run: func(t *T) {
			r := t.newAuthRequest()
			r.ResponseType = ""
			t.pageOrError(r, "response_type_missing_error", func(resp url.Values) {
				t.expectError("CheckErrorFromAuthorizationEndpointErrorInvalidRequestOrUnsupportedResponseType", []string{"RFC6749-3.1.1"},
					resp, "invalid_request", "unsupported_response_type")
			})
		}}

	oidccRegisteredRedirectURI = &Module{Name: "oidcc-ensure-registered-redirect-uri", Flags: "R",
		Summary: "redirect_uri=<redirect_uri>/<random>: an error page; a redirect anywhere fails (RFC 6749 §3.1.2.4)",
		Run: func(t *T) {
			r := t.newAuthRequest()
			r.RedirectURI = t.run.cfg.Runner.RedirectURI + "/" + randomString(10)
			t.pageOnly(r, "redirect_uri_error")
		}}

	oidccCodeReuse = &Module{Name: "oidcc-codereuse", Flags: "W",
		Summary:       "redeem the code twice: 400 JSON invalid_grant (W if the second redemption succeeds)",
		NotApplicable: responseTypesNA("id_token", "id_token token"),
		Run: func(t *T) {
			f := t.happy(t.newAuthRequest(), flowOpts{})
			t.note("redeeming the same authorization code again")
			tr := t.redeemAgain(f)
			t.expectTokenError(tr, Warn, "invalid_grant")
		}}

	oidccCodeReuse30s = &Module{Name: "oidcc-codereuse-30seconds", Flags: "W", Slow: true,
		Summary:       "redeem the code again after 30 s: 400 JSON invalid_grant; W if the first access token still works",
		NotApplicable: responseTypesNA("id_token", "id_token token"),
		Run: func(t *T) {
			f := t.happy(t.newAuthRequest(), flowOpts{})
			t.sleep(30 * time.Second)
			tr := t.redeemAgain(f)
			t.expectTokenError(tr, Failure, "invalid_grant")
			ur := t.callUserinfo(f.accessToken, userinfoGet)
			t.call("EnsureAccessTokenRevokedAfterCodeReuse", Warn, []string{"RFC6749-4.1.2", "RFC6819-5.2.1.1"}, func() error {
				if ur.Status == 200 {
					return errors.New("the access token issued for the reused code still works at the userinfo endpoint (it SHOULD be revoked)")
				}
				return nil
			})
		}}

	oidccUnsignedRequestObject = &Module{Name: "oidcc-unsigned-request-object-supported-correctly-or-rejected-as-unsupported", Flags: "S",
		Summary: "request=<alg none JWT> with state and nonce only inside: honoured, or request_not_supported (SKIPPED)",
		Run: func(t *T) {
			t.skipIfNoneUnsupported()
			r := t.newAuthRequest()
			v := t.authorize(t.requestObject(r, ""))
			resp := t.callback(r, v)
			if resp.Get("error") == "request_not_supported" {
				// AbstractOIDCCRequestObjectServerTest.skipTestIfRequestObjectNotSupported
				t.skip("The response from the authorization endpoint indicates that it does not support request objects, so request objects cannot be tested.")
			}
			// State and nonce were only inside the object: an OP that ignored it
			// returns no state, and CheckStateInAuthorizationResponse fails.
			t.finish(r, v, resp, flowOpts{})
		}}

	oidccRequestObjectRedirectURI = &Module{Name: "oidcc-ensure-request-object-with-redirect-uri", Flags: "R?, S",
		Summary: "valid redirect_uri inside the request object, <redirect_uri>_invalid outside: use the object's, or an error page",
		Run: func(t *T) {
			t.skipIfNoneUnsupported()
			r := t.newAuthRequest()
			v := t.authorize(t.requestObject(r, t.run.cfg.Runner.RedirectURI+"_invalid"))
			if v.Callback == nil {
				t.placeholder("redirect_uri_error", v.Page)
				return
			}
			resp := t.callback(r, v)
			if resp.Get("error") == "request_not_supported" {
				t.fail("EnsureOPDoesNotUseDefaultRedirectUriInCaseOfInvalidRedirectUri",
					"the OP redirected request_not_supported to the registered redirect_uri although the redirect_uri outside the request object was invalid")
			}
			t.finish(r, v, resp, flowOpts{})
		}}

	oidccRequestURIUnsigned = &Module{Name: "oidcc-request-uri-unsigned-supported-correctly-or-rejected-as-unsupported", Flags: "S",
		Summary:       "request_uri to an unsigned request object hosted by the suite",
		NotApplicable: staticNA,
		Run:           func(t *T) { t.skip("not run with a static client") }}
)

// redeemAgain presents the flow's authorization code once more.
func (t *T) redeemAgain(f *flowResult) *tokenResponse {
	form := url.Values{"grant_type": {"authorization_code"}, "code": {f.code}, "redirect_uri": {f.req.RedirectURI}}
	return t.tokenRequest(f.req.Client, t.authMethod(), form)
}

// skipIfNoneUnsupported is AbstractOIDCCServerTest.skipTestIfNoneUnsupported.
func (t *T) skipIfNoneUnsupported() {
	if list, present := t.server["request_object_signing_alg_values_supported"]; present {
		if !containsString(list, "none") {
			t.skip("'none' is not listed in request_object_signing_alg_values_supported - assuming it is not supported")
		}
	}
}

// requestObject moves r's parameters into an unsigned request object (OpenID Connect
// Core 1.0 §6.1, alg none) sent by value: state and nonce only inside it; client_id,
// response_type, scope and redirect_uri also outside, as OAuth 2.0 requires. A non-empty
// outerRedirect replaces the redirect_uri outside the object.
func (t *T) requestObject(r *authRequest, outerRedirect string) *authRequest {
	claims := map[string]any{"iss": r.Client.ClientID, "aud": t.issuer}
	for k, vs := range r.params() {
		claims[k] = vs[0]
	}
	if c, ok := claims["claims"].(string); ok {
		var parsed any
		if json.Unmarshal([]byte(c), &parsed) == nil {
			claims["claims"] = parsed
		}
	}
	header := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none"}`))
	payload, _ := json.Marshal(claims)
	jwt := header + "." + base64.RawURLEncoding.EncodeToString(payload) + "."
	outer := *r
	outer.State, outer.Nonce, outer.CodeVerifier = "", "", ""
	outer.Extra = url.Values{"request": {jwt}}
	if r.ResponseMode != "" {
		outer.Extra.Set("response_mode", r.ResponseMode)
		outer.ResponseMode = ""
	}
	if outerRedirect != "" {
		outer.RedirectURI = outerRedirect
	}
	t.note("request object (alg none) carries %d parameters; outside: client_id, response_type, scope, redirect_uri=%s", len(claims), outer.RedirectURI)
	return &outer
}
