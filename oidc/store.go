package oidc

import (
	"context"

	"github.com/madfam-org/janua/storage"
)

// ClientStore is the client persistence oidc consumes.
type ClientStore interface {
	CreateClient(ctx context.Context, c *storage.Client) error
	GetClient(ctx context.Context, id string) (*storage.Client, error)
	ListClients(ctx context.Context, p storage.Page) ([]storage.Client, string, error)
	DeleteClient(ctx context.Context, id string) error
}

// AuditLog records security events.
type AuditLog interface {
	RecordAuditEvent(ctx context.Context, e *storage.AuditEvent) error
}

// Transactor runs fn in one transaction, so a change and its audit event are
// stored together or not at all.
type Transactor interface {
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
}

// RegistryStore is everything the client registry needs.
type RegistryStore interface {
	ClientStore
	AuditLog
	Transactor
}

var _ RegistryStore = (*storage.Store)(nil)
