package directory

import (
	"context"

	"github.com/madfam-org/janua/storage"
)

// Store is the persistence directory consumes.
type Store interface {
	CreateUser(ctx context.Context, u *storage.User, passwordHash string) error
	GetUser(ctx context.Context, id string) (*storage.User, error)
	GetUserByEmail(ctx context.Context, email string) (*storage.User, error)
	ListUsers(ctx context.Context, p storage.Page) ([]storage.User, string, error)
	SetUserDisabled(ctx context.Context, id string, disabled bool) error
	DeleteUser(ctx context.Context, id string) error
	RevokeUserBrowserSessions(ctx context.Context, userID, except string) (int64, error)
	RecordAuditEvent(ctx context.Context, e *storage.AuditEvent) error
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
}

var _ Store = (*storage.Store)(nil)
