package main

import (
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/madfam-org/janua/oidc"
)

// Refresh tokens rotate (RFC 9700 §4.14.2): each refresh returns a new pair
// and retires the old one, with its access token; the refreshed ID token
// names the same user, client and sign-in. Presented again after the grace
// window, the old token is refused and revokes the whole family: the
// newest refresh token and its access token stop working.
func TestE2ERefreshRotation(t *testing.T) {
	t.Parallel()
	const grace = time.Second
	eachBackend(t, func(c *Config) { c.Tokens.RefreshGrace = grace }, func(t *testing.T, o *op) {
		c := o.register(t, oidc.ClientSpec{})
		rp := o.goRP(t, c, "openid", "profile", "offline_access")
		s := rp.login(o.agent())
		first := s.Token
		if first.RefreshToken == "" {
			t.Fatal("no refresh token with offline_access")
		}
		// x/oauth2 refreshes an expired token by itself.
		stale := *first
		stale.Expiry = time.Now().Add(-time.Minute)
		second, err := rp.cfg.TokenSource(o.ctx, &stale).Token()
		if err != nil {
			t.Fatalf("refresh: %v", err)
		}
		if second.RefreshToken == "" || second.RefreshToken == first.RefreshToken || second.AccessToken == first.AccessToken {
			t.Fatalf("refresh did not rotate: %+v", second)
		}
		refreshed := rp.verify(second, "")
		for _, k := range []string{"iss", "sub", "aud", "azp", "auth_time", "sid", "acr"} {
			if !equalClaim(refreshed.Claims[k], s.Claims[k]) {
				t.Errorf("refreshed ID token %s = %v, was %v", k, refreshed.Claims[k], s.Claims[k])
			}
		}
		if refreshed.Claims["iat"].(float64) < s.Claims["iat"].(float64) {
			t.Errorf("refreshed iat %v before %v", refreshed.Claims["iat"], s.Claims["iat"])
		}
		if st, _ := o.userinfo(t, first.AccessToken); st != http.StatusUnauthorized {
			t.Errorf("the rotated-away access token: %d", st)
		}
		if st, _ := o.userinfo(t, second.AccessToken); st != http.StatusOK {
			t.Fatalf("the new access token: %d", st)
		}

		time.Sleep(grace + 200*time.Millisecond) // past the grace window
		refresh := func(rt string) error {
			_, err := rp.cfg.TokenSource(o.ctx, &oauth2.Token{RefreshToken: rt}).Token()
			return err
		}
		if e := oauthError(t, refresh(first.RefreshToken)); e.Status != 400 || e.Code != "invalid_grant" {
			t.Fatalf("reused refresh token: %+v", e)
		}
		if e := oauthError(t, refresh(second.RefreshToken)); e.Code != "invalid_grant" {
			t.Errorf("the family's newest refresh token after reuse: %+v", e)
		}
		if st, _ := o.userinfo(t, second.AccessToken); st != http.StatusUnauthorized {
			t.Errorf("the family's newest access token after reuse: %d", st)
		}
	})
}

func equalClaim(a, b any) bool {
	as, aok := a.([]any)
	bs, bok := b.([]any)
	if aok && bok {
		return slices.Equal(as, bs)
	}
	return a == b && a != nil
}

// Within the grace window, concurrent refreshes with one token (two tabs, a
// retried request) all get the same new pair, and the family survives: no
// reuse detection, the new refresh token refreshes.
func TestE2ERefreshGraceUnderConcurrency(t *testing.T) {
	t.Parallel()
	eachBackend(t, nil, func(t *testing.T, o *op) {
		c := o.register(t, oidc.ClientSpec{FirstParty: true})
		rp := o.goRP(t, c, "openid", "offline_access")
		rt := rp.login(o.agent()).Token.RefreshToken
		const n = 6
		got, errs := concurrently(n, func() (*oauth2.Token, error) {
			return rp.cfg.TokenSource(o.ctx, &oauth2.Token{RefreshToken: rt}).Token()
		})
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("refresh %d of %d: %v", i+1, n, errs[i])
			}
			if got[i].AccessToken != got[0].AccessToken || got[i].RefreshToken != got[0].RefreshToken {
				t.Fatalf("refresh %d got another pair", i+1)
			}
		}
		if got[0].RefreshToken == rt {
			t.Fatal("not rotated")
		}
		if st, _ := o.userinfo(t, got[0].AccessToken); st != http.StatusOK {
			t.Fatalf("the shared access token: %d", st)
		}
		next, err := rp.cfg.TokenSource(o.ctx, &oauth2.Token{RefreshToken: got[0].RefreshToken}).Token()
		if err != nil {
			t.Fatalf("the family did not survive: %v", err)
		}
		if st, _ := o.userinfo(t, next.AccessToken); st != http.StatusOK {
			t.Fatalf("the next access token: %d", st)
		}
	})
}

// A refresh token comes only with offline_access, and offline_access only
// with the user's consent (OIDC Core §11): a remembered consent that did not
// include it shows the consent page again, and prompt=none cannot skip it.
func TestE2EOfflineAccessNeedsConsent(t *testing.T) {
	t.Parallel()
	eachBackend(t, nil, func(t *testing.T, o *op) {
		c := o.register(t, oidc.ClientSpec{})
		a := o.agent()
		online := o.goRP(t, c, "openid", "profile").login(a)
		if online.Token.RefreshToken != "" {
			t.Fatal("a refresh token without offline_access")
		}
		offline := o.goRP(t, c, "openid", "profile", "offline_access")
		u, state, _, _ := offline.authURL(oauth2.SetAuthURLParam("prompt", "none"))
		if resp := a.authorize(u, c.Redirect); resp.Get("error") != "consent_required" || resp.Get("state") != state || resp.Params.Has("code") {
			t.Fatalf("prompt=none with offline_access not consented: %v", resp.Params)
		}
		s := offline.login(a)
		if !slices.Equal(s.Response.Shown, []string{"consent"}) {
			t.Errorf("offline_access asked without the consent page: %v", s.Response.Shown)
		}
		if s.Token.RefreshToken == "" {
			t.Fatal("no refresh token after consenting to offline_access")
		}
		if _, err := offline.cfg.TokenSource(o.ctx, &oauth2.Token{RefreshToken: s.Token.RefreshToken}).Token(); err != nil {
			t.Fatalf("refresh: %v", err)
		}
	})
}

// concurrently calls fn n times at once (every call released together) and
// returns the results in call order.
func concurrently[T any](n int, fn func() (T, error)) ([]T, []error) {
	got, errs := make([]T, n), make([]error, n)
	var start, done sync.WaitGroup
	start.Add(1)
	for i := range n {
		done.Go(func() {
			start.Wait()
			got[i], errs[i] = fn()
		})
	}
	start.Done()
	done.Wait()
	return got, errs
}
