package consent_test

import (
	"context"
	"testing"

	"github.com/madfam-org/janua/consent"
	"github.com/madfam-org/janua/storage"
	"github.com/madfam-org/janua/storage/storagetest"
)

func TestGateCovered(t *testing.T) {
	ctx := context.Background()
	store := storagetest.OpenSQLite(t)
	u := &storage.User{Email: "ana@example.com"}
	if err := store.CreateUser(ctx, u, ""); err != nil {
		t.Fatal(err)
	}
	third := &storage.Client{ID: "third", Name: "Third", Public: true, TokenEndpointAuthMethod: "none"}
	own := &storage.Client{ID: "own", Name: "Own", Public: true, FirstParty: true, TokenEndpointAuthMethod: "none"}
	for _, c := range []*storage.Client{third, own} {
		if err := store.CreateClient(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if err := store.SaveConsentGrant(ctx, &storage.ConsentGrant{UserID: u.ID, ClientID: "third", Scopes: []string{"openid", "email"}}); err != nil {
		t.Fatal(err)
	}
	g := consent.NewGate(store)
	for _, tc := range []struct {
		user   string
		client *storage.Client
		scopes []string
		want   bool
	}{
		{u.ID, third, []string{"openid"}, true},
		{u.ID, third, []string{"email", "openid"}, true},
		{u.ID, third, nil, true},
		{u.ID, third, []string{"openid", "profile"}, false},
		{u.ID, own, []string{"openid", "profile", "offline_access"}, true}, // first-party
		{"00000000-0000-7000-8000-000000000001", third, []string{"openid"}, false},
		{"not-a-uuid", third, []string{"openid"}, false},
		{u.ID, nil, []string{"openid"}, false},
	} {
		got, err := g.Covered(ctx, tc.user, tc.client, tc.scopes)
		if err != nil || got != tc.want {
			t.Errorf("Covered(%s, %v, %v) = %v, %v; want %v", tc.user, tc.client != nil, tc.scopes, got, err, tc.want)
		}
	}
}
