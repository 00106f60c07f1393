package storage

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
)

// sealVersion prefixes every sealed value so the scheme can change later
// without guessing what a stored blob is.
const sealVersion byte = 1

// ErrUnsealable means a sealed value could not be decrypted: the key-encryption
// secret (JANUA_SECRET) differs from the one it was sealed with, or the value
// was tampered with or moved to another row.
var ErrUnsealable = errors.New("storage: sealed value cannot be decrypted (was JANUA_SECRET changed?)")

// sealer encrypts values at rest with AES-256-GCM under a key derived from the
// key-encryption secret by HKDF-SHA256 (RFC 5869). The additional data binds a
// ciphertext to its table, column and row, so a sealed value copied to another
// row does not decrypt.
type sealer struct {
	aead cipher.AEAD
}

func newSealer(secret []byte) *sealer {
	key, err := hkdf.Key(sha256.New, secret, []byte("janua storage"), "at-rest encryption v1", 32)
	if err != nil {
		// Only possible for absurd lengths; 32 bytes from SHA-256 is fine.
		panic(fmt.Sprintf("storage: hkdf: %v", err))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		panic(fmt.Sprintf("storage: aes: %v", err))
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(fmt.Sprintf("storage: gcm: %v", err))
	}
	return &sealer{aead: aead}
}

// Seal encrypts plaintext for the given binding ("table.column:rowid").
func (s *sealer) Seal(plaintext []byte, binding string) []byte {
	nonceSize := s.aead.NonceSize()
	out := make([]byte, 1+nonceSize, 1+nonceSize+len(plaintext)+s.aead.Overhead())
	out[0] = sealVersion
	if _, err := rand.Read(out[1 : 1+nonceSize]); err != nil {
		panic(fmt.Sprintf("storage: random nonce: %v", err)) // crypto/rand never fails on Linux
	}
	return s.aead.Seal(out, out[1:1+nonceSize], plaintext, []byte(binding))
}

// Open decrypts a value sealed for binding.
func (s *sealer) Open(sealed []byte, binding string) ([]byte, error) {
	nonceSize := s.aead.NonceSize()
	if len(sealed) < 1+nonceSize+s.aead.Overhead() || sealed[0] != sealVersion {
		return nil, ErrUnsealable
	}
	pt, err := s.aead.Open(nil, sealed[1:1+nonceSize], sealed[1+nonceSize:], []byte(binding))
	if err != nil {
		return nil, ErrUnsealable
	}
	return pt, nil
}
