package storage

import (
	"context"
	"fmt"

	"github.com/google/uuid"
)

// FactorEnrolment is what a user has of each second factor, as a sign-in
// needs it to decide whether a second step follows.
type FactorEnrolment struct {
	// Passkeys is how many passkeys the user registered.
	Passkeys int
	// TOTP reports a confirmed authenticator app (a pending enrolment does
	// not count).
	TOTP bool
	// BackupCodes is how many unused backup codes are left.
	BackupCodes int
}

// GetFactorEnrolment returns userID's FactorEnrolment in one statement
// (CountPasskeys, TOTPConfirmedAt and CountBackupCodes in one round trip).
// A user with none, or no such user, has the zero value.
func (s *Store) GetFactorEnrolment(ctx context.Context, userID string) (FactorEnrolment, error) {
	if _, err := uuid.Parse(userID); err != nil {
		return FactorEnrolment{}, nil
	}
	var row struct {
		Passkeys, TOTP, BackupCodes int
	}
	err := s.db(ctx).Raw(`SELECT
    (SELECT count(*) FROM passkeys WHERE user_id = @u) AS passkeys,
    (SELECT count(*) FROM totp_authenticators WHERE user_id = @u AND confirmed_at IS NOT NULL) AS totp,
    (SELECT count(*) FROM backup_codes WHERE user_id = @u AND used_at IS NULL) AS backup_codes`,
		map[string]any{"u": userID}).Find(&row).Error
	if err != nil {
		return FactorEnrolment{}, fmt.Errorf("storage: factors of %s: %w", userID, mapError(err))
	}
	return FactorEnrolment{Passkeys: row.Passkeys, TOTP: row.TOTP > 0, BackupCodes: row.BackupCodes}, nil
}
