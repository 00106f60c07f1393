package storage

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// TOTPAuthenticator is a user's authenticator app (RFC 6238 TOTP). Secret is
// the raw shared secret in memory; in the database it is sealed (AES-256-GCM
// under the key-encryption secret, bound to the row), never in clear. A user
// has at most one: pending from enrolment until a first code confirms it
// (ConfirmedAt set), then in use until removed.
type TOTPAuthenticator struct {
	// ID names this secret: a new enrolment gets a new one, so confirming
	// names the secret the code was checked against.
	ID          string
	UserID      string
	Secret      []byte
	CreatedAt   time.Time
	ConfirmedAt *time.Time
	// LastUsedStep is the newest time step (Unix time / period) a code was
	// accepted for; only a later step is ever accepted (RFC 6238 §5.2: a
	// code is used once).
	LastUsedStep int64
	LastUsedAt   *time.Time
}

// Confirmed reports whether the authenticator is in use (not an enrolment
// waiting for its first code).
func (a *TOTPAuthenticator) Confirmed() bool { return a.ConfirmedAt != nil }

// totpRow is TOTPAuthenticator as stored.
type totpRow struct {
	ID           string `gorm:"primaryKey"`
	UserID       string
	Secret       []byte // sealed
	CreatedAt    time.Time
	ConfirmedAt  *time.Time
	LastUsedStep int64
	LastUsedAt   *time.Time
}

func (totpRow) TableName() string { return "totp_authenticators" }

func totpBinding(id string) string { return "totp_authenticators.secret:" + id }

// BeginTOTP stores a pending authenticator with secret for userID, replacing
// a pending one (an enrolment started again). A confirmed one stays and the
// result is ErrAlreadyExists: it must be removed first. It returns the new
// authenticator's ID.
func (s *Store) BeginTOTP(ctx context.Context, userID string, secret []byte) (string, error) {
	if _, err := uuid.Parse(userID); err != nil || len(secret) == 0 {
		return "", fmt.Errorf("storage: begin totp: a user id and a secret are required")
	}
	id := uuid.NewString()
	// One statement, so two concurrent enrolments cannot both insert and
	// neither can overwrite a confirmed authenticator.
	res := s.db(ctx).Exec(`INSERT INTO totp_authenticators (id, user_id, secret, created_at, last_used_step)
		VALUES (?, ?, ?, ?, 0)
		ON CONFLICT (user_id) DO UPDATE SET id = excluded.id, secret = excluded.secret,
			created_at = excluded.created_at, last_used_step = 0, last_used_at = NULL
		WHERE totp_authenticators.confirmed_at IS NULL`,
		id, userID, s.seal.Seal(secret, totpBinding(id)), s.now())
	if err := res.Error; err != nil {
		return "", fmt.Errorf("storage: begin totp: %w", mapError(err))
	}
	if res.RowsAffected == 0 {
		return "", fmt.Errorf("storage: begin totp: the user has a confirmed authenticator: %w", ErrAlreadyExists)
	}
	return id, nil
}

// GetTOTP returns userID's authenticator, pending or confirmed, with its
// secret unsealed (ErrNotFound when there is none).
func (s *Store) GetTOTP(ctx context.Context, userID string) (*TOTPAuthenticator, error) {
	if _, err := uuid.Parse(userID); err != nil {
		return nil, fmt.Errorf("storage: totp of %q: %w", userID, ErrNotFound)
	}
	var r totpRow
	if err := s.db(ctx).Where("user_id = ?", userID).Take(&r).Error; err != nil {
		return nil, fmt.Errorf("storage: totp of %s: %w", userID, mapError(err))
	}
	secret, err := s.seal.Open(r.Secret, totpBinding(r.ID))
	if err != nil {
		return nil, fmt.Errorf("storage: totp of %s: %w", userID, err)
	}
	return &TOTPAuthenticator{ID: r.ID, UserID: r.UserID, Secret: secret, CreatedAt: utc(r.CreatedAt),
		ConfirmedAt: utcPtr(r.ConfirmedAt), LastUsedStep: r.LastUsedStep, LastUsedAt: utcPtr(r.LastUsedAt)}, nil
}

// TOTPConfirmedAt returns when userID's authenticator was confirmed, nil
// when they have none in use, without unsealing its secret.
func (s *Store) TOTPConfirmedAt(ctx context.Context, userID string) (*time.Time, error) {
	if _, err := uuid.Parse(userID); err != nil {
		return nil, nil
	}
	var rows []totpRow
	err := s.db(ctx).Select("confirmed_at").Where("user_id = ? AND confirmed_at IS NOT NULL", userID).Limit(1).Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("storage: totp of %s: %w", userID, mapError(err))
	}
	if len(rows) == 0 {
		return nil, nil
	}
	return utcPtr(rows[0].ConfirmedAt), nil
}

// ConfirmTOTP puts the pending authenticator id of userID in use: its
// first code, of time step step, was right, and that step is now used.
// ErrNotFound when id is no longer userID's pending authenticator (another
// enrolment replaced it, or it was confirmed already).
func (s *Store) ConfirmTOTP(ctx context.Context, userID, id string, step int64) error {
	now := s.now()
	res := s.db(ctx).Model(&totpRow{}).Where("id = ? AND user_id = ? AND confirmed_at IS NULL", id, userID).
		Updates(map[string]any{"confirmed_at": now, "last_used_step": step, "last_used_at": now})
	if err := res.Error; err != nil {
		return fmt.Errorf("storage: confirm totp: %w", mapError(err))
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("storage: confirm totp: no such pending authenticator: %w", ErrNotFound)
	}
	return nil
}

// UseTOTPStep records that a code of time step step was accepted for
// userID's confirmed authenticator. One conditional update decides it, so
// of two requests (or instances) with codes of the same or an earlier
// step only one wins: the other gets ErrConflict (a replayed code).
// ErrNotFound when the user has no confirmed authenticator.
func (s *Store) UseTOTPStep(ctx context.Context, userID string, step int64) error {
	res := s.db(ctx).Model(&totpRow{}).
		Where("user_id = ? AND confirmed_at IS NOT NULL AND last_used_step < ?", userID, step).
		Updates(map[string]any{"last_used_step": step, "last_used_at": s.now()})
	if err := res.Error; err != nil {
		return fmt.Errorf("storage: use totp step: %w", mapError(err))
	}
	if res.RowsAffected == 1 {
		return nil
	}
	if at, err := s.TOTPConfirmedAt(ctx, userID); err != nil {
		return err
	} else if at == nil {
		return fmt.Errorf("storage: totp of %s: %w", userID, ErrNotFound)
	}
	return fmt.Errorf("storage: totp step %d is not after the last one used: %w", step, ErrConflict)
}

// DeleteTOTP removes userID's authenticator, pending or confirmed
// (ErrNotFound when there is none).
func (s *Store) DeleteTOTP(ctx context.Context, userID string) error {
	if _, err := uuid.Parse(userID); err != nil {
		return fmt.Errorf("storage: totp of %q: %w", userID, ErrNotFound)
	}
	res := s.db(ctx).Where("user_id = ?", userID).Delete(&totpRow{})
	if err := res.Error; err != nil {
		return fmt.Errorf("storage: delete totp: %w", mapError(err))
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("storage: totp of %s: %w", userID, ErrNotFound)
	}
	return nil
}
