package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/madfam-org/janua/oidc"
)

// An authorization request Janua cannot answer safely — an unknown client,
// or a redirect URI that is not exactly one the client registered — gets
// an error page (HTTP 400, HTML) and never a redirect: sending the browser
// anywhere would make Janua an open redirector (RFC 6749 §4.1.2.1, RFC 9700
// §4.1).
func TestE2ERedirectURIRefusals(t *testing.T) {
	t.Parallel()
	eachBackend(t, nil, func(t *testing.T, o *op) {
		c := o.register(t, oidc.ClientSpec{})
		two := o.register(t, oidc.ClientSpec{RedirectURIs: []string{"https://two.example.com/a", "https://two.example.com/b"}})
		withQuery := o.register(t, oidc.ClientSpec{RedirectURIs: []string{"https://q.example.com/cb?bar=foo"}})
		for _, tc := range []struct {
			name     string
			clientID string
			redirect string // "-" leaves it out
		}{
			{"unknown client", "no-such-client", c.Redirect},
			{"unregistered", c.ID, "https://evil.example.net/cb"},
			{"other path", c.ID, c.Redirect + "/other"},
			{"query added", c.ID, c.Redirect + "?foo=bar"},
			{"fragment added", c.ID, c.Redirect + "#x"},
			{"query changed", withQuery.ID, "https://q.example.com/cb?foo=bar"},
			{"query dropped", withQuery.ID, "https://q.example.com/cb"},
			{"http for https", c.ID, strings.Replace(c.Redirect, "https:", "http:", 1)},
			{"missing, two registered", two.ID, "-"},
			{"missing, one registered", c.ID, "-"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				q := url.Values{"client_id": {tc.clientID}, "response_type": {"code"}, "scope": {"openid"},
					"state": {"st-123456"}, "nonce": {"n"}, "redirect_uri": {tc.redirect}}
				if tc.redirect == "-" {
					q.Del("redirect_uri")
				}
				a := o.agent()
				resp := a.visit(o.issuer+pathAuthorize+"?"+q.Encode(), "")
				if resp.Status != http.StatusBadRequest || resp.Location != "" || !strings.Contains(resp.Page, `id="error-title"`) {
					t.Fatalf("status %d, Location %q, page:\n%.400s", resp.Status, resp.Location, resp.Page)
				}
				if len(resp.Shown) > 0 {
					t.Errorf("pages shown before the refusal: %v", resp.Shown)
				}
			})
		}
		// The registered URI with its query, exactly, works.
		t.Run("registered query kept", func(t *testing.T) {
			s := o.goRP(t, withQuery).login(o.agent())
			if got := s.Response.URL.String() + "?bar=" + s.Response.Get("bar"); got != withQuery.Redirect {
				t.Errorf("landed at %s", got)
			}
		})
	})
}

// A code is good once (RFC 6749 §4.1.2): a second redemption is 400
// invalid_grant and revokes what the first one issued (§10.5).
func TestE2ECodeReuse(t *testing.T) {
	t.Parallel()
	eachBackend(t, nil, func(t *testing.T, o *op) {
		c := o.register(t, oidc.ClientSpec{})
		rp := o.goRP(t, c, "openid", "offline_access")
		resp, nonce, verifier := rp.code(o.agent(), oauth2.SetAuthURLParam("prompt", "consent"))
		first := rp.exchange(resp.Get("code"), nonce, verifier)
		if first.Token.RefreshToken == "" {
			t.Fatal("no refresh token with offline_access")
		}
		if st, _ := o.userinfo(t, first.Token.AccessToken); st != http.StatusOK {
			t.Fatalf("first access token: %d", st)
		}
		_, err := rp.cfg.Exchange(o.ctx, resp.Get("code"), oauth2.VerifierOption(verifier))
		if e := oauthError(t, err); e.Status != http.StatusBadRequest || e.Code != "invalid_grant" {
			t.Fatalf("second redemption: %+v", e)
		}
		if st, _ := o.userinfo(t, first.Token.AccessToken); st != http.StatusUnauthorized {
			t.Errorf("the first access token still works after the code was reused: %d", st)
		}
		_, err = rp.cfg.TokenSource(o.ctx, &oauth2.Token{RefreshToken: first.Token.RefreshToken}).Token()
		if e := oauthError(t, err); e.Code != "invalid_grant" {
			t.Errorf("the first refresh token after code reuse: %+v", e)
		}
	})
}

// PKCE (RFC 7636, RFC 9700 §2.1.1): a code issued for a challenge needs its
// verifier, the right one, every time; plain is refused; a public client
// cannot do without it; and a verifier for a code issued without a
// challenge is refused (downgrade).
func TestE2EPKCE(t *testing.T) {
	t.Parallel()
	eachBackend(t, nil, func(t *testing.T, o *op) {
		conf := o.register(t, oidc.ClientSpec{})
		pub := o.register(t, oidc.ClientSpec{Public: true})
		for _, c := range []*rpClient{conf, pub} {
			name := "confidential"
			if c.Client.Public {
				name = "public"
			}
			redeem := func(t *testing.T, code string, opts ...oauth2.AuthCodeOption) tokenError {
				t.Helper()
				_, err := o.goRP(t, c).cfg.Exchange(o.ctx, code, opts...)
				return oauthError(t, err)
			}
			t.Run(name+": missing verifier", func(t *testing.T) {
				resp, _, _ := o.goRP(t, c).code(o.agent())
				if e := redeem(t, resp.Get("code")); e.Status != 400 || e.Code != "invalid_grant" {
					t.Fatalf("%+v", e)
				}
			})
			// A wrong verifier does not turn the code into one issued
			// without PKCE; the right one still redeems it, once.
			t.Run(name+": wrong verifier, then none, then the right one", func(t *testing.T) {
				rp := o.goRP(t, c)
				resp, nonce, verifier := rp.code(o.agent())
				code := resp.Get("code")
				if e := redeem(t, code, oauth2.VerifierOption(oauth2.GenerateVerifier())); e.Status != 400 || e.Code != "invalid_grant" {
					t.Fatalf("wrong verifier: %+v", e)
				}
				if e := redeem(t, code); e.Status != 400 || e.Code != "invalid_grant" {
					t.Fatalf("no verifier after a wrong one: %+v", e)
				}
				rp.exchange(code, nonce, verifier)
				if e := redeem(t, code, oauth2.VerifierOption(verifier)); e.Code != "invalid_grant" {
					t.Fatalf("the code redeemed twice: %+v", e)
				}
			})
		}
		t.Run("downgrade: verifier without a challenge", func(t *testing.T) {
			rp := o.goRP(t, conf)
			state := randomID(8)
			resp := o.agent().authorize(rp.cfg.AuthCodeURL(state, oauth2.SetAuthURLParam("nonce", "n")), conf.Redirect)
			if resp.Get("code") == "" {
				t.Fatalf("confidential client without PKCE: %v", resp.Params)
			}
			_, err := rp.cfg.Exchange(o.ctx, resp.Get("code"), oauth2.VerifierOption(oauth2.GenerateVerifier()))
			if e := oauthError(t, err); e.Code != "invalid_grant" {
				t.Fatalf("%+v", e)
			}
		})
		// Refused by the authorization endpoint, through the redirect URI.
		for _, tc := range []struct {
			name   string
			c      *rpClient
			params url.Values
		}{
			{"plain method", conf, url.Values{"code_challenge": {strings.Repeat("a", 43)}, "code_challenge_method": {"plain"}}},
			{"public client without PKCE", pub, url.Values{}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				q := url.Values{"client_id": {tc.c.ID}, "response_type": {"code"}, "scope": {"openid"}, "state": {"st-123456"},
					"nonce": {"n"}, "redirect_uri": {tc.c.Redirect}}
				for k, v := range tc.params {
					q[k] = v
				}
				resp := o.agent().authorize(o.issuer+pathAuthorize+"?"+q.Encode(), tc.c.Redirect)
				// (fosite checks PKCE as it issues the code: after sign-in.)
				if resp.Get("error") != "invalid_request" || resp.Get("state") != "st-123456" || resp.Params.Has("code") {
					t.Fatalf("response %v (shown %v, status %d)", resp.Params, resp.Shown, resp.Status)
				}
			})
		}
	})
}

// A code or a refresh token is bound to the client it was issued to (RFC
// 6749 §4.1.3, §6): another client presenting it gets invalid_grant, and the
// rightful client's grant is untouched.
func TestE2EGrantsAreBoundToTheirClient(t *testing.T) {
	t.Parallel()
	eachBackend(t, nil, func(t *testing.T, o *op) {
		a, b := o.register(t, oidc.ClientSpec{}), o.register(t, oidc.ClientSpec{})
		ra, rb := o.goRP(t, a, "openid", "offline_access"), o.goRP(t, b, "openid", "offline_access")

		resp, nonce, verifier := ra.code(o.agent())
		rb.cfg.RedirectURL = a.Redirect
		_, err := rb.cfg.Exchange(o.ctx, resp.Get("code"), oauth2.VerifierOption(verifier))
		if e := oauthError(t, err); e.Status != 400 || e.Code != "invalid_grant" {
			t.Fatalf("client b redeemed a's code: %+v", e)
		}
		rb.cfg.RedirectURL = b.Redirect
		s := ra.exchange(resp.Get("code"), nonce, verifier)

		_, err = rb.cfg.TokenSource(o.ctx, &oauth2.Token{RefreshToken: s.Token.RefreshToken}).Token()
		if e := oauthError(t, err); e.Status != 400 || e.Code != "invalid_grant" {
			t.Fatalf("client b refreshed a's token: %+v", e)
		}
		// b's refusal is final at once: a's refresh right after it does not
		// wait for a rotation that will never come (the grace window's wait
		// is for a rotation in flight, at most 3 s).
		started := time.Now()
		if _, err := ra.cfg.TokenSource(o.ctx, &oauth2.Token{RefreshToken: s.Token.RefreshToken}).Token(); err != nil {
			t.Fatalf("a's refresh token after b's attempt: %v", err)
		}
		if took := time.Since(started); took > 2*time.Second {
			t.Errorf("a's refresh after b's refused attempt took %v", took)
		}
	})
}

// A code expires after Tokens.CodeTTL (RFC 6749 §4.1.2: short): redeemed
// later it is invalid_grant.
func TestE2EExpiredCode(t *testing.T) {
	t.Parallel()
	const ttl = time.Second
	eachBackend(t, func(c *Config) { c.Tokens.CodeTTL = ttl }, func(t *testing.T, o *op) {
		c := o.register(t, oidc.ClientSpec{FirstParty: true})
		rp := o.goRP(t, c)
		resp, _, verifier := rp.code(o.agent())
		time.Sleep(ttl + 200*time.Millisecond) // the code's real lifetime, and a little more
		_, err := rp.cfg.Exchange(o.ctx, resp.Get("code"), oauth2.VerifierOption(verifier))
		if e := oauthError(t, err); e.Status != 400 || e.Code != "invalid_grant" || !strings.Contains(e.Body, "expired") {
			t.Fatalf("expired code: %+v", e)
		}
	})
}

// Redemptions of one code racing each other (RFC 6749 §4.1.2): exactly one
// gets tokens; every other is 400 invalid_grant, never a server error,
// whether it read the code after the winner committed (fosite's reuse
// check) or before (the store finds it used at the commit); and, a code
// having been used twice, the winner's tokens are revoked (§10.5).
func TestE2ECodeRedeemedConcurrently(t *testing.T) {
	t.Parallel()
	eachBackend(t, nil, func(t *testing.T, o *op) {
		c := o.register(t, oidc.ClientSpec{})
		rp := o.goRP(t, c, "openid", "offline_access")
		resp, _, verifier := rp.code(o.agent(), oauth2.SetAuthURLParam("prompt", "consent"))
		const n = 8
		toks, errs := concurrently(n, func() (*oauth2.Token, error) {
			return rp.cfg.Exchange(o.ctx, resp.Get("code"), oauth2.VerifierOption(verifier))
		})
		var won *oauth2.Token
		for i := range n {
			if errs[i] == nil {
				if won != nil {
					t.Fatal("two redemptions of one code got tokens")
				}
				won = toks[i]
				continue
			}
			if e := oauthError(t, errs[i]); e.Status != http.StatusBadRequest || e.Code != "invalid_grant" {
				t.Fatalf("a losing redemption: %+v, want 400 invalid_grant", e)
			}
		}
		if won == nil {
			t.Fatal("no redemption got tokens")
		}
		if st, _ := o.userinfo(t, won.AccessToken); st != http.StatusUnauthorized {
			t.Errorf("the winner's access token after the code was used %d times: %d", n, st)
		}
	})
}
