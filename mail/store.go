package mail

import (
	"context"
	"time"

	"github.com/madfam-org/janua/storage"
	"github.com/madfam-org/janua/templates"
)

// Store is the durable outbox the Outbox works on; *storage.Store
// satisfies it.
type Store interface {
	EnqueueMail(ctx context.Context, m *storage.OutboxMessage) error
	ClaimMail(ctx context.Context, lease time.Duration, limit int) ([]storage.OutboxMessage, error)
	MarkMailSent(ctx context.Context, id, claim string) error
	MarkMailFailed(ctx context.Context, id, claim, reason string, retryAt time.Time) error
	MarkMailDead(ctx context.Context, id, claim, reason string) error
	AfterCommit(ctx context.Context, fn func())
}

// Renderer turns a message into its subject and bodies; *templates.Set
// satisfies it.
type Renderer interface {
	Mail(lang, kind string, data map[string]string) (subject, text, html string, err error)
}

var (
	_ Store    = (*storage.Store)(nil)
	_ Renderer = (*templates.Set)(nil)
)
