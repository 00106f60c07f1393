package storage

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// Passkey is a WebAuthn credential record (WebAuthn Level 3 §4,
// "credential record"): what a relying party keeps of a public key
// credential to verify its later assertions.
type Passkey struct {
	// ID is our own identifier (a UUID), the one pages and forms name.
	ID     string `gorm:"primaryKey"`
	UserID string
	// CredentialID is the authenticator's credential ID (§4 "Credential ID").
	CredentialID []byte
	// PublicKey is the credential public key, a COSE_Key (§6.5.1.1).
	PublicKey         []byte
	AttestationType   string
	AttestationFormat string
	Attestation       PasskeyAttestation `gorm:"serializer:json"`
	AAGUID            []byte             `gorm:"column:aaguid"`
	// SignCount is the signature counter last seen (§6.1.1); 0 for the many
	// authenticators that keep none.
	SignCount  uint32
	Transports []string `gorm:"serializer:json"`
	// Attachment is "platform" or "cross-platform" when the client said.
	Attachment string
	// The authenticator data flags (§6.1): UP and UV as registered; BE says
	// the credential may be synced (a synced passkey, "swk"), BS whether it
	// is backed up now, updated after every use.
	UserPresent    bool
	UserVerified   bool
	BackupEligible bool
	BackupState    bool
	// Name is what the user calls it ("iPhone", "YubiKey").
	Name       string
	CreatedAt  time.Time
	LastUsedAt *time.Time
}

// TableName maps Passkey to its table.
func (Passkey) TableName() string { return "passkeys" }

// PasskeyAttestation is the raw attestation a passkey was registered with,
// kept so the credential can be re-verified later against metadata or rules
// that did not exist at registration.
type PasskeyAttestation struct {
	ClientDataJSON     []byte `json:"client_data_json,omitempty"`
	ClientDataHash     []byte `json:"client_data_hash,omitempty"`
	AuthenticatorData  []byte `json:"authenticator_data,omitempty"`
	PublicKeyAlgorithm int64  `json:"public_key_algorithm,omitempty"`
	Object             []byte `json:"object,omitempty"`
}

// webauthnUser is a user's WebAuthn user handle.
type webauthnUser struct {
	UserID    string `gorm:"primaryKey"`
	Handle    []byte
	CreatedAt time.Time
	UpdatedAt time.Time
}

func (webauthnUser) TableName() string { return "webauthn_users" }

// PasskeyUserHandleSize is the length of a user handle: 32 random bytes
// (WebAuthn §5.4.3 allows up to 64 and asks for random ones).
const PasskeyUserHandleSize = 32

// PasskeyUserHandle returns userID's WebAuthn user handle, creating it on
// first use. It is stable for the user's lifetime and carries nothing
// about them (WebAuthn §14.6.1). A missing user is ErrNotFound.
func (s *Store) PasskeyUserHandle(ctx context.Context, userID string) ([]byte, error) {
	if _, err := uuid.Parse(userID); err != nil {
		return nil, fmt.Errorf("storage: user %q: %w", userID, ErrNotFound)
	}
	var wu webauthnUser
	err := s.db(ctx).Where("user_id = ?", userID).Take(&wu).Error
	if err == nil {
		return wu.Handle, nil
	}
	if !errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, fmt.Errorf("storage: user handle of %s: %w", userID, mapError(err))
	}
	handle := make([]byte, PasskeyUserHandleSize)
	if _, err := rand.Read(handle); err != nil {
		return nil, fmt.Errorf("storage: user handle: %w", err)
	}
	now := s.now()
	wu = webauthnUser{UserID: userID, Handle: handle, CreatedAt: now, UpdatedAt: now}
	switch err = mapError(s.db(ctx).Create(&wu).Error); {
	case err == nil:
		return handle, nil
	case errors.Is(err, ErrAlreadyExists):
		// Another request created it first: use theirs.
		if err := s.db(ctx).Where("user_id = ?", userID).Take(&wu).Error; err != nil {
			return nil, fmt.Errorf("storage: user handle of %s: %w", userID, mapError(err))
		}
		return wu.Handle, nil
	case errors.Is(err, ErrConflict):
		if _, gerr := s.GetUser(ctx, userID); gerr != nil {
			return nil, gerr // the foreign key refused it: no such user
		}
	}
	return nil, fmt.Errorf("storage: user handle of %s: %w", userID, err)
}

// UserIDByPasskeyHandle returns the user whose user handle is handle
// (ErrNotFound if none).
func (s *Store) UserIDByPasskeyHandle(ctx context.Context, handle []byte) (string, error) {
	if len(handle) == 0 || len(handle) > 64 {
		return "", fmt.Errorf("storage: user handle: %w", ErrNotFound)
	}
	var wu webauthnUser
	if err := s.db(ctx).Where("handle = ?", handle).Take(&wu).Error; err != nil {
		return "", fmt.Errorf("storage: user handle: %w", mapError(err))
	}
	return wu.UserID, nil
}

// ListPasskeys returns userID's passkeys, oldest first.
func (s *Store) ListPasskeys(ctx context.Context, userID string) ([]Passkey, error) {
	if _, err := uuid.Parse(userID); err != nil {
		return nil, nil
	}
	var out []Passkey
	if err := s.db(ctx).Where("user_id = ?", userID).Order("created_at, id").Limit(maxPageLimit).Find(&out).Error; err != nil {
		return nil, fmt.Errorf("storage: passkeys of %s: %w", userID, mapError(err))
	}
	for i := range out {
		normalizePasskey(&out[i])
	}
	return out, nil
}

// CountPasskeys returns how many passkeys userID has.
func (s *Store) CountPasskeys(ctx context.Context, userID string) (int, error) {
	if _, err := uuid.Parse(userID); err != nil {
		return 0, nil
	}
	var n int64
	if err := s.db(ctx).Model(&Passkey{}).Where("user_id = ?", userID).Count(&n).Error; err != nil {
		return 0, fmt.Errorf("storage: count passkeys of %s: %w", userID, mapError(err))
	}
	return int(n), nil
}

// GetPasskeyByCredentialID returns the passkey with the authenticator's
// credential ID id (ErrNotFound if none).
func (s *Store) GetPasskeyByCredentialID(ctx context.Context, id []byte) (*Passkey, error) {
	if len(id) == 0 || len(id) > 1023 { // WebAuthn §4: at most 1023 bytes
		return nil, fmt.Errorf("storage: passkey: %w", ErrNotFound)
	}
	var pk Passkey
	if err := s.db(ctx).Where("credential_id = ?", id).Take(&pk).Error; err != nil {
		return nil, fmt.Errorf("storage: passkey: %w", mapError(err))
	}
	normalizePasskey(&pk)
	return &pk, nil
}

// ErrPasskeyLimit is the error of CreatePasskey for a user who already has
// the most passkeys allowed.
var ErrPasskeyLimit = fmt.Errorf("storage: too many passkeys: %w", ErrConflict)

// CreatePasskey stores pk for pk.UserID unless the user already has limit
// passkeys (ErrPasskeyLimit; limit ≤ 0 means no limit). The check and the
// insert are one step: two registrations of one user at the same moment
// cannot both pass a limit that has room for one. The user's handle must
// exist (PasskeyUserHandle). A credential ID registered before is
// ErrAlreadyExists. An empty ID gets a new UUID; CreatedAt is now.
func (s *Store) CreatePasskey(ctx context.Context, pk *Passkey, limit int) error {
	if _, err := uuid.Parse(pk.UserID); err != nil {
		return fmt.Errorf("storage: user %q: %w", pk.UserID, ErrNotFound)
	}
	if len(pk.CredentialID) == 0 || len(pk.CredentialID) > 1023 || len(pk.PublicKey) == 0 {
		return fmt.Errorf("storage: create passkey: a credential ID of 1 to 1023 bytes and a public key are required")
	}
	if pk.ID == "" {
		id, err := uuid.NewV7()
		if err != nil {
			return fmt.Errorf("storage: passkey id: %w", err)
		}
		pk.ID = id.String()
	}
	now := s.now()
	pk.CreatedAt, pk.LastUsedAt = now, utcPtr(pk.LastUsedAt)
	if pk.Transports == nil {
		pk.Transports = []string{}
	}
	if pk.AAGUID == nil {
		pk.AAGUID = []byte{}
	}
	return s.InTx(ctx, func(ctx context.Context) error {
		// Lock the user's handle row: concurrent registrations of this user
		// wait here (PostgreSQL row lock; SQLite has one writer anyway).
		res := s.db(ctx).Model(&webauthnUser{}).Where("user_id = ?", pk.UserID).Update("updated_at", now)
		if err := res.Error; err != nil {
			return fmt.Errorf("storage: create passkey: %w", mapError(err))
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("storage: create passkey: no user handle for %s: %w", pk.UserID, ErrNotFound)
		}
		if limit > 0 {
			n, err := s.CountPasskeys(ctx, pk.UserID)
			if err != nil {
				return err
			}
			if n >= limit {
				return ErrPasskeyLimit
			}
		}
		if err := s.db(ctx).Create(pk).Error; err != nil {
			return fmt.Errorf("storage: create passkey: %w", mapError(err))
		}
		return nil
	})
}

// RenamePasskey renames userID's passkey id (ErrNotFound when userID has
// no such passkey).
func (s *Store) RenamePasskey(ctx context.Context, userID, id, name string) error {
	if !validUUIDs(userID, id) {
		return fmt.Errorf("storage: passkey %q: %w", id, ErrNotFound)
	}
	res := s.db(ctx).Model(&Passkey{}).Where("id = ? AND user_id = ?", id, userID).Update("name", name)
	if err := res.Error; err != nil {
		return fmt.Errorf("storage: rename passkey %s: %w", id, mapError(err))
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("storage: passkey %s: %w", id, ErrNotFound)
	}
	return nil
}

// DeletePasskey removes userID's passkey id and returns it (ErrNotFound
// when userID has no such passkey). Like CreatePasskey it holds the lock
// on the user's handle row until the transaction in ctx (if any) ends, so
// a caller can check what is left before committing.
func (s *Store) DeletePasskey(ctx context.Context, userID, id string) (*Passkey, error) {
	if !validUUIDs(userID, id) {
		return nil, fmt.Errorf("storage: passkey %q: %w", id, ErrNotFound)
	}
	var pk Passkey
	err := s.InTx(ctx, func(ctx context.Context) error {
		if err := s.db(ctx).Model(&webauthnUser{}).Where("user_id = ?", userID).Update("updated_at", s.now()).Error; err != nil {
			return mapError(err)
		}
		if err := s.db(ctx).Where("id = ? AND user_id = ?", id, userID).Take(&pk).Error; err != nil {
			return mapError(err)
		}
		res := s.db(ctx).Where("id = ? AND user_id = ?", id, userID).Delete(&Passkey{})
		if err := res.Error; err != nil {
			return mapError(err)
		}
		if res.RowsAffected == 0 {
			return ErrNotFound
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("storage: delete passkey %s: %w", id, err)
	}
	normalizePasskey(&pk)
	return &pk, nil
}

// PasskeyUse is what an assertion (WebAuthn §7.2 steps 21–22) updates.
type PasskeyUse struct {
	SignCount      uint32
	BackupEligible bool
	BackupState    bool
}

// UsePasskey records a successful assertion of passkey id: its signature
// counter, backup flags and when it was last used. The update is
// conditional on the counter moving forward — u.SignCount greater than the
// stored one, or both zero for an authenticator that keeps no counter — so
// a concurrent or cloned use can never move it back; otherwise nothing
// changes and the error is ErrConflict (ErrNotFound for no such passkey).
func (s *Store) UsePasskey(ctx context.Context, id string, u PasskeyUse) error {
	if !validUUIDs(id) {
		return fmt.Errorf("storage: passkey %q: %w", id, ErrNotFound)
	}
	res := s.db(ctx).Model(&Passkey{}).
		Where("id = ? AND (sign_count < ? OR (sign_count = 0 AND ? = 0))", id, int64(u.SignCount), int64(u.SignCount)).
		Updates(map[string]any{
			"sign_count":      int64(u.SignCount),
			"backup_eligible": u.BackupEligible,
			"backup_state":    u.BackupState,
			"last_used_at":    s.now(),
		})
	if err := res.Error; err != nil {
		return fmt.Errorf("storage: use passkey %s: %w", id, mapError(err))
	}
	if res.RowsAffected == 0 {
		return s.missingOrConflict(ctx, &Passkey{}, id, "passkey")
	}
	return nil
}

func validUUIDs(ids ...string) bool {
	for _, id := range ids {
		if _, err := uuid.Parse(id); err != nil {
			return false
		}
	}
	return true
}

func normalizePasskey(pk *Passkey) {
	pk.CreatedAt, pk.LastUsedAt = utc(pk.CreatedAt), utcPtr(pk.LastUsedAt)
	if pk.Transports == nil {
		pk.Transports = []string{}
	}
}
