package storage_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v3"
	"github.com/ory/fosite"

	"github.com/madfam-org/janua/storage"
)

func TestFositeClientKeys(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	jwks, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: key.Public(), KeyID: "k1", Algorithm: "ES256", Use: "sig"}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		jwks string
		kid  string // "" means GetJSONWebKeys must return nil
	}{
		{"absent", "", ""},
		{"null", "null", ""},
		{"unparsable", `{"keys":[{"kty":"nope"}]}`, ""},
		{"empty set", `{"keys":[]}`, ""},
		{"one key", string(jwks), "k1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := storage.NewFositeClient(&storage.Client{ID: "c", Metadata: storage.ClientMetadata{JWKS: json.RawMessage(tc.jwks)}})
			set := c.GetJSONWebKeys()
			switch {
			case tc.kid == "" && set != nil:
				t.Fatalf("got %+v, want nil", set)
			case tc.kid != "" && (set == nil || len(set.Key(tc.kid)) != 1):
				t.Fatalf("got %+v, want key %s", set, tc.kid)
			}
		})
	}
}

func TestFositeClientLifespans(t *testing.T) {
	const fallback = 42 * time.Minute
	custom := storage.NewFositeClient(&storage.Client{ID: "c", Metadata: storage.ClientMetadata{AccessTokenTTL: 600, RefreshTokenAbsoluteTTL: 86400, RefreshTokenIdleTTL: 3600}})
	plain := storage.NewFositeClient(&storage.Client{ID: "p"})
	for _, tc := range []struct {
		client *storage.FositeClient
		gt     fosite.GrantType
		tt     fosite.TokenType
		want   time.Duration
	}{
		{custom, fosite.GrantTypeAuthorizationCode, fosite.AccessToken, 10 * time.Minute},
		{custom, fosite.GrantTypeRefreshToken, fosite.AccessToken, 10 * time.Minute},
		{custom, fosite.GrantTypeClientCredentials, fosite.AccessToken, 10 * time.Minute},
		// Refresh token expiry is left to the session (oidc computes idle
		// and absolute limits), on every grant.
		{custom, fosite.GrantTypeAuthorizationCode, fosite.RefreshToken, -1},
		{custom, fosite.GrantTypeRefreshToken, fosite.RefreshToken, -1},
		{custom, fosite.GrantTypeAuthorizationCode, fosite.IDToken, fallback},
		{custom, fosite.GrantTypeAuthorizationCode, fosite.AuthorizeCode, fallback},
		{plain, fosite.GrantTypeAuthorizationCode, fosite.AccessToken, fallback},
		{plain, fosite.GrantTypeAuthorizationCode, fosite.RefreshToken, -1},
		{plain, fosite.GrantTypeRefreshToken, fosite.RefreshToken, -1},
	} {
		if got := fosite.GetEffectiveLifespan(tc.client, tc.gt, tc.tt, fallback); got != tc.want {
			t.Errorf("%s %s %s: %v, want %v", tc.client.GetID(), tc.gt, tc.tt, got, tc.want)
		}
	}
}

func TestFositeClientRegistration(t *testing.T) {
	secret := []byte{1, 2, 3}
	c := storage.NewFositeClient(&storage.Client{
		ID: "c", SecretHash: secret, TokenEndpointAuthMethod: "client_secret_post",
		RedirectURIs: []string{"https://a.example.com/cb"}, Scopes: []string{"openid"},
		Metadata: storage.ClientMetadata{JWKSURI: "https://a.example.com/jwks"},
	})
	if c.GetID() != "c" || string(c.GetHashedSecret()) != string(secret) || c.IsPublic() ||
		!slices.Equal(c.GetRedirectURIs(), []string{"https://a.example.com/cb"}) || !c.GetScopes().ExactOne("openid") ||
		c.GetTokenEndpointAuthMethod() != "client_secret_post" || c.GetJSONWebKeysURI() != "https://a.example.com/jwks" ||
		len(c.GetAudience()) != 0 || c.GetRequestURIs() != nil ||
		c.GetRequestObjectSigningAlgorithm() != "" || c.GetTokenEndpointAuthSigningAlgorithm() != "" {
		t.Fatalf("client %+v", c.Client)
	}
	// OIDC Registration §2 defaults when nothing is registered.
	if !c.GetGrantTypes().ExactOne("authorization_code") || !c.GetResponseTypes().ExactOne("code") {
		t.Fatalf("defaults: grant types %v, response types %v", c.GetGrantTypes(), c.GetResponseTypes())
	}
	c.Client.GrantTypes, c.Client.ResponseTypes = []string{"refresh_token", "client_credentials"}, []string{"code id_token"}
	if !c.GetGrantTypes().Has("refresh_token", "client_credentials") || c.GetGrantTypes().Has("authorization_code") || !c.GetResponseTypes().ExactOne("code id_token") {
		t.Fatalf("registered: grant types %v, response types %v", c.GetGrantTypes(), c.GetResponseTypes())
	}
	for _, m := range []fosite.ResponseModeType{fosite.ResponseModeDefault, fosite.ResponseModeQuery, fosite.ResponseModeFragment, fosite.ResponseModeFormPost} {
		if !slices.Contains(c.GetResponseModes(), m) {
			t.Errorf("response mode %q not allowed", m)
		}
	}
	c.Client.Public, c.Client.SecretHash = true, nil
	if !c.IsPublic() || c.GetHashedSecret() != nil {
		t.Fatal("public client")
	}
}
