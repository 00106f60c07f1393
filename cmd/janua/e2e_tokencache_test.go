package main

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/madfam-org/janua/oidc"
	"github.com/madfam-org/janua/storage"
)

// Two instances of Janua on one database and one hot state (Redis with
// PostgreSQL), as behind a load balancer. A resource server introspecting
// the same access token again costs the instance no statement, and userinfo
// only the user's (the access token cache, storage/tokencache.go), and a revocation at one instance is
// seen at once there and within the broadcast's delay at the other, at the
// introspection endpoint and at userinfo (RFC 7009 §2).
func TestE2EAccessTokenCacheAcrossInstances(t *testing.T) {
	t.Parallel()
	eachBackend(t, nil, func(t *testing.T, a *op) {
		b := discover(t, &op{interactionServer: newInteractionServer(t, serverOptions{hot: a.hot,
			config: func(c *Config) { c.Database.URL = a.cfg.Database.URL }}), email: a.email, userID: a.userID})
		c := a.register(t, oidc.ClientSpec{})
		rp := a.goRP(t, c, "openid", "offline_access")
		s := rp.login(a.agent())
		at := s.Token.AccessToken

		if in := b.introspect(t, c, at); in["active"] != true {
			t.Fatalf("introspected at the other instance: %v", in)
		}
		before := b.store.Stats().Total()
		for range 3 {
			if in := b.introspect(t, c, at); in["active"] != true {
				t.Fatalf("introspected again: %v", in)
			}
		}
		if n := b.store.Stats().Total() - before; n != 0 {
			t.Errorf("3 introspections of one token took %d statements, want 0", n)
		}
		before = b.store.Stats().Total()
		for range 3 {
			if st, _ := b.userinfo(t, at); st != http.StatusOK {
				t.Fatalf("userinfo: %d", st)
			}
		}
		if n := b.store.Stats().Total() - before; n != 3 {
			t.Errorf("3 userinfo calls took %d statements, want 3 (the user's claims, never the token)", n)
		}
		if in := a.introspect(t, c, at); in["active"] != true {
			t.Fatalf("introspected at the issuing instance: %v", in)
		}

		if status, body := a.authPost(t, c, pathRevoke, url.Values{"token": {at}, "token_type_hint": {"access_token"}}); status != http.StatusOK {
			t.Fatalf("revocation: %d %v", status, body)
		}
		if in := a.introspect(t, c, at); in["active"] != false {
			t.Fatalf("the revoking instance still says active: %v", in)
		}
		deadline := time.Now().Add(2 * time.Second)
		for b.introspect(t, c, at)["active"] != false {
			if time.Now().After(deadline) {
				t.Fatalf("the other instance still says active 2 s after the revocation (cache TTL %v)", storage.AccessTokenCacheTTL)
			}
			time.Sleep(5 * time.Millisecond)
		}
		if st, _ := b.userinfo(t, at); st != http.StatusUnauthorized {
			t.Fatalf("revoked access token at the other instance's userinfo: %d", st)
		}
	})
}
