package consent

import (
	"context"
	"errors"
	"slices"

	"github.com/madfam-org/janua/storage"
)

// Gate answers whether a request needs the consent page. It implements
// oidc.ConsentGate.
type Gate struct {
	store GrantStore
}

// NewGate returns the gate over store.
func NewGate(store GrantStore) *Gate { return &Gate{store: store} }

// Covered is true for a first-party client (the deployment's own
// applications never ask), or when the user's remembered grant to the
// client includes every requested scope (OIDC Core §3.1.2.4: consent may be
// established by prior interaction).
func (g *Gate) Covered(ctx context.Context, userID string, client *storage.Client, scopes []string) (bool, error) {
	if client == nil {
		return false, nil
	}
	if client.FirstParty {
		return true, nil
	}
	grant, err := g.store.GetConsentGrant(ctx, userID, client.ID)
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	for _, s := range scopes {
		if !slices.Contains(grant.Scopes, s) {
			return false, nil
		}
	}
	return true, nil
}

// remember adds scopes to the user's grant to the client: the grant is the
// union of everything they ever allowed it (until revoked).
func remember(ctx context.Context, store GrantStore, userID, clientID string, scopes []string) (*storage.ConsentGrant, error) {
	var have []string
	prev, err := store.GetConsentGrant(ctx, userID, clientID)
	switch {
	case err == nil:
		have = prev.Scopes
	case !errors.Is(err, storage.ErrNotFound):
		return nil, err
	}
	union := append([]string(nil), have...)
	for _, s := range scopes {
		if !slices.Contains(union, s) {
			union = append(union, s)
		}
	}
	g := &storage.ConsentGrant{UserID: userID, ClientID: clientID, Scopes: union}
	return g, store.SaveConsentGrant(ctx, g)
}
