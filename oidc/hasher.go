package oidc

import (
	"context"
	"errors"

	"github.com/ory/fosite"
)

// secretHasher is fosite's client-secret Hasher over SHA-256 digests.
// Client secrets are server-generated with 256 bits of entropy, so a slow
// hash buys nothing; bcrypt (fosite's default) would cost ≈ 200 ms a check.
type secretHasher struct{}

var _ fosite.Hasher = secretHasher{}

var errSecretMismatch = errors.New("oidc: client secret does not match")

// Compare checks data (the presented secret) against hash (the stored
// digest) in constant time.
func (secretHasher) Compare(_ context.Context, hash, data []byte) error {
	if !SecretMatches(string(data), hash) {
		return errSecretMismatch
	}
	return nil
}

// Hash returns the SHA-256 digest of data.
func (secretHasher) Hash(_ context.Context, data []byte) ([]byte, error) {
	return HashSecret(string(data)), nil
}
