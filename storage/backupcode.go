package storage

import (
	"context"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Backup codes are a user's single-use second factors for when their
// authenticator is out of reach. The database keeps only an HMAC-SHA256 of
// each code under a key derived from the key-encryption secret (and bound
// to the user): a code of 50 random bits is cheap to brute-force from a
// plain hash, not from a keyed one whose key is not in the database.

// backupCodeRow is one backup code as stored.
type backupCodeRow struct {
	ID        string `gorm:"primaryKey"`
	UserID    string
	CodeHash  []byte
	CreatedAt time.Time
	UsedAt    *time.Time
}

func (backupCodeRow) TableName() string { return "backup_codes" }

// newCodeKey derives the backup-code HMAC key from the key-encryption
// secret (HKDF-SHA256, RFC 5869), apart from the sealing key.
func newCodeKey(secret []byte) []byte {
	key, err := hkdf.Key(sha256.New, secret, []byte("janua storage"), "backup code hashes v1", 32)
	if err != nil {
		panic(fmt.Sprintf("storage: hkdf: %v", err))
	}
	return key
}

// codeHash is the stored form of code for userID. Callers normalise the
// code first (login: case and separators).
func (s *Store) codeHash(userID, code string) []byte {
	m := hmac.New(sha256.New, s.codeKey)
	m.Write([]byte(userID))
	m.Write([]byte{0})
	m.Write([]byte(code))
	return m.Sum(nil)
}

// ReplaceBackupCodes makes codes userID's backup codes: every earlier one,
// used or not, is deleted in the same transaction.
func (s *Store) ReplaceBackupCodes(ctx context.Context, userID string, codes []string) error {
	if _, err := uuid.Parse(userID); err != nil || len(codes) == 0 {
		return fmt.Errorf("storage: replace backup codes: a user id and codes are required")
	}
	now := s.now()
	rows := make([]backupCodeRow, len(codes))
	for i, c := range codes {
		rows[i] = backupCodeRow{ID: uuid.NewString(), UserID: userID, CodeHash: s.codeHash(userID, c), CreatedAt: now}
	}
	return s.InTx(ctx, func(ctx context.Context) error {
		if err := s.db(ctx).Where("user_id = ?", userID).Delete(&backupCodeRow{}).Error; err != nil {
			return fmt.Errorf("storage: replace backup codes: %w", mapError(err))
		}
		if err := s.db(ctx).Create(&rows).Error; err != nil {
			return fmt.Errorf("storage: replace backup codes: %w", mapError(err))
		}
		return nil
	})
}

// ConsumeBackupCode uses code, one of userID's unused backup codes, and
// returns how many remain unused. Every unused code is compared, in
// constant time, and the match is taken by a conditional update, so two
// concurrent uses of one code cannot both succeed. ErrNotFound when code
// is not an unused backup code of userID.
func (s *Store) ConsumeBackupCode(ctx context.Context, userID, code string) (remaining int, err error) {
	if _, err := uuid.Parse(userID); err != nil {
		return 0, fmt.Errorf("storage: backup code: %w", ErrNotFound)
	}
	want := s.codeHash(userID, code)
	var rows []backupCodeRow
	if err := s.db(ctx).Where("user_id = ? AND used_at IS NULL", userID).Find(&rows).Error; err != nil {
		return 0, fmt.Errorf("storage: backup codes: %w", mapError(err))
	}
	match := ""
	for _, r := range rows {
		if subtle.ConstantTimeCompare(r.CodeHash, want) == 1 {
			match = r.ID
		}
	}
	if match == "" {
		return 0, fmt.Errorf("storage: backup code: %w", ErrNotFound)
	}
	res := s.db(ctx).Model(&backupCodeRow{}).Where("id = ? AND used_at IS NULL", match).Update("used_at", s.now())
	if err := res.Error; err != nil {
		return 0, fmt.Errorf("storage: use backup code: %w", mapError(err))
	}
	if res.RowsAffected == 0 {
		// Another request used it between the read and the update.
		return 0, fmt.Errorf("storage: backup code: %w", ErrNotFound)
	}
	return s.CountBackupCodes(ctx, userID)
}

// CountBackupCodes returns how many unused backup codes userID has.
func (s *Store) CountBackupCodes(ctx context.Context, userID string) (int, error) {
	if _, err := uuid.Parse(userID); err != nil {
		return 0, nil
	}
	var n int64
	if err := s.db(ctx).Model(&backupCodeRow{}).Where("user_id = ? AND used_at IS NULL", userID).Count(&n).Error; err != nil {
		return 0, fmt.Errorf("storage: count backup codes: %w", mapError(err))
	}
	return int(n), nil
}

// DeleteBackupCodes removes every backup code of userID and returns how
// many there were.
func (s *Store) DeleteBackupCodes(ctx context.Context, userID string) (int64, error) {
	if _, err := uuid.Parse(userID); err != nil {
		return 0, nil
	}
	res := s.db(ctx).Where("user_id = ?", userID).Delete(&backupCodeRow{})
	if err := res.Error; err != nil {
		return 0, fmt.Errorf("storage: delete backup codes: %w", mapError(err))
	}
	return res.RowsAffected, nil
}
