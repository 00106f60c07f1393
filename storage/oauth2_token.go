package storage

import (
	"context"
	"fmt"

	"github.com/ory/fosite"
)

// This file holds access and refresh tokens (fosite's
// oauth2.AccessTokenStorage and oauth2.RefreshTokenStorage) and their
// revocation (oauth2.TokenRevocationStorage). Every token of one
// authorization shares fosite's request ID, across refreshes: it names the
// grant "family" that reuse detection and revocation act on.

// CreateAccessTokenSession stores the request behind an access token.
func (s *Store) CreateAccessTokenSession(ctx context.Context, signature string, req fosite.Requester) error {
	return s.createOAuth2Session(ctx, kindAccess, signature, "", req)
}

// GetAccessTokenSession returns the request behind an access token, session
// filled from storage; an unknown (revoked, rotated away, collected) token
// is fosite.ErrNotFound. An expired one still loads: fosite checks expiry
// from the session and reports it as such.
func (s *Store) GetAccessTokenSession(ctx context.Context, signature string, session fosite.Session) (fosite.Requester, error) {
	return s.getOAuth2Session(ctx, kindAccess, signature, session)
}

// DeleteAccessTokenSession removes one access token; none is
// fosite.ErrNotFound.
func (s *Store) DeleteAccessTokenSession(ctx context.Context, signature string) error {
	return s.deleteOAuth2Session(ctx, kindAccess, signature)
}

// CreateRefreshTokenSession stores the request behind a refresh token and
// the signature of the access token issued with it, which rotation deletes.
func (s *Store) CreateRefreshTokenSession(ctx context.Context, signature, accessSignature string, req fosite.Requester) error {
	return s.createOAuth2Session(ctx, kindRefresh, signature, accessSignature, req)
}

// GetRefreshTokenSession returns the request behind a refresh token. A token
// already rotated or revoked comes back with its request and an error
// wrapping fosite.ErrInactiveToken: fosite takes that as reuse of a refresh
// token and revokes the whole family by request ID (RFC 9700 §4.14.2). An
// unknown token is fosite.ErrNotFound; expiry is fosite's to check.
func (s *Store) GetRefreshTokenSession(ctx context.Context, signature string, session fosite.Session) (fosite.Requester, error) {
	return s.getOAuth2Session(ctx, kindRefresh, signature, session)
}

// DeleteRefreshTokenSession removes one refresh token (fosite does so with a
// reused one); none is fosite.ErrNotFound.
func (s *Store) DeleteRefreshTokenSession(ctx context.Context, signature string) error {
	return s.deleteOAuth2Session(ctx, kindRefresh, signature)
}

// RotateRefreshToken uses up a refresh token at a refresh (RFC 9700 §4.14.2,
// RFC 6749 §6): it marks the token inactive, with rotated_at, and deletes
// the access token issued with it (every access token of the request if
// none was recorded), as Ory Hydra's persister does: one statement on
// PostgreSQL, two on SQLite (which has no data-modifying WITH; its writers
// take turns and its statements cost no round trip). The token stays in
// the table, inactive, so that a later use of it is recognised as reuse.
// fosite then stores the new pair under the same request ID.
//
// Only an active token of that request rotates. When another refresh used
// it first, the answer is fosite.ErrSerializationFailure (and ErrConflict),
// which fosite turns into a "retry" error without issuing anything; an
// unknown token is fosite.ErrNotFound.
func (s *Store) RotateRefreshToken(ctx context.Context, requestID, signature string) error {
	key := rowKey(signature)
	if s.deferRotation(ctx, key, requestID) {
		return nil // at the commit (oauth2_rotate.go)
	}
	return s.InTx(ctx, func(ctx context.Context) error {
		db, err := s.oauth2DB(ctx)
		if err != nil {
			return err
		}
		return s.rotateRefresh(ctx, db, key, requestID)
	})
}

// RevokeRefreshToken deactivates every refresh token of a request (RFC 7009
// §2.1; fosite also calls it for a reused code or refresh token). The rows
// stay, inactive, for reuse detection until collected. A request with no
// active refresh token is not an error: revocation is idempotent (RFC 7009
// §2.2).
func (s *Store) RevokeRefreshToken(ctx context.Context, requestID string) error {
	db, err := s.oauth2DB(ctx)
	if err != nil {
		return err
	}
	err = db.Model(&oauth2Session{}).
		Where("kind = ? AND request_id = ? AND active = ?", string(kindRefresh), requestID, true).
		Update("active", false).Error
	if err != nil {
		return oauth2Error(fmt.Sprintf("revoke refresh tokens of request %q", requestID), err)
	}
	return nil
}

// RevokeAccessToken deletes every access token of a request (RFC 7009 §2.1).
// A request with none is not an error.
func (s *Store) RevokeAccessToken(ctx context.Context, requestID string) error {
	db, err := s.oauth2DB(ctx)
	if err != nil {
		return err
	}
	err = db.Where("kind = ? AND request_id = ?", string(kindAccess), requestID).Delete(&oauth2Session{}).Error
	s.forgetAccess(ctx, "r "+requestID)
	if err != nil {
		return oauth2Error(fmt.Sprintf("revoke access tokens of request %q", requestID), err)
	}
	return nil
}
