package consent

import (
	"context"

	"github.com/labstack/echo/v4"

	"github.com/madfam-org/janua/storage"
)

// GrantStore is the persistence of remembered consent.
type GrantStore interface {
	GetConsentGrant(ctx context.Context, userID, clientID string) (*storage.ConsentGrant, error)
	SaveConsentGrant(ctx context.Context, g *storage.ConsentGrant) error
}

// Store is everything the consent page needs.
type Store interface {
	GrantStore
	GetFlow(ctx context.Context, id string) (*storage.Flow, error)
	AdvanceFlow(ctx context.Context, f *storage.Flow, from storage.FlowState) error
	GetClient(ctx context.Context, id string) (*storage.Client, error)
	GetUser(ctx context.Context, id string) (*storage.User, error)
	RecordAuditEvent(ctx context.Context, e *storage.AuditEvent) error
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
}

// SignedIn tells who is signed in on the browser of a request;
// login.Sessions satisfies it.
type SignedIn interface {
	SignedInUser(c echo.Context) (userID string, ok bool, err error)
}

var _ Store = (*storage.Store)(nil)
