package main

import (
	"context"
	"testing"

	"golang.org/x/oauth2"

	"github.com/madfam-org/janua/oidc"
	"github.com/madfam-org/janua/storage"
)

// codeHandoffPair is two instances of one issuer on one database (the
// second at its own address, as behind a load balancer), a first-party
// code client and a user signed in at the first: each authorization code
// comes from the first instance, which hands its rows to its own token
// endpoint (storage/codehandoff.go).
func codeHandoffPair(t *testing.T, a *op) (b *op, c *rpClient, rp, rpB *goRP, ag *agent) {
	t.Helper()
	// On SQLite the second instance has a hot state of its own, as after
	// a restart: what it knows, it knows from the database.
	hot := a.hot
	if a.store.Dialect() == storage.SQLite {
		hot = nil
	}
	bs := newInteractionServer(t, serverOptions{hot: hot,
		config: func(cfg *Config) { cfg.Database.URL, cfg.Issuer = a.cfg.Database.URL, a.issuer }})
	b = &op{interactionServer: bs, issuer: bs.URL, registry: oidc.NewClients(bs.store, nil), email: a.email, userID: a.userID, http: a.http, ctx: a.ctx}
	c = a.register(t, oidc.ClientSpec{FirstParty: true})
	rp = a.goRP(t, c, "openid", "offline_access")
	cfg := *rp.cfg
	cfg.Endpoint.TokenURL = bs.URL + pathToken
	rpB = &goRP{t: t, o: a, c: c, cfg: &cfg, verifier: rp.verifier}
	ag = a.agent()
	rp.login(ag) // signed in at a; the client is cached there
	return b, c, rp, rpB, ag
}

// A code redeemed at another instance and replayed at the one that issued
// it (whose handoff still holds it) without the PKCE verifier is refused
// as a replay, and what the first redemption issued is revoked (RFC 6749
// §4.1.2, §10.5), as when the replay's instance reads the code from the
// database.
func TestE2ECodeHandoffReplayElsewhereRevokes(t *testing.T) {
	t.Parallel()
	eachBackend(t, nil, func(t *testing.T, a *op) {
		_, c, rp, rpB, ag := codeHandoffPair(t, a)
		resp, nonce, verifier := rp.code(ag)
		code := resp.Get("code")
		s := rpB.exchange(code, nonce, verifier) // redeemed at b
		if got := a.introspect(t, c, s.Token.AccessToken); got["active"] != true {
			t.Fatalf("the access token before the replay: %v", got)
		}
		_, err := rp.cfg.Exchange(a.ctx, code, oauth2.VerifierOption(oauth2.GenerateVerifier()))
		if e := oauthError(t, err); e.Status != 400 || e.Code != "invalid_grant" {
			t.Fatalf("a replay at the issuing instance: %+v", e)
		}
		if got := a.introspect(t, c, s.Token.AccessToken); got["active"] != false {
			t.Errorf("the first redemption's access token after the replay: %v, want inactive", got)
		}
		_, err = rp.cfg.TokenSource(a.ctx, &oauth2.Token{RefreshToken: s.Token.RefreshToken}).Token()
		if e := oauthError(t, err); e.Code != "invalid_grant" {
			t.Errorf("the first redemption's refresh token after the replay: %+v", e)
		}
	})
}

// A client deleted at another instance, unannounced, while the issuing
// instance still holds it cached and its code handed off: the code's
// redemption finds its rows gone with the client and is refused as for an
// unknown client (RFC 6749 §5.2), never a server error.
func TestE2ECodeHandoffClientDeletedElsewhere(t *testing.T) {
	t.Parallel()
	eachBackend(t, nil, func(t *testing.T, a *op) {
		b, c, rp, _, ag := codeHandoffPair(t, a)
		resp, _, verifier := rp.code(ag)
		if err := b.registry.Delete(context.Background(), c.ID, "e2e"); err != nil { // not announced
			t.Fatal(err)
		}
		_, err := rp.cfg.Exchange(a.ctx, resp.Get("code"), oauth2.VerifierOption(verifier))
		if e := oauthError(t, err); e.Status != 401 || e.Code != "invalid_client" {
			t.Fatalf("a code of a client deleted elsewhere: %+v", e)
		}
	})
}
