package storage

import (
	"context"
	"fmt"

	"github.com/ory/fosite"
	"gorm.io/gorm"
)

// This file holds the rows bound to an authorization code: the code itself
// (fosite's oauth2.AuthorizeCodeStorage), its OpenID Connect request
// (openid.OpenIDConnectRequestStorage) and its PKCE challenge
// (pkce.PKCERequestStorage).

// CreateAuthorizeCodeSession stores the authorization request behind a code
// (RFC 6749 §4.1.2) under the code's signature.
func (s *Store) CreateAuthorizeCodeSession(ctx context.Context, signature string, req fosite.Requester) error {
	return s.createOAuth2Session(ctx, kindCode, signature, "", req)
}

// GetAuthorizeCodeSession returns the request behind a code, session filled
// from storage. A code already used comes back with its request and an error
// wrapping fosite.ErrInvalidatedAuthorizeCode: fosite then refuses it and
// revokes every token issued from it (RFC 6749 §4.1.2). An unknown code is
// fosite.ErrNotFound. Expiry is fosite's to check, from the session.
func (s *Store) GetAuthorizeCodeSession(ctx context.Context, signature string, session fosite.Session) (fosite.Requester, error) {
	return s.getOAuth2Session(ctx, kindCode, signature, session)
}

// InvalidateAuthorizeCodeSession marks a code used. It succeeds once: when
// the code was already used it returns fosite.ErrInvalidatedAuthorizeCode
// (and ErrConflict), so two redemptions racing each other cannot both issue
// tokens, since fosite calls it in the transaction that stores them (a code
// "MUST NOT be used more than once", RFC 6749 §4.1.2). An unknown code is
// fosite.ErrNotFound.
func (s *Store) InvalidateAuthorizeCodeSession(ctx context.Context, signature string) error {
	key := rowKey(signature)
	forgetOAuth2Row(ctx, kindCode, key)
	if s.deferInvalidation(ctx, key) {
		return nil
	}
	db, err := s.oauth2DB(ctx)
	if err != nil {
		return err
	}
	return s.invalidateCode(db, key)
}

// invalidateCode marks the code with row key key used, through db.
func (s *Store) invalidateCode(db *gorm.DB, key string) error {
	res := db.Model(&oauth2Session{}).
		Where("kind = ? AND signature = ? AND active = ?", string(kindCode), key, true).
		Update("active", false)
	if res.Error != nil {
		return oauth2Error("invalidate authorization code", res.Error)
	}
	if res.RowsAffected == 1 {
		return nil
	}
	return s.codeNotRedeemable(db, key)
}

// codeNotRedeemable is the error for a code that could not be marked used:
// fosite.ErrNotFound when there is no such code, else
// fosite.ErrInvalidatedAuthorizeCode and ErrConflict.
func (s *Store) codeNotRedeemable(db *gorm.DB, key string) error {
	var n int64
	if err := db.Model(&oauth2Session{}).Where("kind = ? AND signature = ?", string(kindCode), key).Count(&n).Error; err != nil {
		return oauth2Error("invalidate authorization code", err)
	}
	if n == 0 {
		return unchanged{oauth2Error(kindCode.noun(), ErrNotFound)}
	}
	return unchanged{fmt.Errorf("storage: authorization code: %w: %w", fosite.ErrInvalidatedAuthorizeCode, ErrConflict)}
}

// CreateOpenIDConnectSession stores the OpenID Connect request of a code
// (OIDC Core §3.1.3.3: the token endpoint issues the ID token from it).
// fosite passes the whole code, not its signature; like every key it is
// stored as its SHA-256 (see rowKey).
func (s *Store) CreateOpenIDConnectSession(ctx context.Context, authorizeCode string, req fosite.Requester) error {
	return s.createOAuth2Session(ctx, kindOIDC, authorizeCode, "", req)
}

// GetOpenIDConnectSession returns the OpenID Connect request of a code,
// filling req's session (fosite passes the token request; nil is allowed).
// None is fosite.ErrNotFound, which is openid.ErrNoSessionFound.
func (s *Store) GetOpenIDConnectSession(ctx context.Context, authorizeCode string, req fosite.Requester) (fosite.Requester, error) {
	var session fosite.Session
	if req != nil {
		session = req.GetSession()
	}
	return s.getOAuth2Session(ctx, kindOIDC, authorizeCode, session)
}

// DeleteOpenIDConnectSession removes the OpenID Connect request of a code
// (fosite does so when it issues the ID token). None is fosite.ErrNotFound.
func (s *Store) DeleteOpenIDConnectSession(ctx context.Context, authorizeCode string) error {
	return s.deleteOAuth2Session(ctx, kindOIDC, authorizeCode)
}

// CreatePKCERequestSession stores the PKCE challenge of a code (RFC 7636
// §4.4) under the code's signature: the form keeps code_challenge and
// code_challenge_method, never a verifier.
func (s *Store) CreatePKCERequestSession(ctx context.Context, signature string, req fosite.Requester) error {
	return s.createOAuth2Session(ctx, kindPKCE, signature, "", req)
}

// GetPKCERequestSession returns the PKCE request of a code; none is
// fosite.ErrNotFound (fosite then requires that no verifier was sent and
// that the client may skip PKCE).
func (s *Store) GetPKCERequestSession(ctx context.Context, signature string, session fosite.Session) (fosite.Requester, error) {
	return s.getOAuth2Session(ctx, kindPKCE, signature, session)
}

// DeletePKCERequestSession removes the PKCE request of a code (fosite does
// so on redemption, RFC 7636 §4.6). None is fosite.ErrNotFound.
func (s *Store) DeletePKCERequestSession(ctx context.Context, signature string) error {
	return s.deleteOAuth2Session(ctx, kindPKCE, signature)
}
