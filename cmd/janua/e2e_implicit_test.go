package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/madfam-org/janua/oidc"
)

// The implicit (OIDC Core §3.2) and hybrid (§3.3) flows, in the fragment
// (their default) and form_post response modes: exactly the artefacts the
// response type names come back; the ID token verifies with go-oidc, names
// the nonce, and binds the access token (at_hash) and the code (c_hash);
// the code redeems for the same user; without an access token the scope
// claims are in the ID token.
func TestE2EImplicitAndHybrid(t *testing.T) {
	t.Parallel()
	eachBackend(t, nil, func(t *testing.T, o *op) {
		for _, alg := range []string{oidc.RS256, oidc.EdDSA} {
			spec := oidc.ClientSpec{
				GrantTypes:    []string{oidc.GrantAuthorizationCode, oidc.GrantImplicit},
				ResponseTypes: oidc.SupportedResponseTypes(),
			}
			spec.Metadata.IDTokenSignedResponseAlg = alg
			c := o.register(t, spec)
			rp := o.goRP(t, c, "openid", "email", "profile")
			for _, rt := range []string{"id_token", "id_token token", "code id_token", "code token", "code id_token token"} {
				for _, mode := range []string{"", "form_post"} {
					t.Run(alg+" "+rt+" "+mode, func(t *testing.T) {
						hybridFlow(t, o, rp, rt, mode)
					})
				}
			}
		}

		c := o.register(t, oidc.ClientSpec{GrantTypes: []string{oidc.GrantImplicit}, ResponseTypes: []string{"id_token token"}})
		for _, tc := range []struct {
			name  string
			drop  string
			extra url.Values
			error string
		}{
			// OIDC Core §3.2.2.1: nonce is required in the implicit flow.
			{"no nonce", "nonce", nil, "invalid_request"},
			// Tokens never travel in a query (OAuth 2.0 Multiple Response
			// Types §5): only the refusal does.
			{"query response mode", "", url.Values{"response_mode": {"query"}}, "unsupported_response_mode"},
			// Only the registered response types.
			{"unregistered response type", "", url.Values{"response_type": {"code"}}, "unsupported_response_type"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				q := url.Values{"client_id": {c.ID}, "response_type": {"id_token token"}, "scope": {"openid"},
					"state": {"st-123456"}, "nonce": {randomID(8)}, "redirect_uri": {c.Redirect}}
				q.Del(tc.drop)
				for k, v := range tc.extra {
					q[k] = v
				}
				resp := o.agent().authorize(o.issuer+pathAuthorize+"?"+q.Encode(), c.Redirect)
				for _, k := range []string{"access_token", "id_token", "code"} {
					if resp.Params.Has(k) {
						t.Fatalf("%s issued: mode %q %v", k, resp.Mode, resp.Params)
					}
				}
				if resp.Mode == "" {
					if resp.Status != http.StatusBadRequest || resp.Location != "" {
						t.Fatalf("page %d Location %q", resp.Status, resp.Location)
					}
					return
				}
				if resp.Get("error") == "" || (tc.error != "" && resp.Get("error") != tc.error) || resp.Get("state") != "st-123456" {
					t.Fatalf("mode %q %v, want error %s", resp.Mode, resp.Params, tc.error)
				}
			})
		}
	})
}

// hybridFlow runs one implicit or hybrid flow and checks its response.
func hybridFlow(t *testing.T, o *op, rp *goRP, rt, mode string) {
	t.Helper()
	has := func(p string) bool { return strings.Contains(" "+rt+" ", " "+p+" ") }
	opts := []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("response_type", rt)}
	if mode != "" {
		opts = append(opts, oauth2.SetAuthURLParam("response_mode", mode))
	}
	u, state, nonce, verifier := rp.authURL(opts...)
	resp := o.agent().authorize(u, rp.c.Redirect)
	want := mode
	if want == "" {
		want = "fragment"
	}
	if resp.Mode != want || resp.Get("state") != state || resp.Params.Has("error") {
		t.Fatalf("mode %q (want %s), params %v, status %d", resp.Mode, want, resp.Params, resp.Status)
	}
	for _, p := range []struct{ param, part string }{{"code", "code"}, {"id_token", "id_token"}, {"access_token", "token"}} {
		if resp.Params.Has(p.param) != has(p.part) {
			t.Errorf("%s present: %v, response type %q", p.param, resp.Params.Has(p.param), rt)
		}
	}
	at, code := resp.Get("access_token"), resp.Get("code")
	if has("token") && (resp.Get("token_type") != "bearer" && resp.Get("token_type") != "Bearer" || resp.Get("expires_in") == "") {
		t.Errorf("token_type %q, expires_in %q", resp.Get("token_type"), resp.Get("expires_in"))
	}
	var idt *gooidc.IDToken
	if has("id_token") {
		raw := resp.Get("id_token")
		var err error
		if idt, err = rp.verifier.Verify(o.ctx, raw); err != nil {
			t.Fatalf("go-oidc rejects the ID token: %v", err)
		}
		claims := map[string]any{}
		_ = idt.Claims(&claims)
		checkIDToken(t, o, rp.c, &signIn{RawID: raw, ID: idt, Claims: claims}, o.userID)
		if idt.Nonce != nonce {
			t.Errorf("nonce %q, want %q", idt.Nonce, nonce)
		}
		alg := jwtPart(t, raw, 0)["alg"].(string)
		if has("token") {
			if idt.AccessTokenHash == "" {
				t.Error("no at_hash beside an access token")
			} else if err := idt.VerifyAccessToken(at); err != nil {
				t.Errorf("at_hash: %v", err)
			}
		}
		if has("code") && claims["c_hash"] != halfHash(alg, code) {
			t.Errorf("c_hash %v, want %s", claims["c_hash"], halfHash(alg, code))
		}
		// No access token, no userinfo: the scope claims are in the ID token.
		if !has("token") && !has("code") && claims["email"] != o.email {
			t.Errorf("id_token only: email %v", claims["email"])
		}
	}
	if at != "" {
		if st, ui := o.userinfo(t, at); st != http.StatusOK || ui["sub"] != o.userID {
			t.Errorf("userinfo with the front-channel access token: %d %v", st, ui)
		}
	}
	if has("code") {
		s := rp.exchange(code, nonce, verifier)
		if idt != nil && s.ID.Subject != idt.Subject {
			t.Errorf("the code's ID token names %s, the front channel's %s", s.ID.Subject, idt.Subject)
		}
	}
}
