package main

import (
	"testing"

	"github.com/madfam-org/janua/oidc"
	"github.com/madfam-org/janua/storage"
)

// An authorization response writes its rows (the code, its OpenID Connect
// request and PKCE challenge; for a hybrid response the access token too)
// in one statement.
func TestE2EAuthorizeWritesOnce(t *testing.T) {
	t.Parallel()
	eachBackend(t, nil, func(t *testing.T, o *op) {
		c := o.register(t, oidc.ClientSpec{FirstParty: true})
		rp := o.goRP(t, c)
		a := o.agent()
		rp.login(a) // signed in; the client is cached
		before := o.store.Stats()
		resp, nonce, verifier := rp.code(a)
		if n := o.store.Stats().Of(storage.StatementCreate) - before.Of(storage.StatementCreate); n != 1 {
			t.Errorf("the authorization response took %d INSERTs, want 1", n)
		}
		s := rp.exchange(resp.Get("code"), nonce, verifier) // the rows are all there
		if s.Claims["nonce"] != nonce {
			t.Errorf("nonce %v", s.Claims["nonce"])
		}
	})
}
