package main

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/madfam-org/janua/oidc"
	"github.com/madfam-org/janua/storage"
)

// client_credentials JWT access tokens are issued without a row
// (oidc/statelessjwt.go) and still behave as stored tokens do, across two
// instances on one database and one hot state (Redis with PostgreSQL):
// introspection (RFC 7662) answers from the signed claims; a revocation
// (RFC 7009) by another client changes nothing, by the token's own client
// makes it inactive at both instances, even one that shares no hot state
// with the other (a restart); a deleted client's tokens are
// inactive; a token with a claim changed, or an ID token, is never active;
// users' JWT access tokens keep their rows.
func TestE2EStatelessClientCredentialsJWT(t *testing.T) {
	t.Parallel()
	eachBackend(t, nil, func(t *testing.T, a *op) {
		// b is another instance of the same issuer, as behind a load
		// balancer; the test reaches it at its own address. On SQLite it
		// has a hot state of its own (memory), as the one instance has
		// after a restart: what it knows of a revocation, it knows from
		// the database.
		hot := a.hot
		if a.store.Dialect() == storage.SQLite {
			hot = nil
		}
		bs := newInteractionServer(t, serverOptions{hot: hot,
			config: func(c *Config) { c.Database.URL, c.Issuer = a.cfg.Database.URL, a.issuer }})
		b := &op{interactionServer: bs, issuer: bs.URL, registry: a.registry, email: a.email, userID: a.userID, http: a.http, ctx: a.ctx}
		spec := oidc.ClientSpec{GrantTypes: []string{oidc.GrantClientCredentials}, Scopes: []string{"api.read api.write"},
			Metadata: storage.ClientMetadata{AccessTokenFormat: "jwt"}}
		c, other := a.register(t, spec), a.register(t, spec)
		grant := func(t *testing.T, c *rpClient) string {
			t.Helper()
			cc := &clientcredentials.Config{ClientID: c.ID, ClientSecret: c.Secret, TokenURL: a.issuer + pathToken,
				Scopes: []string{"api.read"}, AuthStyle: oauth2.AuthStyleInHeader}
			tok, err := cc.Token(a.ctx)
			if err != nil {
				t.Fatal(err)
			}
			return tok.AccessToken
		}
		revoke := func(t *testing.T, o *op, by *rpClient, token string) {
			t.Helper()
			if st, body := o.authPost(t, by, pathRevoke, url.Values{"token": {token}}); st != http.StatusOK {
				t.Fatalf("revocation: %d %v", st, body)
			}
		}
		active := func(o *op, by *rpClient, token string) map[string]any { return o.introspect(t, by, token) }

		at := grant(t, c)
		if cl := jwtPart(t, at, 1); cl["gty"] != "client_credentials" || cl["sub"] != c.ID || cl["client_id"] != c.ID {
			t.Fatalf("claims %v", cl)
		}
		sig := at[strings.LastIndexByte(at, '.')+1:]
		if _, err := a.store.GetAccessTokenSession(context.Background(), sig, &oidc.Session{}); err == nil {
			t.Fatal("a client_credentials JWT access token was stored")
		}
		for _, o := range []*op{a, b} {
			in := active(o, c, at)
			if in["active"] != true || in["client_id"] != c.ID || in["sub"] != c.ID || in["scope"] != "api.read" ||
				in["token_type"] != "Bearer" || in["iss"] != a.cfg.Issuer || in["exp"] == nil || in["iat"] == nil {
				t.Fatalf("introspection: %v", in)
			}
			if st, _ := o.userinfo(t, at); st == http.StatusOK {
				t.Fatal("userinfo answered a client_credentials token")
			}
		}

		t.Run("tampered", func(t *testing.T) {
			parts := strings.Split(at, ".")
			cl := strings.Replace(string(b64url(t, parts[1])), `"api.read"`, `"api.write"`, 1)
			forged := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(cl)) + "." + parts[2]
			if in := active(a, c, forged); in["active"] != false {
				t.Fatalf("a token with its scope changed: %v", in)
			}
			revoke(t, a, c, forged) // answered 200 (RFC 7009 §2.2), and revokes nothing
			if in := active(a, c, at); in["active"] != true {
				t.Fatalf("revoking a forgery of the token revoked it: %v", in)
			}
		})

		t.Run("ID token", func(t *testing.T) {
			rp := a.goRP(t, a.register(t, oidc.ClientSpec{}), "openid")
			if in := active(a, c, rp.login(a.agent()).RawID); in["active"] != false {
				t.Fatalf("an ID token introspected as an access token: %v", in)
			}
		})

		t.Run("users' JWTs keep their rows", func(t *testing.T) {
			u := a.register(t, oidc.ClientSpec{Metadata: storage.ClientMetadata{AccessTokenFormat: "jwt"}})
			s := a.goRP(t, u, "openid").login(a.agent())
			if _, ok := jwtPart(t, s.Token.AccessToken, 1)["gty"]; ok {
				t.Fatal("a user's access token says it is stateless")
			}
			sig := s.Token.AccessToken[strings.LastIndexByte(s.Token.AccessToken, '.')+1:]
			if _, err := a.store.GetAccessTokenSession(context.Background(), sig, &oidc.Session{}); err != nil {
				t.Fatalf("a user's JWT access token is not stored: %v", err)
			}
		})

		t.Run("revocation", func(t *testing.T) {
			at := grant(t, c)
			revoke(t, a, other, at)
			if in := active(b, c, at); in["active"] != true {
				t.Fatalf("another client revoked the token: %v", in)
			}
			revoke(t, b, c, at)
			for _, o := range []*op{a, b} {
				if in := active(o, c, at); in["active"] != false {
					t.Fatalf("a revoked token is active: %v", in)
				}
			}
			if in := active(a, c, grant(t, c)); in["active"] != true {
				t.Fatalf("the client's next token: %v", in)
			}
		})

		t.Run("deleted client", func(t *testing.T) {
			gone := a.register(t, spec)
			at := grant(t, gone)
			ctx := context.Background()
			if err := a.registry.Delete(ctx, gone.ID, "e2e"); err != nil {
				t.Fatal(err)
			}
			for _, o := range []*op{a, b} {
				if err := oidc.AnnounceClientChange(ctx, o.hot, gone.ID); err != nil {
					t.Fatal(err)
				}
			}
			// The announcement is heard asynchronously; the cache's own
			// entry lives a minute at most.
			eventually(t, func() bool { return active(a, c, at)["active"] == false && active(b, c, at)["active"] == false },
				"a deleted client's token is still active")
		})

		// Last: b is broken after it. A revocation b cannot record is
		// 503 temporarily_unavailable (RFC 7009 §2.2.1), never a 200 that
		// would tell the client its token is dead; b answers inactive
		// for what it cannot check; the token stays active at a.
		t.Run("database down", func(t *testing.T) {
			at := grant(t, c)
			if in := active(b, c, at); in["active"] != true { // b has the client cached
				t.Fatalf("introspection: %v", in)
			}
			if err := b.store.Close(); err != nil {
				t.Fatal(err)
			}
			if st, body := b.authPost(t, c, pathRevoke, url.Values{"token": {at}}); st != http.StatusServiceUnavailable || body["error"] != "temporarily_unavailable" {
				t.Fatalf("revocation without a database: %d %v", st, body)
			}
			if in := active(b, c, at); in["active"] != false {
				t.Fatalf("introspection without a database: %v", in)
			}
			if in := active(a, c, at); in["active"] != true {
				t.Fatalf("the token after a failed revocation: %v", in)
			}
		})
	})
}
