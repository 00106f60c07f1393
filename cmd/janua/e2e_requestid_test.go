package main

import (
	"context"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/ory/fosite/handler/openid"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/madfam-org/janua/oidc"
)

// The rows of a grant carry a time-ordered request ID (UUID version 7), so
// that new rows go to the end of the request ID index; the tokens of a
// code flow share their code's ID, which a refresh keeps.
func TestE2ERequestIDsAreTimeOrdered(t *testing.T) {
	t.Parallel()
	eachBackend(t, nil, func(t *testing.T, o *op) {
		requestID := func(accessToken string) uuid.UUID {
			t.Helper()
			sig := accessToken[strings.LastIndexByte(accessToken, '.')+1:]
			req, err := o.store.GetAccessTokenSession(context.Background(), sig, openid.NewDefaultSession())
			if err != nil {
				t.Fatalf("the access token's row: %v", err)
			}
			id, err := uuid.Parse(req.GetID())
			if err != nil || id.Version() != 7 {
				t.Fatalf("request ID %q (%v): want a version 7 UUID", req.GetID(), err)
			}
			return id
		}
		c := o.register(t, oidc.ClientSpec{GrantTypes: []string{oidc.GrantClientCredentials}})
		cc := &clientcredentials.Config{ClientID: c.ID, ClientSecret: c.Secret, TokenURL: o.issuer + pathToken, AuthStyle: oauth2.AuthStyleInHeader}
		tok, err := cc.Token(o.ctx)
		if err != nil {
			t.Fatal(err)
		}
		first := requestID(tok.AccessToken)
		if tok, err = cc.Token(o.ctx); err != nil {
			t.Fatal(err)
		}
		if second := requestID(tok.AccessToken); second == first {
			t.Error("two grants share a request ID")
		}

		code := o.register(t, oidc.ClientSpec{FirstParty: true})
		rp := o.goRP(t, code, "openid", "offline_access")
		s := rp.login(o.agent())
		flow := requestID(s.Token.AccessToken)
		refreshed, err := rp.cfg.TokenSource(o.ctx, &oauth2.Token{RefreshToken: s.Token.RefreshToken}).Token()
		if err != nil {
			t.Fatal(err)
		}
		if got := requestID(refreshed.AccessToken); got != flow {
			t.Errorf("the refreshed token's request ID %s, want the code's %s", got, flow)
		}
	})
}
