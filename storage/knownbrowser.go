package storage

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm/clause"
)

// KnownBrowserRetention is how long a browser a user signed in from stays
// known without another sign-in: the lifetime of the identity cookie
// (browsers honour at most 400 days), after which it is a new browser anyway.
const KnownBrowserRetention = 400 * 24 * time.Hour

// knownBrowser is a browser (the SHA-256 of its identity cookie) a user
// signed in from.
type knownBrowser struct {
	UserID      string `gorm:"primaryKey"`
	Browser     string `gorm:"primaryKey"`
	FirstSeenAt time.Time
	LastSeenAt  time.Time
}

func (knownBrowser) TableName() string { return "known_browsers" }

// RecordBrowserSignIn notes that userID signed in from browser. isNew
// reports that the user never had before (within KnownBrowserRetention);
// hadOthers that the user had signed in from some other browser, so a new
// one is worth telling them about (the very first sign-in is not).
func (s *Store) RecordBrowserSignIn(ctx context.Context, userID, browser string) (isNew, hadOthers bool, err error) {
	if _, err := uuid.Parse(userID); err != nil || browser == "" {
		return false, false, fmt.Errorf("storage: browser sign-in: a user and a browser are required")
	}
	now := s.now()
	res := s.db(ctx).Model(&knownBrowser{}).Where("user_id = ? AND browser = ?", userID, browser).
		Update("last_seen_at", now)
	if err := res.Error; err != nil {
		return false, false, fmt.Errorf("storage: browser sign-in: %w", mapError(err))
	}
	if res.RowsAffected > 0 {
		return false, true, nil
	}
	var others int64
	if err := s.db(ctx).Model(&knownBrowser{}).Where("user_id = ?", userID).Limit(1).Count(&others).Error; err != nil {
		return false, false, fmt.Errorf("storage: browser sign-in: %w", mapError(err))
	}
	res = s.db(ctx).Clauses(clause.OnConflict{DoNothing: true}).
		Create(&knownBrowser{UserID: userID, Browser: browser, FirstSeenAt: now, LastSeenAt: now})
	if err := res.Error; err != nil {
		return false, false, fmt.Errorf("storage: browser sign-in: %w", mapError(err))
	}
	if res.RowsAffected == 0 { // a concurrent sign-in from it got there first
		return false, true, nil
	}
	return true, others > 0, nil
}
