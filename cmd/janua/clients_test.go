package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/madfam-org/janua/oidc"
	"github.com/madfam-org/janua/storage"
)

func TestClientsLifecycle(t *testing.T) {
	c := newCLI(t)
	ctx := context.Background()
	out := c.must("clients", "create", "--name", "Enclii", "-o", "json",
		"--redirect-uri", "https://enclii.example.com/callback", "--redirect-uri", "http://127.0.0.1:8080/cb",
		"--post-logout-redirect-uri", "https://enclii.example.com/bye",
		"--grant-type", "authorization_code", "--grant-type", "refresh_token", "--grant-type", "implicit",
		"--response-type", "code", "--response-type", "id_token code",
		"--scope", "openid profile", "--scope", "email offline_access",
		"--token-endpoint-auth-method", "client_secret_post", "--first-party", "--logo-uri", "https://enclii.example.com/logo.png")
	var v clientView
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(v.ClientID) < 20 || len(v.ClientSecret) < 43 || v.ClientSecretExpiresAt == nil || *v.ClientSecretExpiresAt != 0 {
		t.Fatalf("created %+v: want a generated id and a 256-bit secret", v)
	}
	if v.TokenEndpointAuthMethod != "client_secret_post" || !v.FirstParty || v.Scope != "openid profile email offline_access" ||
		strings.Join(v.ResponseTypes, ",") != "code,code id_token" || v.Metadata.LogoURI == "" {
		t.Fatalf("created %+v", v)
	}
	// Stored: the SHA-256 digest only, which matches in constant time.
	s := c.store()
	stored, err := s.GetClient(ctx, v.ClientID)
	if err != nil {
		t.Fatal(err)
	}
	if len(stored.SecretHash) != 32 || strings.Contains(string(stored.SecretHash), v.ClientSecret) {
		t.Fatalf("stored secret hash %x", stored.SecretHash)
	}
	if !oidc.SecretMatches(v.ClientSecret, stored.SecretHash) || oidc.SecretMatches(v.ClientSecret+"x", stored.SecretHash) {
		t.Fatal("stored digest does not match the printed secret (or matches a wrong one)")
	}
	// A public client gets no secret; a fixed id can be chosen once.
	out = c.must("clients", "create", "--name", "SPA", "--id", "dhanam-spa", "--public", "--redirect-uri", "http://localhost:5173/cb")
	if !strings.Contains(out, "client_id: dhanam-spa") || strings.Contains(out, "client_secret") {
		t.Fatalf("public client output:\n%s", out)
	}
	if _, _, err := c.run("clients", "create", "--name", "Again", "--id", "dhanam-spa", "--redirect-uri", "https://x.example.com/cb"); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("duplicate id: %v", err)
	}
	// A machine client needs no redirect URI.
	c.must("clients", "create", "--name", "Worker", "--grant-type", "client_credentials", "--scope", "api:read")

	list := c.must("clients", "list")
	for _, want := range []string{"Enclii", "dhanam-spa", "public", "Worker"} {
		if !strings.Contains(list, want) {
			t.Errorf("list lacks %q:\n%s", want, list)
		}
	}
	if strings.Contains(list, v.ClientSecret) {
		t.Fatal("list printed a secret")
	}
	c.must("clients", "delete", "dhanam-spa")
	if _, _, err := c.run("clients", "delete", "dhanam-spa"); err == nil || !strings.Contains(err.Error(), "no client") {
		t.Fatalf("second delete: %v", err)
	}
	events, _ := s.ListAuditEvents(ctx, storage.AuditFilter{Subject: "dhanam-spa"})
	if len(events) != 2 || events[0].Type != "client.deleted" || events[1].Type != "client.created" {
		t.Fatalf("audit %+v", events)
	}
}

func TestClientsCreateRejectsBadMetadata(t *testing.T) {
	c := newCLI(t)
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--name", "x"}, []string{"redirect_uris: at least one"}},
		{[]string{"--name", "x", "--redirect-uri", "http://app.example.com/cb"}, []string{"must use https"}},
		{[]string{"--name", "x", "--redirect-uri", "https://app.example.com/cb#frag"}, []string{"fragment"}},
		{[]string{"--name", "x", "--redirect-uri", "/relative"}, []string{"absolute"}},
		{[]string{"--name", "x", "--redirect-uri", "com.example.app:/cb"}, []string{"private-use schemes are for native, public clients"}},
		{[]string{"--name", "x", "--public", "--redirect-uri", "myapp:/cb"}, []string{"reverse domain"}},
		{[]string{"--name", "x", "--public", "--grant-type", "client_credentials"}, []string{"public client cannot use client_credentials"}},
		{[]string{"--name", "x", "--public", "--token-endpoint-auth-method", "client_secret_basic", "--redirect-uri", "https://a.example.com/cb"}, []string{`authenticates with "none"`}},
		{[]string{"--name", "x", "--response-type", "id_token", "--redirect-uri", "https://a.example.com/cb"}, []string{"needs the implicit grant type"}},
		{[]string{"--name", "x", "--token-endpoint-auth-method", "private_key_jwt", "--redirect-uri", "https://a.example.com/cb"}, []string{"jwks or jwks_uri"}},
		{[]string{"--name", "x", "--scope", `bad"scope`, "--grant-type", "client_credentials"}, []string{"not a valid scope token"}},
		{[]string{"--name", "x", "--id", "has space", "--grant-type", "client_credentials"}, []string{"client_id"}},
		{[]string{"--name", "x", "--grant-type", "password", "--redirect-uri", "https://a.example.com/cb"}, []string{`"password" is not one of`}},
		{[]string{"--name", "x", "--id-token-signed-response-alg", "HS256", "--redirect-uri", "https://a.example.com/cb"}, []string{"id_token_signed_response_alg"}},
		// Several problems at once are all named.
		{[]string{"--name", "", "--redirect-uri", "ftp://x", "--access-token-format", "paseto"}, []string{"client_name", "redirect_uris", "access_token_format"}},
	} {
		_, _, err := c.run(append([]string{"clients", "create"}, tc.args...)...)
		for _, w := range tc.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("clients create %v: %v, want %q", tc.args, err, w)
			}
		}
	}
	if out := c.must("clients", "list", "-o", "json"); !strings.Contains(out, `"clients": []`) {
		t.Fatalf("a rejected client was stored: %s", out)
	}
}
