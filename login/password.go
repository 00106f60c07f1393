package login

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/bcrypt"

	"github.com/madfam-org/janua/login/internal/argon2id"
)

// Argon2Params is the argon2id cost (RFC 9106 §3.1). The zero value is not
// usable; DefaultArgon2Params returns OWASP's baseline.
type Argon2Params struct {
	MemoryKiB   uint32
	Iterations  uint32
	Parallelism uint8
}

// DefaultArgon2Params is m=19 MiB, t=2, p=1 (OWASP Password Storage Cheat Sheet).
func DefaultArgon2Params() Argon2Params {
	return Argon2Params{MemoryKiB: 19 * 1024, Iterations: 2, Parallelism: 1}
}

const (
	argonSaltLen = 16
	argonKeyLen  = 32
	// maxPasswordBytes bounds the input: argon2 would hash megabytes happily,
	// and an attacker would make it.
	maxPasswordBytes = 1024
)

// ErrPasswordMismatch means the password does not match the hash.
var ErrPasswordMismatch = errors.New("login: password does not match")

// ErrUnknownHash means the stored hash is in no format we verify.
var ErrUnknownHash = errors.New("login: unrecognised password hash format")

// Passwords hashes and verifies passwords. At most HashLimits.Concurrent
// hashes run at once, each in block memory its slot keeps (hashslots.go);
// further callers wait their turn, and give up with ErrBusy after
// HashLimits.Wait or when their context ends.
type Passwords struct {
	params Argon2Params
	slots  hashSlots
}

// NewPasswords returns a hasher with the cost p and the bounds l.
func NewPasswords(p Argon2Params, l HashLimits) *Passwords {
	return &Passwords{params: p, slots: newHashSlots(l, p.MemoryKiB)}
}

// argon2id computes an Argon2id key in a slot's memory.
func (pw *Passwords) argon2id(ctx context.Context, password string, salt []byte, p Argon2Params, keyLen uint32) ([]byte, error) {
	mem, err := pw.slots.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer pw.slots.release(mem)
	return mem.Key([]byte(password), salt, p.Iterations, p.MemoryKiB, p.Parallelism, keyLen), nil
}

// Hash returns the PHC string of password:
// $argon2id$v=19$m=<KiB>,t=<iterations>,p=<lanes>$<salt>$<key> (unpadded base64).
func (pw *Passwords) Hash(ctx context.Context, password string) (string, error) {
	if len(password) > maxPasswordBytes {
		return "", fmt.Errorf("login: password longer than %d bytes", maxPasswordBytes)
	}
	salt := make([]byte, argonSaltLen)
	_, _ = rand.Read(salt)
	key, err := pw.argon2id(ctx, password, salt, pw.params, argonKeyLen)
	if err != nil {
		return "", err
	}
	return encodeArgon2(pw.params, salt, key), nil
}

// Verify checks password against a stored hash (argon2id, or bcrypt from an
// import) in constant time. needsRehash reports that the password matched but
// the hash uses other parameters or another algorithm: the caller should
// store a fresh Hash. A mismatch is ErrPasswordMismatch.
func (pw *Passwords) Verify(ctx context.Context, password, stored string) (needsRehash bool, err error) {
	if len(password) > maxPasswordBytes {
		return false, ErrPasswordMismatch
	}
	switch {
	case strings.HasPrefix(stored, "$argon2id$"):
		p, salt, want, err := decodeArgon2(stored)
		if err != nil {
			return false, err
		}
		got, err := pw.argon2id(ctx, password, salt, p, uint32(len(want)))
		if err != nil {
			return false, err
		}
		if subtle.ConstantTimeCompare(got, want) != 1 {
			return false, ErrPasswordMismatch
		}
		return p != pw.params || len(want) != argonKeyLen || len(salt) != argonSaltLen, nil
	case strings.HasPrefix(stored, "$2a$"), strings.HasPrefix(stored, "$2b$"), strings.HasPrefix(stored, "$2y$"):
		mem, err := pw.slots.acquire(ctx)
		if err != nil {
			return false, err
		}
		err = bcrypt.CompareHashAndPassword([]byte(stored), []byte(password))
		pw.slots.release(mem)
		if err != nil {
			if errors.Is(err, bcrypt.ErrMismatchedHashAndPassword) {
				return false, ErrPasswordMismatch
			}
			return false, fmt.Errorf("%w: %v", ErrUnknownHash, err)
		}
		return true, nil
	}
	return false, ErrUnknownHash
}

// Burn spends the cost of one verification without a hash to compare, so a
// sign-in for an unknown account takes as long as one for a known account
// (no user enumeration by timing).
func (pw *Passwords) Burn(ctx context.Context, password string) error {
	var salt [argonSaltLen]byte
	_, err := pw.argon2id(ctx, password, salt[:], pw.params, argonKeyLen)
	return err
}

func encodeArgon2(p Argon2Params, salt, key []byte) string {
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2id.Version, p.MemoryKiB, p.Iterations, p.Parallelism, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// decodeArgon2 parses a PHC argon2id string, refusing parameters that would
// let a planted hash burn unbounded CPU or memory.
func decodeArgon2(s string) (Argon2Params, []byte, []byte, error) {
	var p Argon2Params
	parts := strings.Split(s, "$")
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, key
	if len(parts) != 6 || parts[2] != "v="+strconv.Itoa(argon2id.Version) {
		return p, nil, nil, ErrUnknownHash
	}
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, ok := strings.Cut(kv, "=")
		n, err := strconv.ParseUint(v, 10, 32)
		if !ok || err != nil {
			return p, nil, nil, ErrUnknownHash
		}
		switch k {
		case "m":
			p.MemoryKiB = uint32(n)
		case "t":
			p.Iterations = uint32(n)
		case "p":
			if n > 255 {
				return p, nil, nil, ErrUnknownHash
			}
			p.Parallelism = uint8(n)
		default:
			return p, nil, nil, ErrUnknownHash
		}
	}
	if p.MemoryKiB < 8 || p.MemoryKiB > 4*1024*1024 || p.Iterations < 1 || p.Iterations > 100 || p.Parallelism < 1 {
		return p, nil, nil, ErrUnknownHash
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	key, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(salt) < 8 || len(key) < 16 || len(key) > 128 {
		return p, nil, nil, ErrUnknownHash
	}
	return p, salt, key, nil
}

// GeneratePassword returns a random password of 20 characters from an
// alphabet without look-alikes (≈ 115 bits).
func GeneratePassword() string {
	const alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 20)
	for i := range b {
		b[i] = alphabet[randIndex(len(alphabet))]
	}
	return string(b)
}

// randIndex returns a uniform index in [0, n) using rejection sampling.
func randIndex(n int) int {
	limit := 256 - 256%n
	var b [1]byte
	for {
		_, _ = rand.Read(b[:])
		if int(b[0]) < limit {
			return int(b[0]) % n
		}
	}
}
