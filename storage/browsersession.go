package storage

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// BrowserSession is a signed-in browser (the SSO session). ID is the hex
// SHA-256 of the cookie's random token, so a database reader cannot ride a
// session; SID is the public identifier put in ID tokens ("sid").
type BrowserSession struct {
	ID            string `gorm:"primaryKey"`
	SID           string `gorm:"column:sid"`
	UserID        string
	AuthTime      time.Time
	AMR           []string `gorm:"column:amr;serializer:json"`
	ACR           string   `gorm:"column:acr"`
	Remember      bool
	IP            string `gorm:"column:ip"`
	UserAgent     string
	CreatedAt     time.Time
	LastSeenAt    time.Time
	IdleExpiresAt time.Time
	ExpiresAt     time.Time
	RevokedAt     *time.Time
}

// TableName maps BrowserSession to its table.
func (BrowserSession) TableName() string { return "browser_sessions" }

// CreateBrowserSession inserts bs. CreatedAt and LastSeenAt default to now.
func (s *Store) CreateBrowserSession(ctx context.Context, bs *BrowserSession) error {
	if bs.ID == "" || bs.SID == "" {
		return fmt.Errorf("storage: create browser session: id and sid are required")
	}
	now := s.now()
	if bs.CreatedAt.IsZero() {
		bs.CreatedAt = now
	}
	if bs.LastSeenAt.IsZero() {
		bs.LastSeenAt = now
	}
	if bs.AMR == nil {
		bs.AMR = []string{}
	}
	bs.CreatedAt, bs.LastSeenAt, bs.AuthTime = utc(bs.CreatedAt), utc(bs.LastSeenAt), utc(bs.AuthTime)
	bs.IdleExpiresAt, bs.ExpiresAt, bs.RevokedAt = utc(bs.IdleExpiresAt), utc(bs.ExpiresAt), utcPtr(bs.RevokedAt)
	if err := s.db(ctx).Create(bs).Error; err != nil {
		return fmt.Errorf("storage: create browser session: %w", mapError(err))
	}
	return nil
}

// GetBrowserSession returns a live session: not revoked and within both its
// idle and absolute lifetimes. Anything else is ErrNotFound.
func (s *Store) GetBrowserSession(ctx context.Context, id string) (*BrowserSession, error) {
	var bs BrowserSession
	now := s.now()
	err := s.reader(ctx).
		Where("id = ? AND revoked_at IS NULL AND expires_at > ? AND idle_expires_at > ?", id, now, now).
		Take(&bs).Error
	if err != nil {
		return nil, fmt.Errorf("storage: browser session: %w", mapError(err))
	}
	normalizeBrowserSession(&bs)
	return &bs, nil
}

// TouchBrowserSession records activity: last seen now, idle expiry moved to
// idleExpiresAt (never past the absolute expiry).
func (s *Store) TouchBrowserSession(ctx context.Context, id string, idleExpiresAt time.Time) error {
	now := s.now()
	res := s.db(ctx).Model(&BrowserSession{}).
		Where("id = ? AND revoked_at IS NULL AND expires_at > ?", id, now).
		Updates(map[string]any{"last_seen_at": now, "idle_expires_at": utc(idleExpiresAt)})
	if err := res.Error; err != nil {
		return fmt.Errorf("storage: touch browser session: %w", mapError(err))
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("storage: browser session: %w", ErrNotFound)
	}
	return nil
}

// RevokeBrowserSession ends one session.
func (s *Store) RevokeBrowserSession(ctx context.Context, id string) error {
	res := s.db(ctx).Model(&BrowserSession{}).Where("id = ? AND revoked_at IS NULL", id).
		Update("revoked_at", s.now())
	if err := res.Error; err != nil {
		return fmt.Errorf("storage: revoke browser session: %w", mapError(err))
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("storage: browser session: %w", ErrNotFound)
	}
	return nil
}

// RevokeUserBrowserSessions ends every live session of a user except the one
// with ID except ("" for none) and returns how many it ended.
func (s *Store) RevokeUserBrowserSessions(ctx context.Context, userID, except string) (int64, error) {
	if _, err := uuid.Parse(userID); err != nil {
		return 0, nil
	}
	res := s.db(ctx).Model(&BrowserSession{}).
		Where("user_id = ? AND id <> ? AND revoked_at IS NULL", userID, except).
		Update("revoked_at", s.now())
	if err := res.Error; err != nil {
		return 0, fmt.Errorf("storage: revoke sessions of %s: %w", userID, mapError(err))
	}
	return res.RowsAffected, nil
}

// ListUserBrowserSessions returns a user's live sessions, most recent first.
func (s *Store) ListUserBrowserSessions(ctx context.Context, userID string) ([]BrowserSession, error) {
	if _, err := uuid.Parse(userID); err != nil {
		return nil, nil
	}
	var out []BrowserSession
	now := s.now()
	err := s.db(ctx).
		Where("user_id = ? AND revoked_at IS NULL AND expires_at > ? AND idle_expires_at > ?", userID, now, now).
		Order("last_seen_at DESC").Limit(maxPageLimit).Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("storage: sessions of %s: %w", userID, mapError(err))
	}
	for i := range out {
		normalizeBrowserSession(&out[i])
	}
	return out, nil
}

func normalizeBrowserSession(bs *BrowserSession) {
	bs.AuthTime, bs.CreatedAt, bs.LastSeenAt = utc(bs.AuthTime), utc(bs.CreatedAt), utc(bs.LastSeenAt)
	bs.IdleExpiresAt, bs.ExpiresAt, bs.RevokedAt = utc(bs.IdleExpiresAt), utc(bs.ExpiresAt), utcPtr(bs.RevokedAt)
	if bs.AMR == nil {
		bs.AMR = []string{}
	}
}

// RevokeBrowserSessionBySID ends the live session with the public id sid (an
// ID token's "sid"), as a logout request names it, and returns its user's
// ID ("" when no live session has that sid).
func (s *Store) RevokeBrowserSessionBySID(ctx context.Context, sid string) (string, error) {
	var userID string
	err := s.InTx(ctx, func(ctx context.Context) error {
		var bs BrowserSession
		err := s.db(ctx).Select("id", "user_id").Where("sid = ? AND revoked_at IS NULL", sid).Take(&bs).Error
		if err != nil {
			return mapError(err)
		}
		if err := s.db(ctx).Model(&BrowserSession{}).Where("id = ?", bs.ID).Update("revoked_at", s.now()).Error; err != nil {
			return mapError(err)
		}
		userID = bs.UserID
		return nil
	})
	if errors.Is(err, ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("storage: revoke browser session: %w", err)
	}
	return userID, nil
}
