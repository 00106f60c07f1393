package storagetest

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"reflect"
	"sync"
	"testing"

	"github.com/madfam-org/janua/storage"
)

func newClient(id string) *storage.Client {
	sum := sha256.Sum256([]byte("secret of " + id))
	return &storage.Client{
		ID:                      id,
		SecretHash:              sum[:],
		Name:                    "Client " + id,
		TokenEndpointAuthMethod: "client_secret_basic",
		RedirectURIs:            []string{"https://app.example.com/callback", "https://app.example.com/cb?x=1"},
		PostLogoutRedirectURIs:  []string{"https://app.example.com/bye"},
		GrantTypes:              []string{"authorization_code", "refresh_token"},
		ResponseTypes:           []string{"code"},
		Scopes:                  []string{"openid", "profile", "email"},
		Metadata: storage.ClientMetadata{
			LogoURI:                  "https://app.example.com/logo.png",
			JWKS:                     json.RawMessage(`{"keys":[]}`),
			IDTokenSignedResponseAlg: "ES256",
			AccessTokenTTL:           600,
			DefaultACRValues:         []string{"mfa"},
		},
	}
}

func testClients(t *testing.T, b Backend) {
	t.Run("CreateGetRoundTrip", func(t *testing.T) {
		h := newHarness(t, b)
		c := newClient("app")
		if err := h.store.CreateClient(h.ctx, c); err != nil {
			t.Fatal(err)
		}
		got, err := h.store.GetClient(h.ctx, "app")
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.SecretHash, c.SecretHash) || got.Name != c.Name ||
			!reflect.DeepEqual(got.RedirectURIs, c.RedirectURIs) ||
			!reflect.DeepEqual(got.PostLogoutRedirectURIs, c.PostLogoutRedirectURIs) ||
			!reflect.DeepEqual(got.GrantTypes, c.GrantTypes) || !reflect.DeepEqual(got.Scopes, c.Scopes) ||
			got.Metadata.LogoURI != c.Metadata.LogoURI || got.Metadata.AccessTokenTTL != 600 ||
			!reflect.DeepEqual(got.Metadata.DefaultACRValues, []string{"mfa"}) ||
			got.Metadata.IDTokenSignedResponseAlg != "ES256" || got.Revision != 1 {
			t.Fatalf("got %+v\nwant %+v", got, c)
		}
		var jwks map[string]any
		if err := json.Unmarshal(got.Metadata.JWKS, &jwks); err != nil || jwks["keys"] == nil {
			t.Fatalf("jwks %s: %v", got.Metadata.JWKS, err)
		}
	})

	t.Run("PublicClientHasNoSecret", func(t *testing.T) {
		h := newHarness(t, b)
		c := newClient("spa")
		c.SecretHash, c.Public, c.TokenEndpointAuthMethod = nil, true, "none"
		c.Scopes = nil
		if err := h.store.CreateClient(h.ctx, c); err != nil {
			t.Fatal(err)
		}
		got, _ := h.store.GetClient(h.ctx, "spa")
		if got.SecretHash != nil || !got.Public || got.Scopes == nil || len(got.Scopes) != 0 {
			t.Fatalf("public client: %+v", got)
		}
	})

	t.Run("DuplicateAndNotFound", func(t *testing.T) {
		h := newHarness(t, b)
		if err := h.store.CreateClient(h.ctx, newClient("dup")); err != nil {
			t.Fatal(err)
		}
		if err := h.store.CreateClient(h.ctx, newClient("dup")); !is(err, storage.ErrAlreadyExists) {
			t.Fatalf("duplicate: %v", err)
		}
		if _, err := h.store.GetClient(h.ctx, "nope"); !is(err, storage.ErrNotFound) {
			t.Fatalf("get missing: %v", err)
		}
		if err := h.store.DeleteClient(h.ctx, "nope"); !is(err, storage.ErrNotFound) {
			t.Fatalf("delete missing: %v", err)
		}
		if err := h.store.DeleteClient(h.ctx, "dup"); err != nil {
			t.Fatal(err)
		}
		if _, err := h.store.GetClient(h.ctx, "dup"); !is(err, storage.ErrNotFound) {
			t.Fatalf("get deleted: %v", err)
		}
	})

	t.Run("UpdateAndConflict", func(t *testing.T) {
		h := newHarness(t, b)
		c := newClient("upd")
		if err := h.store.CreateClient(h.ctx, c); err != nil {
			t.Fatal(err)
		}
		stale := *c
		c.RedirectURIs = []string{"https://new.example.com/cb"}
		c.Metadata.PolicyURI = "https://new.example.com/policy"
		c.FirstParty = true
		if err := h.store.UpdateClient(h.ctx, c); err != nil {
			t.Fatal(err)
		}
		got, _ := h.store.GetClient(h.ctx, "upd")
		if got.Revision != 2 || !got.FirstParty || got.RedirectURIs[0] != "https://new.example.com/cb" || got.Metadata.PolicyURI == "" || got.Metadata.LogoURI == "" {
			t.Fatalf("after update: %+v", got)
		}
		if err := h.store.UpdateClient(h.ctx, &stale); !is(err, storage.ErrConflict) {
			t.Fatalf("stale: %v", err)
		}
		ghost := newClient("ghost")
		ghost.Revision = 1
		if err := h.store.UpdateClient(h.ctx, ghost); !is(err, storage.ErrNotFound) {
			t.Fatalf("missing: %v", err)
		}
		var wg sync.WaitGroup
		errs := make([]error, 6)
		for i := range errs {
			wg.Go(func() { c2 := *got; c2.Name = "racer"; errs[i] = h.store.UpdateClient(h.ctx, &c2) })
		}
		wg.Wait()
		wins := 0
		for _, err := range errs {
			if err == nil {
				wins++
			} else if !is(err, storage.ErrConflict) {
				t.Fatalf("race: %v", err)
			}
		}
		if wins != 1 {
			t.Fatalf("%d concurrent client updates won, want 1", wins)
		}
	})

	t.Run("ListPages", func(t *testing.T) {
		h := newHarness(t, b)
		for _, id := range []string{"c", "a", "e", "b", "d"} {
			if err := h.store.CreateClient(h.ctx, newClient(id)); err != nil {
				t.Fatal(err)
			}
		}
		first, next, err := h.store.ListClients(h.ctx, storage.Page{Limit: 3})
		if err != nil || len(first) != 3 || first[0].ID != "a" || next != "c" {
			t.Fatalf("first page %v next %q err %v", ids(first), next, err)
		}
		rest, next, err := h.store.ListClients(h.ctx, storage.Page{After: next, Limit: 3})
		if err != nil || len(rest) != 2 || rest[0].ID != "d" || next != "" {
			t.Fatalf("second page %v next %q err %v", ids(rest), next, err)
		}
	})
}

func ids(cs []storage.Client) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}
