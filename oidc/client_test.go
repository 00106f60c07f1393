package oidc_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/madfam-org/janua/oidc"
	"github.com/madfam-org/janua/storage"
	"github.com/madfam-org/janua/storage/storagetest"
)

func jwks(t *testing.T, private bool) json.RawMessage {
	t.Helper()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	var key any = k.Public()
	if private {
		key = k
	}
	b, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: key, KeyID: "k1", Algorithm: "ES256", Use: "sig"}}})
	return b
}

func TestClientSpecRules(t *testing.T) {
	web := []string{"https://app.example.com/cb"}
	for _, tc := range []struct {
		name  string
		spec  oidc.ClientSpec
		field string // "" = valid
		code  string
	}{
		{"confidential web app", oidc.ClientSpec{Name: "a", RedirectURIs: web}, "", ""},
		{"redirect with query is fine (matched exactly)", oidc.ClientSpec{Name: "a", RedirectURIs: []string{"https://app.example.com/cb?tenant=1"}}, "", ""},
		{"loopback http, any port", oidc.ClientSpec{Name: "a", Public: true, RedirectURIs: []string{"http://127.0.0.1/cb", "http://[::1]:8080/cb", "http://localhost:3000/cb"}}, "", ""},
		{"native private-use scheme", oidc.ClientSpec{Name: "a", Public: true, RedirectURIs: []string{"com.example.app:/oauth2redirect"}}, "", ""},
		{"machine client", oidc.ClientSpec{Name: "a", GrantTypes: []string{"client_credentials"}}, "", ""},
		{"private_key_jwt with jwks", oidc.ClientSpec{Name: "a", RedirectURIs: web, TokenEndpointAuthMethod: "private_key_jwt", Metadata: storage.ClientMetadata{JWKS: jwks(t, false)}}, "", ""},
		{"private_key_jwt with jwks_uri", oidc.ClientSpec{Name: "a", RedirectURIs: web, TokenEndpointAuthMethod: "private_key_jwt", Metadata: storage.ClientMetadata{JWKSURI: "https://app.example.com/jwks"}}, "", ""},
		{"hybrid needs implicit", oidc.ClientSpec{Name: "a", RedirectURIs: web, ResponseTypes: []string{"code id_token"}}, "response_types", "invalid_client_metadata"},
		{"hybrid with both grants", oidc.ClientSpec{Name: "a", RedirectURIs: web, GrantTypes: []string{"authorization_code", "implicit"}, ResponseTypes: []string{"token code id_token"}}, "", ""},
		{"implicit only", oidc.ClientSpec{Name: "a", RedirectURIs: web, GrantTypes: []string{"implicit"}}, "", ""},
		{"implicit without a token response type", oidc.ClientSpec{Name: "a", RedirectURIs: web, GrantTypes: []string{"authorization_code", "implicit"}, ResponseTypes: []string{"code"}}, "grant_types", ""},
		{"private jwks refused", oidc.ClientSpec{Name: "a", RedirectURIs: web, TokenEndpointAuthMethod: "private_key_jwt", Metadata: storage.ClientMetadata{JWKS: jwks(t, true)}}, "jwks", ""},
		{"jwks and jwks_uri both", oidc.ClientSpec{Name: "a", RedirectURIs: web, Metadata: storage.ClientMetadata{JWKS: jwks(t, false), JWKSURI: "https://x.example.com/j"}}, "jwks", ""},
		{"not a jwks", oidc.ClientSpec{Name: "a", RedirectURIs: web, Metadata: storage.ClientMetadata{JWKS: json.RawMessage(`{"keys":"no"}`)}}, "jwks", ""},
		{"http non-loopback", oidc.ClientSpec{Name: "a", RedirectURIs: []string{"http://app.example.com/cb"}}, "redirect_uris", "invalid_redirect_uri"},
		{"javascript scheme", oidc.ClientSpec{Name: "a", Public: true, RedirectURIs: []string{"javascript:alert(1)"}}, "redirect_uris", "invalid_redirect_uri"},
		{"fragment", oidc.ClientSpec{Name: "a", RedirectURIs: []string{"https://a.example.com/cb#x"}}, "redirect_uris", "invalid_redirect_uri"},
		{"user info", oidc.ClientSpec{Name: "a", RedirectURIs: []string{"https://u:p@a.example.com/cb"}}, "redirect_uris", "invalid_redirect_uri"},
		{"bad post-logout URI", oidc.ClientSpec{Name: "a", RedirectURIs: web, PostLogoutRedirectURIs: []string{"http://evil.example.com/"}}, "post_logout_redirect_uris", "invalid_client_metadata"},
		{"RS256 JWT access tokens", oidc.ClientSpec{Name: "a", GrantTypes: []string{"client_credentials"}, Metadata: storage.ClientMetadata{AccessTokenFormat: "jwt", AccessTokenSigningAlg: "RS256"}}, "", ""},
		{"access token alg unknown", oidc.ClientSpec{Name: "a", GrantTypes: []string{"client_credentials"}, Metadata: storage.ClientMetadata{AccessTokenFormat: "jwt", AccessTokenSigningAlg: "HS256"}}, "access_token_signed_response_alg", ""},
		{"access token alg for opaque tokens", oidc.ClientSpec{Name: "a", GrantTypes: []string{"client_credentials"}, Metadata: storage.ClientMetadata{AccessTokenSigningAlg: "ES256"}}, "access_token_signed_response_alg", ""},
		{"logo over http", oidc.ClientSpec{Name: "a", RedirectURIs: web, Metadata: storage.ClientMetadata{LogoURI: "http://cdn.example.com/l.png"}}, "logo_uri", ""},
		{"pairwise with sector", oidc.ClientSpec{Name: "a", RedirectURIs: web, Metadata: storage.ClientMetadata{SubjectType: "pairwise", SectorIdentifierURI: "https://a.example.com/sector.json"}}, "", ""},
		{"sector without pairwise", oidc.ClientSpec{Name: "a", RedirectURIs: web, Metadata: storage.ClientMetadata{SectorIdentifierURI: "https://a.example.com/s"}}, "sector_identifier_uri", ""},
		{"negative ttl", oidc.ClientSpec{Name: "a", RedirectURIs: web, Metadata: storage.ClientMetadata{AccessTokenTTL: -1}}, "access_token_ttl", ""},
		{"control characters in name", oidc.ClientSpec{Name: "a\x00b", RedirectURIs: web}, "client_name", ""},
		{"none without public", oidc.ClientSpec{Name: "a", RedirectURIs: web, TokenEndpointAuthMethod: "none"}, "token_endpoint_auth_method", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := tc.spec.Normalize()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				if c.Name == "" || len(c.GrantTypes) == 0 || len(c.Scopes) == 0 {
					t.Fatalf("defaults not filled: %+v", c)
				}
				return
			}
			var me *oidc.MetadataError
			if !errors.As(err, &me) {
				t.Fatalf("accepted (or wrong error %v), want a problem with %s", err, tc.field)
			}
			found := false
			for _, p := range me.Problems {
				found = found || p.Field == tc.field
			}
			if !found {
				t.Fatalf("problems %+v do not name %s", me.Problems, tc.field)
			}
			if tc.code != "" && me.Code() != tc.code {
				t.Fatalf("code %s, want %s", me.Code(), tc.code)
			}
		})
	}
}

func TestClientSpecDefaults(t *testing.T) {
	c, err := oidc.ClientSpec{Name: " Web ", RedirectURIs: []string{"https://a.example.com/cb", "https://a.example.com/cb"},
		ResponseTypes: []string{"id_token code"}, GrantTypes: []string{"authorization_code", "implicit"}, Scopes: []string{"openid  email", "openid"}}.Normalize()
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "Web" || len(c.RedirectURIs) != 1 || c.ResponseTypes[0] != "code id_token" ||
		strings.Join(c.Scopes, " ") != "openid email" || c.TokenEndpointAuthMethod != "client_secret_basic" {
		t.Fatalf("normalized %+v", c)
	}
	pub, _ := oidc.ClientSpec{Name: "p", Public: true, RedirectURIs: []string{"http://127.0.0.1/cb"}}.Normalize()
	if pub.TokenEndpointAuthMethod != "none" || strings.Join(pub.GrantTypes, ",") != "authorization_code,refresh_token" ||
		strings.Join(pub.ResponseTypes, ",") != "code" {
		t.Fatalf("public defaults %+v", pub)
	}
}

func TestSecrets(t *testing.T) {
	s1, d1 := oidc.NewSecret()
	s2, _ := oidc.NewSecret()
	if len(s1) != 43 || s1 == s2 || len(d1) != 32 {
		t.Fatalf("secrets %q %q digest %d bytes", s1, s2, len(d1))
	}
	if !oidc.SecretMatches(s1, d1) || oidc.SecretMatches(s2, d1) || oidc.SecretMatches(s1, d1[:31]) || oidc.SecretMatches("", nil) {
		t.Fatal("SecretMatches wrong")
	}
}

func TestRegistryCreatesAuditsAndNeverStoresTheSecret(t *testing.T) {
	ctx := context.Background()
	s := storagetest.OpenSQLite(t)
	r := oidc.NewClients(s, nil)
	created, err := r.Create(ctx, oidc.ClientSpec{Name: "Dhanam", RedirectURIs: []string{"https://dhanam.example.com/cb"}}, "cli")
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.Get(ctx, created.Client.ID)
	if err != nil || !oidc.SecretMatches(created.Secret, got.SecretHash) {
		t.Fatalf("stored client %+v %v", got, err)
	}
	pk, err := r.Create(ctx, oidc.ClientSpec{Name: "PKJ", RedirectURIs: []string{"https://p.example.com/cb"},
		TokenEndpointAuthMethod: "private_key_jwt", Metadata: storage.ClientMetadata{JWKSURI: "https://p.example.com/jwks"}}, "cli")
	if err != nil || pk.Secret != "" || pk.Client.SecretHash != nil {
		t.Fatalf("private_key_jwt client got a secret: %+v %v", pk, err)
	}
	events, _ := s.ListAuditEvents(ctx, storage.AuditFilter{Type: "client.created"})
	if len(events) != 2 || events[1].Subject != created.Client.ID || events[1].Actor != "cli" {
		t.Fatalf("audit %+v", events)
	}
	for _, e := range events {
		b, _ := json.Marshal(e.Details)
		if strings.Contains(string(b), created.Secret) {
			t.Fatal("the secret reached the audit log")
		}
	}
	// A refused client leaves no row and no audit event.
	if _, err := r.Create(ctx, oidc.ClientSpec{Name: "dup", ID: created.Client.ID, RedirectURIs: []string{"https://d.example.com/cb"}}, "cli"); !errors.Is(err, storage.ErrAlreadyExists) {
		t.Fatalf("duplicate: %v", err)
	}
	events, _ = s.ListAuditEvents(ctx, storage.AuditFilter{Type: "client.created"})
	if len(events) != 2 {
		t.Fatalf("a failed create was audited: %d events", len(events))
	}
	if err := r.Delete(ctx, "nope", "cli"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("delete missing: %v", err)
	}
}

func TestPairwiseSectorValidation(t *testing.T) {
	ctx := context.Background()
	s := storagetest.OpenSQLite(t)
	sector := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/sector.json":
			_, _ = w.Write([]byte(`["https://a.example.com/cb","https://b.example.com/cb"]`))
		case "/not-json":
			_, _ = w.Write([]byte(`<html>`))
		default:
			http.NotFound(w, r)
		}
	}))
	defer sector.Close()
	r := oidc.NewClients(s, sector.Client())
	pairwise := func(sectorURI string, redirects ...string) oidc.ClientSpec {
		return oidc.ClientSpec{Name: "p", RedirectURIs: redirects,
			Metadata: storage.ClientMetadata{SubjectType: "pairwise", SectorIdentifierURI: sectorURI}}
	}
	if _, err := r.Create(ctx, pairwise(sector.URL+"/sector.json", "https://a.example.com/cb", "https://b.example.com/cb"), "cli"); err != nil {
		t.Fatalf("listed redirect URIs: %v", err)
	}
	if _, err := r.Create(ctx, pairwise("", "https://a.example.com/cb", "https://a.example.com/other"), "cli"); err != nil {
		t.Fatalf("one host without a sector document: %v", err)
	}
	for name, spec := range map[string]oidc.ClientSpec{
		"unlisted redirect URI":     pairwise(sector.URL+"/sector.json", "https://c.example.com/cb"),
		"several hosts, no sector":  pairwise("", "https://a.example.com/cb", "https://b.example.com/cb"),
		"sector document not JSON":  pairwise(sector.URL+"/not-json", "https://a.example.com/cb"),
		"sector document not found": pairwise(sector.URL+"/missing", "https://a.example.com/cb"),
	} {
		_, err := r.Create(ctx, spec, "cli")
		var me *oidc.MetadataError
		if !errors.As(err, &me) || me.Code() != "invalid_client_metadata" || me.Problems[0].Field != "sector_identifier_uri" {
			t.Errorf("%s: %v, want an invalid_client_metadata problem with sector_identifier_uri", name, err)
		}
	}
}
