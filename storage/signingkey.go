package storage

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// SigningKey is one of the server's JWS signing keys. PrivateKey is the
// PKCS#8 DER of the private key in memory; in the database it is sealed
// (AES-256-GCM under the key-encryption secret), never in clear.
type SigningKey struct {
	ID         string // the JWK "kid"
	Algorithm  string // RS256, ES256, EdDSA, ...
	Use        string // "sig"
	PublicJWK  json.RawMessage
	PrivateKey []byte
	CreatedAt  time.Time
	// RetiredAt: the key no longer signs but stays published for verifiers.
	RetiredAt *time.Time
	// ExpiresAt: the key leaves the JWKS and is deleted by garbage collection.
	ExpiresAt *time.Time
}

// signingKeyRow is SigningKey as stored.
type signingKeyRow struct {
	ID         string `gorm:"primaryKey"`
	Algorithm  string
	Use        string
	PublicJWK  json.RawMessage `gorm:"column:public_jwk;serializer:json"`
	PrivateKey []byte          // sealed
	CreatedAt  time.Time
	RetiredAt  *time.Time
	ExpiresAt  *time.Time
}

func (signingKeyRow) TableName() string { return "signing_keys" }

func sealBinding(kid string) string { return "signing_keys.private_key:" + kid }

// CreateSigningKey stores k, sealing its private key.
func (s *Store) CreateSigningKey(ctx context.Context, k *SigningKey) error {
	if k.ID == "" || len(k.PrivateKey) == 0 || len(k.PublicJWK) == 0 {
		return fmt.Errorf("storage: create signing key: id, public JWK and private key are required")
	}
	if k.Use == "" {
		k.Use = "sig"
	}
	if k.CreatedAt.IsZero() {
		k.CreatedAt = s.now()
	}
	row := signingKeyRow{
		ID: k.ID, Algorithm: k.Algorithm, Use: k.Use, PublicJWK: k.PublicJWK,
		PrivateKey: s.seal.Seal(k.PrivateKey, sealBinding(k.ID)),
		CreatedAt:  utc(k.CreatedAt), RetiredAt: utcPtr(k.RetiredAt), ExpiresAt: utcPtr(k.ExpiresAt),
	}
	if err := s.db(ctx).Create(&row).Error; err != nil {
		return fmt.Errorf("storage: create signing key %s: %w", k.ID, mapError(err))
	}
	return nil
}

// ListSigningKeys returns every key that has not expired, newest first, with
// private keys unsealed. A key sealed under another secret is ErrUnsealable.
func (s *Store) ListSigningKeys(ctx context.Context) ([]SigningKey, error) {
	var rows []signingKeyRow
	err := s.db(ctx).Where("expires_at IS NULL OR expires_at > ?", s.now()).
		Order("created_at DESC, id").Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("storage: list signing keys: %w", mapError(err))
	}
	out := make([]SigningKey, 0, len(rows))
	for _, r := range rows {
		pk, err := s.seal.Open(r.PrivateKey, sealBinding(r.ID))
		if err != nil {
			return nil, fmt.Errorf("storage: signing key %s: %w", r.ID, err)
		}
		out = append(out, SigningKey{
			ID: r.ID, Algorithm: r.Algorithm, Use: r.Use, PublicJWK: r.PublicJWK, PrivateKey: pk,
			CreatedAt: utc(r.CreatedAt), RetiredAt: utcPtr(r.RetiredAt), ExpiresAt: utcPtr(r.ExpiresAt),
		})
	}
	return out, nil
}

// RetireSigningKey stops a key signing (retiredAt) and schedules its removal
// from the JWKS (expiresAt, after everything it signed has expired).
func (s *Store) RetireSigningKey(ctx context.Context, kid string, retiredAt, expiresAt time.Time) error {
	res := s.db(ctx).Model(&signingKeyRow{}).Where("id = ?", kid).
		Updates(map[string]any{"retired_at": utc(retiredAt), "expires_at": utc(expiresAt)})
	if err := res.Error; err != nil {
		return fmt.Errorf("storage: retire signing key %s: %w", kid, mapError(err))
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("storage: signing key %q: %w", kid, ErrNotFound)
	}
	return nil
}
