package conformance

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/url"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// OpenID Connect RP-Initiated Logout 1.0 (AbstractOIDCCRpInitiatedLogout): a normal
// code flow with a 128-character state, then the browser goes to the
// end_session_endpoint; a module either expects the redirect to the
// post_logout_redirect_uri and that the user is really logged out (prompt=none then
// fails), or expects the OP never to redirect (an error or logout page, REVIEW).

// endSession describes the end-session request of one module.
type endSession struct {
	hint     func(t *T, idToken string) string // "" leaves id_token_hint out
	redirect func(t *T) string                 // "" leaves post_logout_redirect_uri out
	state    bool
	// redirects says the OP must redirect to the post_logout_redirect_uri.
	redirects bool
}

func sameHint(_ *T, tok string) string { return tok }
func registeredLogout(t *T) string     { return t.run.cfg.Runner.PostLogoutRedirectURI }

func logoutModule(name, flags, summary string, es endSession) *Module {
	return &Module{Name: name, Flags: flags, Summary: summary, Run: func(t *T) { t.rpLogout(es) }}
}

var (
	oidccRPLogout = logoutModule("oidcc-rp-initiated-logout", "",
		"full request: redirect to post_logout_redirect_uri with exactly state; then prompt=none fails",
		endSession{hint: sameHint, redirect: registeredLogout, state: true, redirects: true})
	oidccRPLogoutBadRedirect = logoutModule("oidcc-rp-initiated-logout-bad-post-logout-redirect-uri", "R",
		"unregistered post_logout_redirect_uri: never redirect",
		endSession{hint: sameHint, redirect: func(t *T) string { return t.run.cfg.Runner.PostLogoutRedirectURI + "_bad" }, state: true})
	oidccRPLogoutModifiedHint = logoutModule("oidcc-rp-initiated-logout-modified-id-token-hint", "R",
		"id_token_hint re-encoded as alg none: never redirect",
		endSession{hint: func(_ *T, tok string) string { return unsign(tok) }, redirect: registeredLogout, state: true})
	oidccRPLogoutNoHint = logoutModule("oidcc-rp-initiated-logout-no-id-token-hint", "R",
		"post_logout_redirect_uri without id_token_hint: never redirect",
		endSession{redirect: registeredLogout, state: true})
	oidccRPLogoutNoParams = logoutModule("oidcc-rp-initiated-logout-no-params", "R",
		"no parameters: log out, a logged-out page, no redirect", endSession{})
	oidccRPLogoutNoRedirect = logoutModule("oidcc-rp-initiated-logout-no-post-logout-redirect-uri", "R",
		"id_token_hint and state only: log out, a logged-out page, no redirect",
		endSession{hint: sameHint, state: true})
	oidccRPLogoutNoState = logoutModule("oidcc-rp-initiated-logout-no-state", "",
		"no state: redirect with no state; then prompt=none fails",
		endSession{hint: sameHint, redirect: registeredLogout, redirects: true})
	oidccRPLogoutOnlyState = logoutModule("oidcc-rp-initiated-logout-only-state", "R",
		"only state: log out, a logged-out page, no redirect", endSession{state: true})
	oidccRPLogoutQueryAdded = logoutModule("oidcc-rp-initiated-logout-query-added-to-post-logout-redirect-uri", "R",
		"registered post_logout_redirect_uri plus ?foo=bar: never redirect",
		endSession{hint: sameHint, redirect: func(t *T) string { return t.run.cfg.Runner.PostLogoutRedirectURI + "?foo=bar" }, state: true})
	oidccRPLogoutBadHint = logoutModule("oidcc-rp-initiated-logout-bad-id-token-hint", "R",
		"id_token_hint signed by the suite's own key: never redirect",
		endSession{hint: func(t *T, tok string) string { return t.forgedHint(tok) }, redirect: registeredLogout, state: true})
)

func (t *T) rpLogout(es endSession) {
	t.call("EnsureServerConfigurationHasEndSessionEndpoint", Failure, []string{"OIDCRIL-2.1"}, func() error {
		return httpsURL(t.endpoint("end_session_endpoint"))
	})
	if t.endpoint("end_session_endpoint") == "" {
		t.fail("EnsureServerConfigurationHasEndSessionEndpoint", "no end_session_endpoint")
	}
	r := t.newAuthRequest()
	r.State = randomString(128)
	f := t.happy(r, flowOpts{})

	u, _ := url.Parse(t.endpoint("end_session_endpoint"))
	q := u.Query()
	state := randomString(10)
	if es.hint != nil {
		q.Set("id_token_hint", es.hint(t, f.idToken().Raw))
	}
	if es.redirect != nil {
		q.Set("post_logout_redirect_uri", es.redirect(t))
	}
	if es.state {
		q.Set("state", state)
	}
	u.RawQuery = q.Encode()
	t.note("Redirecting to end session endpoint with %v", keys(q))
	v, err := t.ua.Get(t.ctx, u.String(), NavOptions{})
	if v != nil {
		t.note("browser: %s", strings.Join(v.Trail, " | "))
	}
	if err != nil {
		t.fail("BrowserNavigation", "%v", err)
	}
	if v.Foreign != "" {
		t.fail("BrowserNavigation", "the OP sent the browser to %s", v.Foreign)
	}
	if !es.redirects {
		if v.Callback != nil {
			t.fail("EnsureNoRedirectToPostLogoutRedirectUri", "the OP redirected to %s; it must show an error or logout page instead (OIDCRIL-3)", redactURL(v.Callback.URL))
		}
		t.placeholder("logout_page", v.Page)
		return
	}
	if v.Callback == nil {
		where := "nothing"
		if v.Page != nil {
			where = fmt.Sprintf("a page (%s, HTTP %d, %q)", v.Page.URL, v.Page.Status, v.Page.Title)
		}
		t.fail("ExpectRedirectToPostLogoutRedirectUri", "the OP did not redirect to the post_logout_redirect_uri; it showed %s", where)
	}
	hit := v.Callback
	t.call("CheckPostLogoutRedirectTarget", Failure, []string{"OIDCRIL-3"}, func() error {
		want, _ := url.Parse(t.run.cfg.Runner.PostLogoutRedirectURI)
		if hit.Path != want.Path {
			return fmt.Errorf("redirected to %s, not the post_logout_redirect_uri", hit.Path)
		}
		return nil
	})
	if es.state {
		t.call("CheckPostLogoutState", Failure, []string{"OIDCRIL-3"}, func() error {
			if got := hit.Query.Get("state"); got != state {
				return fmt.Errorf("state is %q, sent %q", got, state)
			}
			return nil
		})
	} else {
		t.call("CheckPostLogoutStateAbsent", Failure, []string{"OIDCRIL-3"}, func() error {
			if hit.Query.Has("state") {
				return fmt.Errorf("state %q returned although none was sent", hit.Query.Get("state"))
			}
			return nil
		})
	}
	t.call("CheckForUnexpectedParametersInPostLogoutRedirect", Warn, []string{"OIDCRIL-3"}, func() error {
		for k := range hit.Query {
			if k != "state" {
				return fmt.Errorf("unexpected parameter %q on the post-logout redirect", k)
			}
		}
		return nil
	})
	// Second authorization: the user must really be logged out.
	r2 := t.newAuthRequest()
	r2.State = randomString(128)
	r2.Extra.Set("prompt", "none")
	r2.NoInteraction = true
	v2 := t.authorize(r2)
	resp := t.callback(r2, v2)
	t.checkErrorResponse(r2, resp)
	t.expectError("CheckErrorFromAuthorizationEndpointIsOneThatRequiredAUserInterface", []string{"OIDCC-3.1.2.6"}, resp,
		"login_required", "interaction_required", "consent_required", "account_selection_required")
}

func keys(v url.Values) []string {
	out := make([]string, 0, len(v))
	for k := range v {
		out = append(out, k)
	}
	return out
}

// unsign re-encodes an id_token with alg none and no signature
// (OIDCCRpInitiatedLogoutModifiedIdTokenHint).
func unsign(tok string) string {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return tok
	}
	return base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none"}`)) + "." + parts[1] + "."
}

// forgedHint is the id_token's claims signed with a key the OP has never seen, issued
// by the client (OIDCCRpInitiatedLogoutBadIdTokenHint).
func (t *T) forgedHint(tok string) string {
	parsed, err := parseIDToken(tok)
	if err != nil {
		t.fail("CreateBadIdTokenHint", "%v", err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "conformance-suite"))
	if err != nil {
		t.fail("CreateBadIdTokenHint", "%v", err)
	}
	claims := map[string]any{}
	for k, v := range parsed.Claims {
		claims[k] = v
	}
	claims["iss"] = t.client.ClientID
	claims["iat"] = time.Now().Unix()
	out, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		t.fail("CreateBadIdTokenHint", "%v", err)
	}
	return out
}
