package main

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/madfam-org/janua/oidc"
	"github.com/madfam-org/janua/storage"
)

const jwtBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// private_key_jwt (OIDC Core §9, RFC 7523): a client proves itself with an
// assertion signed by a key it registered. The audience may be the issuer
// or the token endpoint; a jti is good once; another key, another
// audience, an expired assertion or none at all is invalid_client.
func TestE2EPrivateKeyJWT(t *testing.T) {
	t.Parallel()
	eachBackend(t, nil, func(t *testing.T, o *op) {
		c := o.register(t, oidc.ClientSpec{TokenEndpointAuthMethod: oidc.AuthPrivateKeyJWT,
			GrantTypes: []string{oidc.GrantAuthorizationCode, oidc.GrantRefreshToken, oidc.GrantClientCredentials}})
		if c.Secret != "" {
			t.Fatal("a private_key_jwt client got a secret")
		}

		t.Run("code flow with x/oauth2", func(t *testing.T) {
			rp := o.goRP(t, c)
			resp, nonce, verifier := rp.code(o.agent())
			s := rp.exchange(resp.Get("code"), nonce, verifier,
				oauth2.SetAuthURLParam("client_assertion_type", jwtBearer),
				oauth2.SetAuthURLParam("client_assertion", assertion(t, c, c.Key, o.issuer, "")))
			checkIDToken(t, o, c, s, o.userID)
		})

		otherKey, _ := newClientKey(t)
		replayed := assertion(t, c, c.Key, o.issuer+pathToken, "")
		for _, tc := range []struct {
			name   string
			form   url.Values
			status int
		}{
			{"aud = issuer", url.Values{"client_assertion": {assertion(t, c, c.Key, o.issuer, "")}}, 200},
			{"aud = token endpoint", url.Values{"client_assertion": {replayed}}, 200},
			{"replayed jti", url.Values{"client_assertion": {replayed}}, 401},
			{"another key, same kid", url.Values{"client_assertion": {assertion(t, c, otherKey, o.issuer, "")}}, 401},
			{"another audience", url.Values{"client_assertion": {assertion(t, c, c.Key, "https://elsewhere.example.com/token", "")}}, 401},
			{"expired", url.Values{"client_assertion": {signJWT(t, c.Key, c.KID, jose.ES256, map[string]any{"iss": c.ID, "sub": c.ID,
				"aud": o.issuer, "jti": randomID(16), "iat": time.Now().Add(-time.Hour).Unix(), "exp": time.Now().Add(-time.Minute).Unix()})}}, 401},
			{"unsigned", url.Values{"client_assertion": {unsignedJWT(map[string]any{"iss": c.ID, "sub": c.ID, "aud": o.issuer,
				"jti": randomID(16), "exp": time.Now().Add(time.Minute).Unix()})}}, 401},
			{"no assertion", url.Values{"client_assertion": nil}, 401},
		} {
			t.Run(tc.name, func(t *testing.T) {
				form := url.Values{"grant_type": {"client_credentials"}, "client_id": {c.ID}, "client_assertion_type": {jwtBearer}}
				for k, v := range tc.form {
					form[k] = v
				}
				if tc.name == "no assertion" {
					form.Del("client_assertion_type")
				}
				status, body := o.post(t, pathToken, form, "", "")
				if status != tc.status {
					t.Fatalf("status %d, want %d: %v", status, tc.status, body)
				}
				if tc.status == 200 && body["access_token"] == nil {
					t.Fatalf("no access token: %v", body)
				}
				if tc.status == 401 && body["error"] != "invalid_client" {
					t.Fatalf("error %v", body)
				}
			})
		}
	})
}

// client_credentials (RFC 6749 §4.4) with x/oauth2's clientcredentials:
// an opaque token by default, an RFC 9068 JWT (typ at+jwt, ES256) when the
// client registered that format; the client is the subject; only its
// registered scopes; never a refresh or ID token, and no userinfo.
func TestE2EClientCredentials(t *testing.T) {
	t.Parallel()
	eachBackend(t, nil, func(t *testing.T, o *op) {
		spec := oidc.ClientSpec{GrantTypes: []string{oidc.GrantClientCredentials}, Scopes: []string{"api.read api.write openid"}}
		opaque := o.register(t, spec)
		spec.Metadata = storage.ClientMetadata{AccessTokenFormat: "jwt"}
		spec.TokenEndpointAuthMethod = oidc.AuthClientSecretPost
		jwtClient := o.register(t, spec)
		spec.Metadata.AccessTokenSigningAlg = oidc.RS256
		rsClient := o.register(t, spec)
		cc := func(c *rpClient, scopes ...string) *clientcredentials.Config {
			style := oauth2.AuthStyleInHeader
			if c.Client.TokenEndpointAuthMethod == oidc.AuthClientSecretPost {
				style = oauth2.AuthStyleInParams
			}
			return &clientcredentials.Config{ClientID: c.ID, ClientSecret: c.Secret, TokenURL: o.provider.Endpoint().TokenURL,
				Scopes: scopes, AuthStyle: style}
		}

		t.Run("opaque", func(t *testing.T) {
			tok, err := cc(opaque, "api.read").Token(o.ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(tok.AccessToken, "janua_at_") || tok.RefreshToken != "" || tok.Extra("id_token") != nil {
				t.Fatalf("token %+v", tok)
			}
			in := o.introspect(t, opaque, tok.AccessToken)
			if in["active"] != true || in["client_id"] != opaque.ID || in["sub"] != opaque.ID || in["scope"] != "api.read" {
				t.Fatalf("introspection %v", in)
			}
		})

		t.Run("JWT RS256", func(t *testing.T) {
			// access_token_signed_response_alg picks the signature.
			tok, err := cc(rsClient, "api.read").Token(o.ctx)
			if err != nil {
				t.Fatal(err)
			}
			if h := jwtPart(t, tok.AccessToken, 0); h["typ"] != "at+jwt" || h["alg"] != oidc.RS256 {
				t.Fatalf("JWT access token header %v", h)
			}
			if _, err := gooidc.NewRemoteKeySet(o.ctx, o.issuer+pathJWKS).VerifySignature(o.ctx, tok.AccessToken); err != nil {
				t.Fatalf("the RS256 access token does not verify with the JWKS: %v", err)
			}
			if in := o.introspect(t, rsClient, tok.AccessToken); in["active"] != true || in["client_id"] != rsClient.ID {
				t.Fatalf("introspection %v", in)
			}
		})

		t.Run("JWT", func(t *testing.T) {
			tok, err := cc(jwtClient, "api.read", "api.write").Token(o.ctx)
			if err != nil {
				t.Fatal(err)
			}
			h := jwtPart(t, tok.AccessToken, 0)
			if h["typ"] != "at+jwt" || h["alg"] != oidc.ES256 {
				t.Fatalf("JWT access token header %v", h)
			}
			payload, err := gooidc.NewRemoteKeySet(o.ctx, o.issuer+pathJWKS).VerifySignature(o.ctx, tok.AccessToken)
			if err != nil {
				t.Fatalf("the JWT access token does not verify with the JWKS: %v", err)
			}
			cl := jwtPart(t, tok.AccessToken, 1)
			if len(payload) == 0 || cl["iss"] != o.issuer || cl["sub"] != jwtClient.ID || cl["client_id"] != jwtClient.ID ||
				cl["scope"] != "api.read api.write" || cl["jti"] == nil || cl["exp"] == nil || cl["iat"] == nil {
				t.Fatalf("JWT access token claims %v", cl)
			}
			if in := o.introspect(t, jwtClient, tok.AccessToken); in["active"] != true || in["client_id"] != jwtClient.ID {
				t.Fatalf("introspection %v", in)
			}
		})

		t.Run("no userinfo without a user", func(t *testing.T) {
			tok, err := cc(opaque, "openid").Token(o.ctx)
			if err != nil {
				t.Fatal(err)
			}
			if st, _ := o.userinfo(t, tok.AccessToken); st == http.StatusOK {
				t.Fatal("userinfo answered a client_credentials token")
			}
		})

		t.Run("unregistered scope", func(t *testing.T) {
			_, err := cc(opaque, "api.admin").Token(o.ctx)
			if e := oauthError(t, err); e.Status != 400 || e.Code != "invalid_scope" {
				t.Fatalf("%+v", e)
			}
		})

		t.Run("wrong secret", func(t *testing.T) {
			conf := cc(opaque)
			conf.ClientSecret = "not-the-secret"
			_, err := conf.Token(o.ctx)
			if e := oauthError(t, err); e.Status != 401 || e.Code != "invalid_client" {
				t.Fatalf("%+v", e)
			}
		})

		t.Run("grant not registered", func(t *testing.T) {
			code := o.register(t, oidc.ClientSpec{})
			_, err := cc(code).Token(o.ctx)
			if e := oauthError(t, err); e.Code != "unauthorized_client" {
				t.Fatalf("%+v", e)
			}
		})
	})
}

// A client deleted while an instance still has it cached, its deletion
// not (yet) heard there: its grant is refused as an unknown client's
// (401 invalid_client, RFC 6749 §5.2) when the token's row is refused by
// the database, never a 500, and the instance forgets the client.
func TestE2EClientDeletedUnheard(t *testing.T) {
	t.Parallel()
	eachBackend(t, nil, func(t *testing.T, o *op) {
		c := o.register(t, oidc.ClientSpec{GrantTypes: []string{oidc.GrantClientCredentials}})
		cc := &clientcredentials.Config{ClientID: c.ID, ClientSecret: c.Secret, TokenURL: o.issuer + pathToken, AuthStyle: oauth2.AuthStyleInHeader}
		if _, err := cc.Token(o.ctx); err != nil {
			t.Fatal(err) // and the server has it cached
		}
		if err := o.registry.Delete(context.Background(), c.ID, "e2e"); err != nil { // not announced
			t.Fatal(err)
		}
		for range 2 {
			_, err := cc.Token(o.ctx)
			if e := oauthError(t, err); e.Status != 401 || e.Code != "invalid_client" {
				t.Fatalf("a deleted client's grant: %+v", e)
			}
		}
	})
}

// A deleted client, announced as the CLI announces it, is refused at once
// on the running server: its cached copy is dropped (not kept for the
// cache's minute).
func TestE2EDeletedClientIsRefused(t *testing.T) {
	t.Parallel()
	eachBackend(t, nil, func(t *testing.T, o *op) {
		c := o.register(t, oidc.ClientSpec{GrantTypes: []string{oidc.GrantClientCredentials}})
		cc := &clientcredentials.Config{ClientID: c.ID, ClientSecret: c.Secret, TokenURL: o.issuer + pathToken, AuthStyle: oauth2.AuthStyleInHeader}
		if _, err := cc.Token(o.ctx); err != nil {
			t.Fatal(err) // and the server has it cached
		}
		ctx := context.Background()
		if err := o.registry.Delete(ctx, c.ID, "e2e"); err != nil {
			t.Fatal(err)
		}
		if err := oidc.AnnounceClientChange(ctx, o.hot, c.ID); err != nil {
			t.Fatal(err)
		}
		// The broadcast is asynchronous: wait for it, boundedly.
		deadline := time.Now().Add(2 * time.Second)
		for {
			_, err := cc.Token(o.ctx)
			if err != nil {
				if e := oauthError(t, err); e.Status != 401 || e.Code != "invalid_client" {
					t.Fatalf("deleted client: %+v", e)
				}
				return
			}
			if time.Now().After(deadline) {
				t.Fatal("a deleted client still gets tokens 2 s after its deletion was announced")
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}
