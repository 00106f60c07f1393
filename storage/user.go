package storage

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// User is a person who can sign in. Email is unique, case-insensitively.
type User struct {
	ID            string `gorm:"primaryKey"`
	Email         string
	EmailKey      string
	EmailVerified bool
	// Claims holds the standard OIDC claims (OIDC Core §5.1) other than sub,
	// email and email_verified, as JSON values.
	Claims     map[string]any `gorm:"serializer:json"`
	DisabledAt *time.Time
	// Revision increases on every update (optimistic concurrency).
	Revision  int64
	CreatedAt time.Time
	UpdatedAt time.Time
}

// TableName maps User to its table.
func (User) TableName() string { return "users" }

// Disabled reports whether the user may not sign in.
func (u *User) Disabled() bool { return u.DisabledAt != nil }

// EmailKey is the lookup form of an address: trimmed and lower-cased.
func EmailKey(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// passwordCredential is a user's password hash (a PHC string).
type passwordCredential struct {
	UserID    string `gorm:"primaryKey"`
	Hash      string
	CreatedAt time.Time
	UpdatedAt time.Time
}

func (passwordCredential) TableName() string { return "password_credentials" }

// CreateUser inserts u, and its password hash when passwordHash is not empty,
// atomically. An empty ID gets a new time-ordered UUID (v7). A taken email is
// ErrAlreadyExists.
func (s *Store) CreateUser(ctx context.Context, u *User, passwordHash string) error {
	if u.ID == "" {
		id, err := uuid.NewV7()
		if err != nil {
			return fmt.Errorf("storage: user id: %w", err)
		}
		u.ID = id.String()
	} else if _, err := uuid.Parse(u.ID); err != nil {
		return fmt.Errorf("storage: user id %q is not a UUID", u.ID)
	}
	now := s.now()
	u.EmailKey = EmailKey(u.Email)
	u.Revision = 1
	u.CreatedAt, u.UpdatedAt = now, now
	u.DisabledAt = utcPtr(u.DisabledAt)
	if u.Claims == nil {
		u.Claims = map[string]any{}
	}
	return s.InTx(ctx, func(ctx context.Context) error {
		if err := s.db(ctx).Create(u).Error; err != nil {
			return fmt.Errorf("storage: create user: %w", mapError(err))
		}
		if passwordHash == "" {
			return nil
		}
		pc := passwordCredential{UserID: u.ID, Hash: passwordHash, CreatedAt: now, UpdatedAt: now}
		if err := s.db(ctx).Create(&pc).Error; err != nil {
			return fmt.Errorf("storage: create password: %w", mapError(err))
		}
		return nil
	})
}

// GetUser returns the user with the given ID (ErrNotFound if none).
func (s *Store) GetUser(ctx context.Context, id string) (*User, error) {
	if _, err := uuid.Parse(id); err != nil {
		return nil, fmt.Errorf("storage: user %q: %w", id, ErrNotFound)
	}
	var u User
	if err := s.reader(ctx).Where("id = ?", id).Take(&u).Error; err != nil {
		return nil, fmt.Errorf("storage: user %s: %w", id, mapError(err))
	}
	normalizeUser(&u)
	return &u, nil
}

// GetUserByEmail finds a user by email, case-insensitively.
func (s *Store) GetUserByEmail(ctx context.Context, email string) (*User, error) {
	var u User
	if err := s.reader(ctx).Where("email_key = ?", EmailKey(email)).Take(&u).Error; err != nil {
		return nil, fmt.Errorf("storage: user by email: %w", mapError(err))
	}
	normalizeUser(&u)
	return &u, nil
}

// ListUsers returns users in ID order (creation order for generated IDs)
// and the Page.After of the next page ("" after the last).
func (s *Store) ListUsers(ctx context.Context, p Page) ([]User, string, error) {
	var users []User
	q := s.db(ctx).Order("id").Limit(p.limit())
	if p.After != "" {
		q = q.Where("id > ?", p.After)
	}
	if err := q.Find(&users).Error; err != nil {
		return nil, "", fmt.Errorf("storage: list users: %w", mapError(err))
	}
	for i := range users {
		normalizeUser(&users[i])
	}
	return users, nextAfter(users, p.limit(), func(u User) string { return u.ID }), nil
}

// UpdateUser writes u's email, verification flag, claims and disabled state
// if u.Revision still matches the stored revision; then u.Revision is the new
// one. A stale revision is ErrConflict; a missing user ErrNotFound.
func (s *Store) UpdateUser(ctx context.Context, u *User) error {
	if _, err := uuid.Parse(u.ID); err != nil {
		return fmt.Errorf("storage: user %q: %w", u.ID, ErrNotFound)
	}
	claims, err := jsonText(u.Claims)
	if err != nil {
		return err
	}
	now := s.now()
	res := s.db(ctx).Model(&User{}).
		Where("id = ? AND revision = ?", u.ID, u.Revision).
		Updates(map[string]any{
			"email":          u.Email,
			"email_key":      EmailKey(u.Email),
			"email_verified": u.EmailVerified,
			"claims":         claims,
			"disabled_at":    utcPtr(u.DisabledAt),
			"revision":       gorm.Expr("revision + 1"),
			"updated_at":     now,
		})
	if err := res.Error; err != nil {
		return fmt.Errorf("storage: update user %s: %w", u.ID, mapError(err))
	}
	if res.RowsAffected == 0 {
		return s.missingOrConflict(ctx, &User{}, u.ID, "user")
	}
	u.Revision++
	u.EmailKey = EmailKey(u.Email)
	u.UpdatedAt = now
	return nil
}

// SetUserDisabled disables (at the store's current time) or re-enables a user.
func (s *Store) SetUserDisabled(ctx context.Context, id string, disabled bool) error {
	if _, err := uuid.Parse(id); err != nil {
		return fmt.Errorf("storage: user %q: %w", id, ErrNotFound)
	}
	now := s.now()
	var at *time.Time
	if disabled {
		at = &now
	}
	res := s.db(ctx).Model(&User{}).Where("id = ?", id).Updates(map[string]any{
		"disabled_at": at,
		"revision":    gorm.Expr("revision + 1"),
		"updated_at":  now,
	})
	if err := res.Error; err != nil {
		return fmt.Errorf("storage: disable user %s: %w", id, mapError(err))
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("storage: user %s: %w", id, ErrNotFound)
	}
	return nil
}

// DeleteUser removes a user and, by cascade, its credentials and sessions.
func (s *Store) DeleteUser(ctx context.Context, id string) error {
	if _, err := uuid.Parse(id); err != nil {
		return fmt.Errorf("storage: user %q: %w", id, ErrNotFound)
	}
	res := s.db(ctx).Where("id = ?", id).Delete(&User{})
	if err := res.Error; err != nil {
		return fmt.Errorf("storage: delete user %s: %w", id, mapError(err))
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("storage: user %s: %w", id, ErrNotFound)
	}
	return nil
}

// GetUserByEmailWithPassword is GetUserByEmail and GetPasswordHash in one
// statement (a LEFT JOIN), what a password sign-in reads: the user with
// email and its password hash, "" when it has none. No such user is
// ErrNotFound.
func (s *Store) GetUserByEmailWithPassword(ctx context.Context, email string) (*User, string, error) {
	var row struct {
		User         `gorm:"embedded"`
		PasswordHash *string
	}
	err := s.reader(ctx).Table("users").Select("users.*, password_credentials.hash AS password_hash").
		Joins("LEFT JOIN password_credentials ON password_credentials.user_id = users.id").
		Where("users.email_key = ?", EmailKey(email)).Take(&row).Error
	if err != nil {
		return nil, "", fmt.Errorf("storage: user by email: %w", mapError(err))
	}
	u := row.User
	normalizeUser(&u)
	if row.PasswordHash == nil {
		return &u, "", nil
	}
	return &u, *row.PasswordHash, nil
}

// GetPasswordHash returns the user's password hash (ErrNotFound if the user
// has no password).
func (s *Store) GetPasswordHash(ctx context.Context, userID string) (string, error) {
	if _, err := uuid.Parse(userID); err != nil {
		return "", fmt.Errorf("storage: password of %q: %w", userID, ErrNotFound)
	}
	var pc passwordCredential
	if err := s.reader(ctx).Where("user_id = ?", userID).Take(&pc).Error; err != nil {
		return "", fmt.Errorf("storage: password of %s: %w", userID, mapError(err))
	}
	return pc.Hash, nil
}

// SetPasswordHash creates or replaces the user's password hash.
func (s *Store) SetPasswordHash(ctx context.Context, userID, hash string) error {
	if _, err := uuid.Parse(userID); err != nil {
		return fmt.Errorf("storage: user %q: %w", userID, ErrNotFound)
	}
	now := s.now()
	return s.InTx(ctx, func(ctx context.Context) error {
		res := s.db(ctx).Model(&passwordCredential{}).Where("user_id = ?", userID).
			Updates(map[string]any{"hash": hash, "updated_at": now})
		if err := res.Error; err != nil {
			return fmt.Errorf("storage: set password of %s: %w", userID, mapError(err))
		}
		if res.RowsAffected > 0 {
			return nil
		}
		if _, err := s.GetUser(ctx, userID); err != nil {
			return err
		}
		pc := passwordCredential{UserID: userID, Hash: hash, CreatedAt: now, UpdatedAt: now}
		if err := s.db(ctx).Create(&pc).Error; err != nil {
			return fmt.Errorf("storage: set password of %s: %w", userID, mapError(err))
		}
		return nil
	})
}

func normalizeUser(u *User) {
	u.CreatedAt, u.UpdatedAt = utc(u.CreatedAt), utc(u.UpdatedAt)
	u.DisabledAt = utcPtr(u.DisabledAt)
	if u.Claims == nil {
		u.Claims = map[string]any{}
	}
}

// missingOrConflict explains a conditional update that touched no row.
func (s *Store) missingOrConflict(ctx context.Context, model any, id, what string) error {
	var n int64
	if err := s.db(ctx).Model(model).Where("id = ?", id).Count(&n).Error; err != nil {
		return fmt.Errorf("storage: %s %s: %w", what, id, mapError(err))
	}
	if n == 0 {
		return fmt.Errorf("storage: %s %s: %w", what, id, ErrNotFound)
	}
	return fmt.Errorf("storage: %s %s was changed concurrently: %w", what, id, ErrConflict)
}

// LockUser holds the row lock of user id until the transaction in ctx
// ends, so that changes to one user's sign-in methods made at the same
// moment (removing the authenticator app and the last passkey) happen one
// after the other, and a check made after the lock sees what the other
// did. SQLite has one writer at a time already; PostgreSQL locks the row.
func (s *Store) LockUser(ctx context.Context, id string) error {
	if !validUUIDs(id) {
		return fmt.Errorf("storage: lock user %q: %w", id, ErrNotFound)
	}
	res := s.db(ctx).Exec("UPDATE users SET id = id WHERE id = ?", id)
	if res.Error != nil {
		return fmt.Errorf("storage: lock user %s: %w", id, mapError(res.Error))
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("storage: lock user %s: %w", id, ErrNotFound)
	}
	return nil
}
