package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/madfam-org/janua/oidc"
)

// RP-Initiated Logout 1.0: with an ID token Janua issued as hint and a
// post_logout_redirect_uri registered for its client, Janua ends the SSO
// session and redirects there with state; without a hint or without a URI
// it ends the session and shows the signed-out page, never redirecting; an
// unregistered or altered URI, or a hint Janua did not issue, is an error
// page that ends nothing.
func TestE2ERPInitiatedLogout(t *testing.T) {
	t.Parallel()
	eachBackend(t, nil, func(t *testing.T, o *op) {
		const after = "https://rp.example.com/logged-out"
		c := o.register(t, oidc.ClientSpec{PostLogoutRedirectURIs: []string{after}})
		other := o.register(t, oidc.ClientSpec{})
		rp := o.goRP(t, c)
		clientKey, _ := newClientKey(t)

		// signedIn reports whether prompt=none still gets a code.
		signedIn := func(t *testing.T, a *agent) bool {
			t.Helper()
			resp, _, _, _ := promptNone(t, rp, a)
			return resp.Get("code") != ""
		}
		for _, tc := range []struct {
			name string
			// params builds the request from the signed-in user's ID token.
			params   func(idToken string, claims map[string]any) url.Values
			redirect bool // to after, with the request's state
			ended    bool // the SSO session
		}{
			{"hint, registered URI and state", func(h string, _ map[string]any) url.Values {
				return url.Values{"id_token_hint": {h}, "post_logout_redirect_uri": {after}, "state": {"s-" + randomID(64)}}
			}, true, true},
			{"hint and registered URI, no state", func(h string, _ map[string]any) url.Values {
				return url.Values{"id_token_hint": {h}, "post_logout_redirect_uri": {after}}
			}, true, true},
			{"hint, URI and the hint's client_id", func(h string, _ map[string]any) url.Values {
				return url.Values{"id_token_hint": {h}, "post_logout_redirect_uri": {after}, "client_id": {c.ID}, "state": {"st"}}
			}, true, true},
			{"no parameters", func(string, map[string]any) url.Values { return url.Values{} }, false, true},
			{"only state", func(string, map[string]any) url.Values { return url.Values{"state": {"st"}} }, false, true},
			{"URI without a hint", func(string, map[string]any) url.Values {
				return url.Values{"post_logout_redirect_uri": {after}, "state": {"st"}}
			}, false, true},
			{"hint and state, no URI", func(h string, _ map[string]any) url.Values {
				return url.Values{"id_token_hint": {h}, "state": {"st"}}
			}, false, true},
			{"unregistered URI", func(h string, _ map[string]any) url.Values {
				return url.Values{"id_token_hint": {h}, "post_logout_redirect_uri": {"https://evil.example.net/"}, "state": {"st"}}
			}, false, false},
			{"query added to the URI", func(h string, _ map[string]any) url.Values {
				return url.Values{"id_token_hint": {h}, "post_logout_redirect_uri": {after + "?foo=bar"}, "state": {"st"}}
			}, false, false},
			{"another client's URI", func(h string, _ map[string]any) url.Values {
				return url.Values{"id_token_hint": {h}, "post_logout_redirect_uri": {other.Redirect}, "state": {"st"}}
			}, false, false},
			{"client_id not the hint's", func(h string, _ map[string]any) url.Values {
				return url.Values{"id_token_hint": {h}, "post_logout_redirect_uri": {after}, "client_id": {other.ID}}
			}, false, false},
			{"hint re-encoded alg none", func(_ string, cl map[string]any) url.Values {
				return url.Values{"id_token_hint": {unsignedJWT(cl)}, "post_logout_redirect_uri": {after}, "state": {"st"}}
			}, false, false},
			{"hint signed by another key", func(h string, cl map[string]any) url.Values {
				forged := signJWT(t, clientKey, "forged", jose.ES256, cl)
				return url.Values{"id_token_hint": {forged}, "post_logout_redirect_uri": {after}, "state": {"st"}}
			}, false, false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				a := o.agent()
				s := rp.login(a)
				q := tc.params(s.RawID, s.Claims)
				resp := a.visit(o.issuer+pathLogout+"?"+q.Encode(), after)
				switch {
				case tc.redirect:
					want := url.Values{}
					if st := q.Get("state"); st != "" {
						want.Set("state", st)
					}
					if resp.Mode != "query" || resp.Params.Encode() != want.Encode() {
						t.Fatalf("want a redirect to %s with %v, got mode %q %v (status %d)", after, want, resp.Mode, resp.Params, resp.Status)
					}
				case tc.ended:
					if resp.Mode != "" || resp.Status != http.StatusOK || resp.Location != "" || !strings.Contains(resp.Page, `id="signedout-title"`) {
						t.Fatalf("want the signed-out page: mode %q status %d Location %q\n%.400s", resp.Mode, resp.Status, resp.Location, resp.Page)
					}
				default:
					if resp.Mode != "" || resp.Status != http.StatusBadRequest || resp.Location != "" || !strings.Contains(resp.Page, `id="error-title"`) {
						t.Fatalf("want an error page: mode %q status %d Location %q\n%.400s", resp.Mode, resp.Status, resp.Location, resp.Page)
					}
				}
				if got := signedIn(t, a); got == tc.ended {
					t.Errorf("signed in after the request: %v, want %v", got, !tc.ended)
				}
			})
		}

		// POST works like GET (RP-Initiated Logout §2).
		t.Run("POST", func(t *testing.T) {
			a := o.agent()
			s := rp.login(a)
			res := a.do(http.MethodPost, o.issuer+pathLogout, url.Values{"id_token_hint": {s.RawID}, "post_logout_redirect_uri": {after}, "state": {"st"}})
			if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != after+"?state=st" {
				t.Fatalf("POST logout: %d %q", res.StatusCode, res.Header.Get("Location"))
			}
			if signedIn(t, a) {
				t.Error("still signed in")
			}
		})
	})
}
