package login

import (
	"context"
	"time"

	"github.com/madfam-org/janua/directory"
	"github.com/madfam-org/janua/storage"
)

// SessionStore is the persistence of the browser SSO session.
type SessionStore interface {
	CreateBrowserSession(ctx context.Context, bs *storage.BrowserSession) error
	GetBrowserSession(ctx context.Context, id string) (*storage.BrowserSession, error)
	TouchBrowserSession(ctx context.Context, id string, idleExpiresAt time.Time) error
	RevokeBrowserSession(ctx context.Context, id string) error
	RevokeUserBrowserSessions(ctx context.Context, userID, except string) (int64, error)
	ListUserBrowserSessions(ctx context.Context, userID string) ([]storage.BrowserSession, error)
	RecordAuditEvent(ctx context.Context, e *storage.AuditEvent) error
	RecordAuditEvents(ctx context.Context, es ...*storage.AuditEvent) error
}

// Store is everything the sign-in pages need: users and their password
// hashes, the flow record they advance, the client it is for, the SSO
// session, the audit log and transactions.
type Store interface {
	SessionStore
	PasskeyStore
	GetUser(ctx context.Context, id string) (*storage.User, error)
	GetUserByEmail(ctx context.Context, email string) (*storage.User, error)
	GetUserByEmailWithPassword(ctx context.Context, email string) (*storage.User, string, error)
	GetPasswordHash(ctx context.Context, userID string) (string, error)
	SetPasswordHash(ctx context.Context, userID, hash string) error
	GetFlow(ctx context.Context, id string) (*storage.Flow, error)
	AdvanceFlow(ctx context.Context, f *storage.Flow, from storage.FlowState) error
	GetClient(ctx context.Context, id string) (*storage.Client, error)
	GetFactorEnrolment(ctx context.Context, userID string) (storage.FactorEnrolment, error)
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
	LockUser(ctx context.Context, id string) error
	TOTPStore
	BackupCodeStore
	EmailStore
}

// EmailStore is what the mailed sign-in, verification and reset pages
// need: one-time email tokens, the verified flag, the browsers a user
// signed in from, and ending a user's grants after a password reset.
type EmailStore interface {
	CreateEmailToken(ctx context.Context, t *storage.EmailToken, token, code string, ttl time.Duration) error
	GetEmailToken(ctx context.Context, purpose storage.EmailTokenPurpose, token string) (*storage.EmailToken, error)
	ConsumeEmailToken(ctx context.Context, purpose storage.EmailTokenPurpose, token string) (*storage.EmailToken, error)
	ConsumeEmailCode(ctx context.Context, id, code, flowID, browser string) (*storage.EmailToken, int, error)
	InvalidateEmailTokens(ctx context.Context, userID string, purposes ...storage.EmailTokenPurpose) (int64, error)
	MarkEmailVerified(ctx context.Context, userID, email string) error
	RecordBrowserSignIn(ctx context.Context, userID, browser string) (isNew, hadOthers bool, err error)
	RevokeUserOAuth2Tokens(ctx context.Context, userID string) (int64, error)
}

// PasskeyStore is the persistence of passkeys (passkey*.go): WebAuthn
// credential records and each user's random user handle.
type PasskeyStore interface {
	PasskeyUserHandle(ctx context.Context, userID string) ([]byte, error)
	ListPasskeys(ctx context.Context, userID string) ([]storage.Passkey, error)
	CountPasskeys(ctx context.Context, userID string) (int, error)
	GetPasskeyByCredentialID(ctx context.Context, id []byte) (*storage.Passkey, error)
	CreatePasskey(ctx context.Context, pk *storage.Passkey, limit int) error
	RenamePasskey(ctx context.Context, userID, id, name string) error
	DeletePasskey(ctx context.Context, userID, id string) (*storage.Passkey, error)
	UsePasskey(ctx context.Context, id string, u storage.PasskeyUse) error
}

// Directory creates users (sign-up); *directory.Users satisfies it.
type Directory interface {
	Create(ctx context.Context, spec directory.UserSpec, actor string) (*storage.User, error)
}

var (
	_ Store     = (*storage.Store)(nil)
	_ Directory = (*directory.Users)(nil)
)
