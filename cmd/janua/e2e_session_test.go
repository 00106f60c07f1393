package main

import (
	"crypto/rand"
	"crypto/rsa"
	"slices"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"

	"github.com/madfam-org/janua/oidc"
	"github.com/madfam-org/janua/storage"
	"github.com/madfam-org/janua/storage/storagetest"
)

// promptNone asks for a code without any UI (OIDC Core §3.1.2.1) and
// returns the response, which must not have shown a page.
func promptNone(t *testing.T, rp *goRP, a *agent, opts ...oauth2.AuthCodeOption) (resp *authResponse, state, nonce, verifier string) {
	t.Helper()
	u, state, nonce, verifier := rp.authURL(append(opts, oauth2.SetAuthURLParam("prompt", "none"))...)
	resp = a.authorize(u, rp.c.Redirect)
	if len(resp.Shown) > 0 || resp.Mode == "" {
		t.Fatalf("prompt=none showed %v (status %d, params %v)", resp.Shown, resp.Status, resp.Params)
	}
	return resp, state, nonce, verifier
}

// prompt=none: with an SSO session, a code at once for the same user and
// sign-in; without one, login_required through the response mode, with
// state and iss.
func TestE2EPromptNone(t *testing.T) {
	t.Parallel()
	eachBackend(t, nil, func(t *testing.T, o *op) {
		c := o.register(t, oidc.ClientSpec{})
		rp := o.goRP(t, c)
		a := o.agent()
		for _, mode := range []string{"query", "form_post", "fragment"} {
			resp, state, _, _ := promptNone(t, rp, a, oauth2.SetAuthURLParam("response_mode", mode))
			if resp.Mode != mode || resp.Get("error") != "login_required" || resp.Get("state") != state || resp.Params.Has("code") {
				t.Fatalf("not signed in, %s: mode %q %v", mode, resp.Mode, resp.Params)
			}
		}
		s := rp.login(a)
		resp, _, nonce, verifier := promptNone(t, rp, a)
		again := rp.exchange(resp.Get("code"), nonce, verifier)
		for _, k := range []string{"sub", "auth_time", "sid"} {
			if again.Claims[k] != s.Claims[k] {
				t.Errorf("prompt=none: %s %v, was %v", k, again.Claims[k], s.Claims[k])
			}
		}
		checkIDToken(t, o, c, again, o.userID)
	})
}

// prompt=login and max_age make the user sign in again (OIDC Core
// §3.1.2.1): the new auth_time is later; a max_age the session satisfies
// asks nothing and keeps auth_time.
func TestE2EReauthentication(t *testing.T) {
	t.Parallel()
	eachBackend(t, nil, func(t *testing.T, o *op) {
		c := o.register(t, oidc.ClientSpec{})
		rp := o.goRP(t, c)
		a := o.agent()
		authTime := func(s *signIn) float64 { return s.Claims["auth_time"].(float64) }
		first := rp.login(a)

		kept := rp.login(a, oauth2.SetAuthURLParam("max_age", "10000"))
		if len(kept.Response.Shown) > 0 || authTime(kept) != authTime(first) {
			t.Fatalf("max_age=10000: shown %v, auth_time %v (was %v)", kept.Response.Shown, authTime(kept), authTime(first))
		}
		if resp, _, _, _ := promptNone(t, rp, a, oauth2.SetAuthURLParam("max_age", "0")); resp.Get("error") != "login_required" {
			t.Fatalf("max_age=0 with prompt=none: %v", resp.Params)
		}

		time.Sleep(1100 * time.Millisecond) // auth_time counts whole seconds
		aged := rp.login(a, oauth2.SetAuthURLParam("max_age", "1"))
		if !slices.Equal(aged.Response.Shown, []string{"login"}) || authTime(aged) <= authTime(first) {
			t.Fatalf("max_age=1: shown %v, auth_time %v (was %v)", aged.Response.Shown, authTime(aged), authTime(first))
		}
		forced := rp.login(a, oauth2.SetAuthURLParam("prompt", "login"))
		if !slices.Equal(forced.Response.Shown, []string{"login"}) || authTime(forced) < authTime(aged) {
			t.Fatalf("prompt=login: shown %v, auth_time %v (was %v)", forced.Response.Shown, authTime(forced), authTime(aged))
		}
		if forced.Claims["sub"] != first.Claims["sub"] {
			t.Errorf("sub changed: %v", forced.Claims["sub"])
		}

		// A client's default_max_age applies when the request has no
		// max_age (OIDC Registration §2), and a request's max_age wins.
		strict := o.goRP(t, o.register(t, oidc.ClientSpec{FirstParty: true, Metadata: storage.ClientMetadata{DefaultMaxAge: 1}}))
		time.Sleep(1100 * time.Millisecond)
		if again := strict.login(a); !slices.Equal(again.Response.Shown, []string{"login"}) {
			t.Fatalf("default_max_age=1: shown %v, want a sign-in", again.Response.Shown)
		}
		time.Sleep(1100 * time.Millisecond)
		if kept := strict.login(a, oauth2.SetAuthURLParam("max_age", "10000")); len(kept.Response.Shown) > 0 {
			t.Fatalf("max_age=10000 over default_max_age=1: shown %v", kept.Response.Shown)
		}
	})
}

// id_token_hint (OIDC Core §3.1.2.1): a hint Janua issued for the signed-in
// user answers prompt=none silently; one for another user needs a sign-in;
// an unsigned, forged or foreign hint is an error — never a code.
func TestE2EIDTokenHint(t *testing.T) {
	t.Parallel()
	// A token from another Janua: a real ID token, another issuer and keys.
	other := newOP(t, storagetest.SQLiteBackend(), nil)
	oc := other.register(t, oidc.ClientSpec{FirstParty: true})
	foreign := other.goRP(t, oc).login(other.agent()).RawID

	eachBackend(t, nil, func(t *testing.T, o *op) {
		c := o.register(t, oidc.ClientSpec{})
		rp := o.goRP(t, c)
		a := o.agent()
		s := rp.login(a)

		// Another user's genuine ID token.
		o.user("bob@example.com", false)
		bobAgent := o.agent()
		bobAgent.email = "bob@example.com"
		bob := rp.login(bobAgent)

		resp, _, nonce, verifier := promptNone(t, rp, a, oauth2.SetAuthURLParam("id_token_hint", s.RawID))
		if again := rp.exchange(resp.Get("code"), nonce, verifier); again.ID.Subject != s.ID.Subject {
			t.Fatalf("valid hint: sub %s", again.ID.Subject)
		}
		if resp, _, _, _ := promptNone(t, rp, a, oauth2.SetAuthURLParam("id_token_hint", bob.RawID)); resp.Get("error") != "login_required" || resp.Params.Has("code") {
			t.Fatalf("another user's hint: %v", resp.Params)
		}

		// A genuine ID token of another issuer on the same keys: a second
		// Janua on this database.
		sib := o.sibling(t)
		sibling := sib.goRP(t, c).login(sib.agent()).RawID
		if iss := jwtPart(t, sibling, 1)["iss"]; iss == o.issuer || jwtPart(t, sibling, 0)["kid"] != jwtPart(t, s.RawID, 0)["kid"] {
			t.Fatalf("the sibling's ID token: iss %v", iss)
		}

		forgeKey, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		header := jwtPart(t, s.RawID, 0)
		for _, tc := range []struct{ name, hint string }{
			{"alg none", unsignedJWT(s.Claims)},
			{"forged with Janua's kid", signJWT(t, forgeKey, header["kid"].(string), jose.RS256, s.Claims)},
			{"another Janua's", foreign},
			{"another issuer's, same keys", sibling},
			{"garbage", "not.a.jwt"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				for _, prompt := range []string{"none", ""} {
					u, state, _, _ := rp.authURL(oauth2.SetAuthURLParam("id_token_hint", tc.hint), oauth2.SetAuthURLParam("prompt", prompt))
					resp := a.authorize(u, c.Redirect)
					if resp.Mode == "" || resp.Get("error") != "invalid_request" || resp.Get("state") != state || resp.Params.Has("code") {
						t.Fatalf("prompt=%q: mode %q params %v status %d", prompt, resp.Mode, resp.Params, resp.Status)
					}
				}
			})
		}
	})
}
