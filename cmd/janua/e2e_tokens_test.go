package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/madfam-org/janua/oidc"
	"github.com/madfam-org/janua/storage"
)

// Token introspection (RFC 7662) answers authenticated confidential
// clients only — bad credentials are 401 (§2.3), never a quiet
// "active": false — for access and refresh tokens alike; an unknown token
// is inactive.
func TestE2EIntrospection(t *testing.T) {
	t.Parallel()
	eachBackend(t, nil, func(t *testing.T, o *op) {
		c := o.register(t, oidc.ClientSpec{})
		post := o.register(t, oidc.ClientSpec{TokenEndpointAuthMethod: oidc.AuthClientSecretPost})
		pub := o.register(t, oidc.ClientSpec{Public: true})
		s := o.goRP(t, c, "openid", "profile", "offline_access").login(o.agent())

		at := o.introspect(t, c, s.Token.AccessToken)
		if at["active"] != true || at["client_id"] != c.ID || at["sub"] != o.userID || at["token_type"] != "Bearer" ||
			at["iss"] != o.issuer || at["scope"] != "openid profile offline_access" || at["exp"] == nil || at["iat"] == nil || at["auth_time"] == nil {
			t.Errorf("access token: %v", at)
		}
		if exp := time.Unix(int64(at["exp"].(float64)), 0); exp.Sub(s.Token.Expiry).Abs() > 2*time.Second {
			t.Errorf("introspected exp %v, token response says %v", exp, s.Token.Expiry)
		}
		if rt := o.introspect(t, post, s.Token.RefreshToken); rt["active"] != true || rt["token_type"] != "refresh_token" || rt["client_id"] != c.ID {
			t.Errorf("refresh token: %v", rt)
		}
		for _, tok := range []string{"janua_at_unknown.unknown", "", s.RawID} {
			if tok == "" {
				continue
			}
			if got := o.introspect(t, c, tok); !(len(got) == 1 && got["active"] == false) {
				t.Errorf("%.20s…: %v", tok, got)
			}
		}

		for _, tc := range []struct {
			name       string
			id, secret string
			bearer     bool
			status     int
		}{
			{"wrong secret", c.ID, "not-the-secret", false, 401},
			{"unknown client", "nobody", "x", false, 401},
			{"no credentials", "", "", false, 400}, // invalid_request, as at the token endpoint
			{"public client", pub.ID, "", false, 401},
			{"bearer token", "", "", true, 401},
		} {
			t.Run(tc.name, func(t *testing.T) {
				form := url.Values{"token": {s.Token.AccessToken}}
				if tc.name == "public client" {
					form.Set("client_id", pub.ID)
				}
				status, body := 0, map[string]any{}
				if tc.bearer {
					req, _ := http.NewRequest(http.MethodPost, o.issuer+pathIntrospect, strings.NewReader(form.Encode()))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					req.Header.Set("Authorization", "Bearer "+s.Token.AccessToken)
					res, err := o.http.Do(req)
					if err != nil {
						t.Fatal(err)
					}
					_ = json.NewDecoder(res.Body).Decode(&body)
					res.Body.Close()
					status = res.StatusCode
				} else {
					status, body = o.post(t, pathIntrospect, form, tc.id, tc.secret)
				}
				if status != tc.status || body["active"] != nil || body["error"] == nil {
					t.Fatalf("status %d, body %v", status, body)
				}
			})
		}
	})
}

// Token revocation (RFC 7009): a revoked access token fails at userinfo;
// revoking a refresh token kills it and the access tokens of its grant;
// another client cannot revoke what is not its own; an unknown token is
// answered 200 (§2.2). zitadel/oidc's RevokeToken and x/oauth2's refresh
// play the client.
func TestE2ERevocation(t *testing.T) {
	t.Parallel()
	eachBackend(t, nil, func(t *testing.T, o *op) {
		c, other := o.register(t, oidc.ClientSpec{}), o.register(t, oidc.ClientSpec{})
		rp := o.goRP(t, c, "openid", "offline_access")
		revoke := func(t *testing.T, by *rpClient, token, hint string) {
			t.Helper()
			form := url.Values{"token": {token}}
			if hint != "" {
				form.Set("token_type_hint", hint)
			}
			if status, body := o.authPost(t, by, pathRevoke, form); status != http.StatusOK {
				t.Fatalf("revocation: %d %v", status, body)
			}
		}

		t.Run("access token", func(t *testing.T) {
			s := rp.login(o.agent())
			revoke(t, other, s.Token.AccessToken, "")
			if st, _ := o.userinfo(t, s.Token.AccessToken); st != http.StatusOK {
				t.Fatalf("another client revoked the access token: %d", st)
			}
			revoke(t, c, s.Token.AccessToken, "access_token")
			if st, _ := o.userinfo(t, s.Token.AccessToken); st != http.StatusUnauthorized {
				t.Fatalf("revoked access token at userinfo: %d", st)
			}
			if in := o.introspect(t, c, s.Token.AccessToken); in["active"] != false {
				t.Fatalf("revoked access token introspected: %v", in)
			}
		})

		t.Run("refresh token", func(t *testing.T) {
			s := rp.login(o.agent())
			// The wrong hint does not save it (RFC 7009 §2.1).
			revoke(t, c, s.Token.RefreshToken, "access_token")
			if _, err := rp.cfg.TokenSource(o.ctx, &oauth2.Token{RefreshToken: s.Token.RefreshToken}).Token(); oauthError(t, err).Code != "invalid_grant" {
				t.Fatalf("revoked refresh token refreshed: %v", err)
			}
			if st, _ := o.userinfo(t, s.Token.AccessToken); st != http.StatusUnauthorized {
				t.Fatalf("the access token of a revoked refresh token: %d", st)
			}
		})

		t.Run("unknown token", func(t *testing.T) {
			revoke(t, c, "janua_rt_unknown.unknown", "refresh_token")
		})

		t.Run("bad client credentials", func(t *testing.T) {
			s := rp.login(o.agent())
			status, body := o.post(t, pathRevoke, url.Values{"token": {s.Token.AccessToken}}, c.ID, "not-the-secret")
			if status != http.StatusUnauthorized || body["error"] != "invalid_client" {
				t.Fatalf("%d %v", status, body)
			}
			if st, _ := o.userinfo(t, s.Token.AccessToken); st != http.StatusOK {
				t.Fatalf("revoked without credentials: %d", st)
			}
		})
	})
}

// Users' access tokens as RFC 9068 JWTs: typ at+jwt, ES256, the user's sub
// and the client; they work at userinfo and bind to the ID token (at_hash).
func TestE2EJWTAccessTokens(t *testing.T) {
	t.Parallel()
	eachBackend(t, nil, func(t *testing.T, o *op) {
		c := o.register(t, oidc.ClientSpec{Metadata: storage.ClientMetadata{AccessTokenFormat: "jwt", SubjectType: "pairwise"}})
		s := o.goRP(t, c).login(o.agent())
		h, cl := jwtPart(t, s.Token.AccessToken, 0), jwtPart(t, s.Token.AccessToken, 1)
		if h["typ"] != "at+jwt" || h["alg"] != oidc.ES256 {
			t.Fatalf("header %v", h)
		}
		if _, err := gooidc.NewRemoteKeySet(o.ctx, o.issuer+pathJWKS).VerifySignature(o.ctx, s.Token.AccessToken); err != nil {
			t.Fatalf("does not verify: %v", err)
		}
		if cl["iss"] != o.issuer || cl["sub"] != s.ID.Subject || cl["client_id"] != c.ID || cl["scope"] != "openid profile email" ||
			cl["auth_time"] != s.Claims["auth_time"] || cl["jti"] == nil {
			t.Fatalf("claims %v (ID token sub %s)", cl, s.ID.Subject)
		}
		if st, ui := o.userinfo(t, s.Token.AccessToken); st != http.StatusOK || ui["sub"] != s.ID.Subject {
			t.Fatalf("userinfo %d %v", st, ui)
		}
	})
}

// Key rotation (oidc.Keyring.Rotate, as `janua keys rotate` runs it on
// another instance): the running server hears of it, signs with the new
// kid, and keeps publishing the old one, so what it signed still verifies.
func TestE2EKeyRotation(t *testing.T) {
	t.Parallel()
	eachBackend(t, nil, func(t *testing.T, o *op) {
		c := o.register(t, oidc.ClientSpec{FirstParty: true})
		es := o.register(t, oidc.ClientSpec{FirstParty: true, Metadata: storage.ClientMetadata{IDTokenSignedResponseAlg: oidc.ES256}})
		before, beforeES := o.goRP(t, c).login(o.agent()), o.goRP(t, es).login(o.agent())
		oldKID, oldES := jwtPart(t, before.RawID, 0)["kid"], jwtPart(t, beforeES.RawID, 0)["kid"]

		created, err := oidc.NewKeyring(o.store, o.hot, nil, nil).Rotate(context.Background(), nil, time.Hour)
		if err != nil || len(created) != len(oidc.SupportedSigningAlgs()) {
			t.Fatalf("rotate: %v %v", created, err)
		}
		kids := func() []string {
			res, err := o.http.Get(o.issuer + pathJWKS)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			var set struct {
				Keys []struct {
					KID string `json:"kid"`
				} `json:"keys"`
			}
			_ = json.NewDecoder(res.Body).Decode(&set)
			var out []string
			for _, k := range set.Keys {
				out = append(out, k.KID)
			}
			return out
		}
		// The server reloads on the rotation broadcast: wait for it, boundedly.
		deadline := time.Now().Add(5 * time.Second)
		for !slices.Contains(kids(), created[0]) {
			if time.Now().After(deadline) {
				t.Fatalf("the JWKS never published %s: %v", created[0], kids())
			}
			time.Sleep(20 * time.Millisecond)
		}
		published := kids()
		for _, k := range append(created, oldKID.(string), oldES.(string)) {
			if !slices.Contains(published, k) {
				t.Errorf("kid %s not published: %v", k, published)
			}
		}

		after, afterES := o.goRP(t, c).login(o.agent()), o.goRP(t, es).login(o.agent())
		newKID, newES := jwtPart(t, after.RawID, 0)["kid"], jwtPart(t, afterES.RawID, 0)["kid"]
		if newKID == oldKID || newES == oldES || !slices.Contains(created, newKID.(string)) || !slices.Contains(created, newES.(string)) {
			t.Fatalf("signing kids after rotation: %v, %v (before %v, %v; created %v)", newKID, newES, oldKID, oldES, created)
		}
		// A fresh verifier (new JWKS fetch) accepts tokens of both keys.
		p, err := gooidc.NewProvider(o.ctx, o.issuer)
		if err != nil {
			t.Fatal(err)
		}
		for _, raw := range []string{before.RawID, beforeES.RawID} {
			aud := jwtPart(t, raw, 1)["aud"]
			if a, ok := aud.([]any); ok {
				aud = a[0]
			}
			if _, err := p.Verifier(&gooidc.Config{ClientID: aud.(string)}).Verify(o.ctx, raw); err != nil {
				t.Errorf("a token of the retired key no longer verifies: %v", err)
			}
		}
		if st, _ := o.userinfo(t, before.Token.AccessToken); st != http.StatusOK {
			t.Errorf("an access token from before the rotation: %d", st)
		}
	})
}
