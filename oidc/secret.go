package oidc

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
)

// secretBytes is the entropy of every server-generated secret: 256 bits.
const secretBytes = 32

// NewSecret returns a fresh random secret (256 bits, base64url without
// padding: 43 characters) and the SHA-256 digest to store. Server-generated
// secrets need no slow hash: nobody can guess 256 random bits, and a digest
// keeps a leaked database from revealing them.
func NewSecret() (secret string, digest []byte) {
	b := make([]byte, secretBytes)
	_, _ = rand.Read(b)
	secret = base64.RawURLEncoding.EncodeToString(b)
	return secret, HashSecret(secret)
}

// HashSecret is the stored form of a secret: its SHA-256 digest.
func HashSecret(secret string) []byte {
	sum := sha256.Sum256([]byte(secret))
	return sum[:]
}

// SecretMatches compares a presented secret with a stored digest in constant
// time (the comparison of two equal-length digests reveals nothing about the
// secret).
func SecretMatches(presented string, digest []byte) bool {
	if len(digest) != sha256.Size {
		return false
	}
	sum := sha256.Sum256([]byte(presented))
	return subtle.ConstantTimeCompare(sum[:], digest) == 1
}
