package storage

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm/clause"
)

// Revoked access tokens by their "jti".
//
// The JWT access tokens of the client_credentials grant are issued without
// a row (oidc/statelessjwt.go), so revoking one (RFC 7009) cannot delete
// it: its "jti" is recorded instead, until the token expires, and
// introspection refuses a token whose jti is recorded. Kept in the database
// rather than in the hot state alone, a revocation outlives a restart of a
// single instance that has no Redis, as Keycloak keeps its own.

// revokedAccessToken is one revoked stateless access token.
type revokedAccessToken struct {
	JTI       string `gorm:"column:jti;primaryKey"`
	ClientID  string
	ExpiresAt time.Time
	RevokedAt time.Time
}

func (revokedAccessToken) TableName() string { return "revoked_access_tokens" }

// RevokeTokenID records that the access token with jti, of clientID and
// expiring at expiresAt, is revoked. Revoking it again is not an error
// (RFC 7009 §2.2).
func (s *Store) RevokeTokenID(ctx context.Context, jti, clientID string, expiresAt time.Time) error {
	if jti == "" || clientID == "" {
		return errors.New("storage: revoke token: a jti and a client are required")
	}
	r := revokedAccessToken{JTI: jti, ClientID: clientID, ExpiresAt: utc(expiresAt), RevokedAt: s.now()}
	if err := s.db(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&r).Error; err != nil {
		return fmt.Errorf("storage: revoke token: %w", mapError(err))
	}
	return nil
}

// TokenIDRevoked reports whether the access token with jti was revoked.
func (s *Store) TokenIDRevoked(ctx context.Context, jti string) (bool, error) {
	var n int64
	if err := s.reader(ctx).Model(&revokedAccessToken{}).Where("jti = ?", jti).Limit(1).Count(&n).Error; err != nil {
		return false, fmt.Errorf("storage: revoked token: %w", mapError(err))
	}
	return n > 0, nil
}
