package storage

import (
	"context"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// EmailTokenPurpose says what a mailed one-time secret is for.
type EmailTokenPurpose string

// The purposes of email tokens.
const (
	// EmailTokenMagicLink signs in: a link and a short code in one message,
	// one row (they die together).
	EmailTokenMagicLink EmailTokenPurpose = "magic_link"
	// EmailTokenCode signs in with a short code alone (no link).
	EmailTokenCode EmailTokenPurpose = "email_code"
	// EmailTokenVerifyEmail proves the user reads the address on their account.
	EmailTokenVerifyEmail EmailTokenPurpose = "verify_email"
	// EmailTokenPasswordReset lets the user choose a new password.
	EmailTokenPasswordReset EmailTokenPurpose = "password_reset"
)

// MaxEmailCodeAttempts is how many wrong codes kill a token (its link too).
const MaxEmailCodeAttempts = 5

// EmailToken is a one-time secret Janua mailed. The row keeps only hashes:
// TokenHash is the SHA-256 of the link's 256-bit token (a fast hash is
// enough for that much entropy), CodeHash an HMAC of the short code under a
// key derived from the key-encryption secret and bound to the row, so a
// copy of the database does not let anyone brute-force the few digits
// offline. A token is live while it is unused, unexpired and has had fewer
// than MaxEmailCodeAttempts wrong codes; it is used at most once, by one
// conditional update.
type EmailToken struct {
	// ID is a random public handle: the page that asks for the code names
	// the row by it. It is no secret (the code is).
	ID        string `gorm:"primaryKey"`
	Purpose   EmailTokenPurpose
	TokenHash *string
	CodeHash  *string
	// UserID is nil for an address without an account: such a row is made
	// (and nothing mailed) so that asking costs the same either way; it
	// never signs anyone in.
	UserID *string
	Email  string
	// FlowID binds a sign-in token to the flow it was asked for (the flow's
	// ID, the SHA-256 of its challenge); Browser to the browser that asked
	// (the SHA-256 of its identity cookie). Both "" when unbound.
	FlowID    string
	Browser   string
	Attempts  int
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    *time.Time
}

// TableName maps EmailToken to its table.
func (EmailToken) TableName() string { return "email_tokens" }

// User is the ID of the token's user, "" when the address has no account.
func (t *EmailToken) User() string {
	if t.UserID == nil {
		return ""
	}
	return *t.UserID
}

// NewEmailSecret returns a fresh link token: 256 random bits, base64url.
func NewEmailSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// CreateEmailToken stores t for the link token and/or the short code (at
// least one; "" for none), live for ttl from now. It fills t's ID, hashes,
// attempts and times. The secrets themselves are never stored.
func (s *Store) CreateEmailToken(ctx context.Context, t *EmailToken, token, code string, ttl time.Duration) error {
	if token == "" && code == "" || ttl <= 0 || !validPurpose(t.Purpose) {
		return fmt.Errorf("storage: create email token: a purpose, a token or code and a positive lifetime are required")
	}
	if t.UserID != nil {
		if _, err := uuid.Parse(*t.UserID); err != nil {
			return fmt.Errorf("storage: create email token: user %q: %w", *t.UserID, ErrNotFound)
		}
	}
	t.ID = NewEmailSecret()[:22] // 132 bits: unguessable, though it guards nothing alone
	t.TokenHash, t.CodeHash = nil, nil
	if token != "" {
		h := tokenHash(token)
		t.TokenHash = &h
	}
	if code != "" {
		h := s.emailCodeHash(t.ID, code)
		t.CodeHash = &h
	}
	now := s.now()
	t.Attempts, t.UsedAt = 0, nil
	t.CreatedAt, t.ExpiresAt = now, utc(now.Add(ttl))
	if err := s.db(ctx).Create(t).Error; err != nil {
		return fmt.Errorf("storage: create email token: %w", mapError(err))
	}
	return nil
}

// GetEmailToken returns the live token of purpose whose link token is
// token, without using it (a page that asks for confirmation first).
// Anything else — unknown, used, expired, dead from wrong codes — is
// ErrNotFound.
func (s *Store) GetEmailToken(ctx context.Context, purpose EmailTokenPurpose, token string) (*EmailToken, error) {
	var t EmailToken
	err := s.db(ctx).Where("token_hash = ? AND purpose = ? AND used_at IS NULL AND expires_at > ? AND attempts < ?",
		tokenHash(token), string(purpose), s.now(), MaxEmailCodeAttempts).Take(&t).Error
	if err != nil {
		return nil, fmt.Errorf("storage: email token: %w", mapError(err))
	}
	normalizeEmailToken(&t)
	return &t, nil
}

// ConsumeEmailToken uses the live token of purpose whose link token is
// token and returns it. One conditional update does it, so of any number
// of concurrent callers exactly one succeeds; the others, and any token
// that is not live, get ErrNotFound.
func (s *Store) ConsumeEmailToken(ctx context.Context, purpose EmailTokenPurpose, token string) (*EmailToken, error) {
	now := s.now()
	return s.consumeEmailToken(ctx, "token_hash = ? AND purpose = ?", now, tokenHash(token), string(purpose))
}

// ConsumeEmailCode uses the live token id if code is its code and the
// token is bound to flowID and browser, and returns it. Otherwise it counts
// a wrong attempt against the live token id (the MaxEmailCodeAttempts-th
// kills it, its link too) and returns ErrNotFound with how many attempts
// are left (0 when the token is dead or unknown).
//
// One statement counts the attempt and, when the code is right, uses the
// token: every try is counted before it can succeed, so guesses sent at
// the same moment cannot outrun the limit.
func (s *Store) ConsumeEmailCode(ctx context.Context, id, code, flowID, browser string) (t *EmailToken, attemptsLeft int, err error) {
	now := s.now()
	var rows []EmailToken
	err = s.db(ctx).Raw(`UPDATE email_tokens SET attempts = attempts + 1,
		used_at = CASE WHEN code_hash = ? AND flow_id = ? AND browser = ? THEN ? ELSE used_at END
		WHERE id = ? AND code_hash IS NOT NULL AND used_at IS NULL AND expires_at > ? AND attempts < ?
		RETURNING *`, s.emailCodeHash(id, code), flowID, browser, now, id, now, MaxEmailCodeAttempts).Find(&rows).Error
	if err != nil {
		return nil, 0, fmt.Errorf("storage: email code attempt: %w", mapError(err))
	}
	if len(rows) == 1 {
		normalizeEmailToken(&rows[0])
		if rows[0].UsedAt != nil {
			return &rows[0], 0, nil
		}
		attemptsLeft = max(0, MaxEmailCodeAttempts-rows[0].Attempts)
	}
	return nil, attemptsLeft, fmt.Errorf("storage: email code: %w", ErrNotFound)
}

// consumeEmailToken marks used the live row that where (with args) selects
// and returns it, or ErrNotFound.
func (s *Store) consumeEmailToken(ctx context.Context, where string, now time.Time, args ...any) (*EmailToken, error) {
	var rows []EmailToken
	q := "UPDATE email_tokens SET used_at = ? WHERE " + where +
		" AND used_at IS NULL AND expires_at > ? AND attempts < ? RETURNING *"
	params := append(append([]any{now}, args...), now, MaxEmailCodeAttempts)
	if err := s.db(ctx).Raw(q, params...).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("storage: use email token: %w", mapError(err))
	}
	if len(rows) != 1 {
		return nil, fmt.Errorf("storage: email token: %w", ErrNotFound)
	}
	normalizeEmailToken(&rows[0])
	return &rows[0], nil
}

// InvalidateEmailTokens uses up every live token of userID with one of
// purposes (all purposes when none is given) and returns how many it
// ended: after a password reset no older link may still work.
func (s *Store) InvalidateEmailTokens(ctx context.Context, userID string, purposes ...EmailTokenPurpose) (int64, error) {
	if _, err := uuid.Parse(userID); err != nil {
		return 0, nil
	}
	q := s.db(ctx).Model(&EmailToken{}).Where("user_id = ? AND used_at IS NULL", userID)
	if len(purposes) > 0 {
		names := make([]string, len(purposes))
		for i, p := range purposes {
			names[i] = string(p)
		}
		q = q.Where("purpose IN ?", names)
	}
	res := q.Update("used_at", s.now())
	if err := res.Error; err != nil {
		return 0, fmt.Errorf("storage: invalidate email tokens of %s: %w", userID, mapError(err))
	}
	return res.RowsAffected, nil
}

// MarkEmailVerified sets email_verified on userID if its address is still
// email (case-insensitively): a verification mailed before the address
// changed verifies nothing. A user without that address is ErrNotFound.
func (s *Store) MarkEmailVerified(ctx context.Context, userID, email string) error {
	if _, err := uuid.Parse(userID); err != nil {
		return fmt.Errorf("storage: user %q: %w", userID, ErrNotFound)
	}
	res := s.db(ctx).Model(&User{}).Where("id = ? AND email_key = ?", userID, EmailKey(email)).
		Updates(map[string]any{"email_verified": true, "revision": gorm.Expr("revision + 1"), "updated_at": s.now()})
	if err := res.Error; err != nil {
		return fmt.Errorf("storage: verify email of %s: %w", userID, mapError(err))
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("storage: user %s with that address: %w", userID, ErrNotFound)
	}
	return nil
}

func validPurpose(p EmailTokenPurpose) bool {
	switch p {
	case EmailTokenMagicLink, EmailTokenCode, EmailTokenVerifyEmail, EmailTokenPasswordReset:
		return true
	}
	return false
}

// tokenHash is the stored form of a link token: its hex SHA-256.
func tokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// emailCodeHash is the stored form of row id's short code: HMAC-SHA256 under the
// store's code key, over the row ID and the code, so the same code in two
// rows hashes apart.
func (s *Store) emailCodeHash(id, code string) string {
	m := hmac.New(sha256.New, s.mailKey)
	m.Write([]byte(id))
	m.Write([]byte{0})
	m.Write([]byte(code))
	return hex.EncodeToString(m.Sum(nil))
}

// newEmailCodeKey derives the key of emailCodeHash from the key-encryption secret
// (HKDF-SHA256, RFC 5869, apart from the sealing key by its info).
func newEmailCodeKey(secret []byte) []byte {
	key, err := hkdf.Key(sha256.New, secret, []byte("janua storage"), "email code mac v1", 32)
	if err != nil {
		panic(fmt.Sprintf("storage: hkdf: %v", err))
	}
	return key
}

func normalizeEmailToken(t *EmailToken) {
	t.CreatedAt, t.ExpiresAt, t.UsedAt = utc(t.CreatedAt), utc(t.ExpiresAt), utcPtr(t.UsedAt)
}
