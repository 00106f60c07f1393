package storage

import (
	"context"
	"fmt"

	"github.com/google/uuid"
)

// RevokeUserOAuth2Tokens ends every grant of userID at once, as a password
// reset must: unredeemed authorization codes and refresh tokens become
// inactive (a later use is refused, and fosite treats it as reuse), access
// tokens are deleted. It returns how many rows it changed. Self-contained
// JWT access tokens (RFC 9068) live until they expire: nothing stored
// backs them.
func (s *Store) RevokeUserOAuth2Tokens(ctx context.Context, userID string) (int64, error) {
	if _, err := uuid.Parse(userID); err != nil {
		return 0, nil
	}
	var n int64
	err := s.InTx(ctx, func(ctx context.Context) error {
		db, err := s.oauth2DB(ctx)
		if err != nil {
			return err
		}
		if m := codeMemoOf(ctx); m != nil {
			m.reset() // codes of the user turn inactive
		}
		s.handoff.clear() // rare: a password reset
		res := db.Model(&oauth2Session{}).
			Where("subject = ? AND kind IN ? AND active = ?", userID, []string{string(kindCode), string(kindRefresh)}, true).
			Update("active", false)
		if res.Error != nil {
			return res.Error
		}
		n = res.RowsAffected
		res = db.Where("subject = ? AND kind = ?", userID, string(kindAccess)).Delete(&oauth2Session{})
		s.forgetAccess(ctx, "*") // rare: a password reset
		n += res.RowsAffected
		return res.Error
	})
	if err != nil {
		return 0, fmt.Errorf("storage: revoke tokens of %s: %w", userID, mapError(err))
	}
	return n, nil
}
