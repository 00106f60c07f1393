package storage

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/ory/fosite"
)

// Bulk inserts for `janua seed`, the data generator of the performance runs:
// multi-row INSERTs, each call one transaction, the rows exactly as the
// single-row methods write them (CreateUser, CreateClient, the fosite
// token storage).

// maxBindParams bounds the parameters of one statement: PostgreSQL takes at
// most 65535, SQLite (since 3.32) 32766.
const maxBindParams = 30000

// rowsPerStatement is how many rows of cols columns fit in one statement.
func rowsPerStatement(cols int) int { return max(1, maxBindParams/cols) }

// SeedUsers inserts users, each with passwordHash (one PHC string shared by
// all: hashing a million passwords would take hours), in one transaction.
// An empty ID gets a new UUIDv7; a taken email or ID is ErrAlreadyExists.
func (s *Store) SeedUsers(ctx context.Context, users []User, passwordHash string) error {
	if len(users) == 0 {
		return nil
	}
	now := s.now()
	creds := make([]passwordCredential, 0, len(users))
	for i := range users {
		u := &users[i]
		if u.ID == "" {
			id, err := uuid.NewV7()
			if err != nil {
				return fmt.Errorf("storage: user id: %w", err)
			}
			u.ID = id.String()
		}
		u.EmailKey = EmailKey(u.Email)
		u.Revision = 1
		u.CreatedAt, u.UpdatedAt = now, now
		u.DisabledAt = utcPtr(u.DisabledAt)
		if u.Claims == nil {
			u.Claims = map[string]any{}
		}
		if passwordHash != "" {
			creds = append(creds, passwordCredential{UserID: u.ID, Hash: passwordHash, CreatedAt: now, UpdatedAt: now})
		}
	}
	return s.InTx(ctx, func(ctx context.Context) error {
		if err := s.db(ctx).CreateInBatches(users, rowsPerStatement(9)).Error; err != nil {
			return fmt.Errorf("storage: seed users: %w", mapError(err))
		}
		if len(creds) == 0 {
			return nil
		}
		if err := s.db(ctx).CreateInBatches(creds, rowsPerStatement(4)).Error; err != nil {
			return fmt.Errorf("storage: seed passwords: %w", mapError(err))
		}
		return nil
	})
}

// SeedClients inserts clients in one transaction. A taken ID is
// ErrAlreadyExists.
func (s *Store) SeedClients(ctx context.Context, cs []Client) error {
	if len(cs) == 0 {
		return nil
	}
	now := s.now()
	for i := range cs {
		c := &cs[i]
		if c.ID == "" {
			return fmt.Errorf("storage: seed clients: empty id")
		}
		c.Revision = 1
		c.CreatedAt, c.UpdatedAt = now, now
		c.SecretExpiresAt = utcPtr(c.SecretExpiresAt)
		fillClientSlices(c)
	}
	return s.InTx(ctx, func(ctx context.Context) error {
		if err := s.db(ctx).CreateInBatches(cs, rowsPerStatement(15)).Error; err != nil {
			return fmt.Errorf("storage: seed clients: %w", mapError(err))
		}
		return nil
	})
}

// SeedToken is one token row of SeedTokens: what fosite's
// CreateAccessTokenSession or CreateRefreshTokenSession would be given.
type SeedToken struct {
	// Refresh makes a refresh token row; otherwise an access token row.
	Refresh bool
	// Signature is fosite's key for the token (stored hashed, as always).
	Signature string
	// AccessSignature is, for a refresh row, the key of the access token
	// issued with it.
	AccessSignature string
	Request         fosite.Requester
}

// SeedTokens inserts token rows in one transaction; a taken signature is
// ErrAlreadyExists and an unknown client a foreign-key error.
func (s *Store) SeedTokens(ctx context.Context, toks []SeedToken) error {
	if len(toks) == 0 {
		return nil
	}
	now := s.now()
	rows := make([]oauth2Session, len(toks))
	for i, t := range toks {
		kind, access := kindAccess, ""
		if t.Refresh {
			kind, access = kindRefresh, t.AccessSignature
		}
		row, err := newOAuth2Row(kind, t.Signature, access, t.Request, now)
		if err != nil {
			return err
		}
		rows[i] = row
	}
	return s.InTx(ctx, func(ctx context.Context) error {
		if err := s.db(ctx).CreateInBatches(rows, rowsPerStatement(16)).Error; err != nil {
			return oauth2Error("seed tokens", err)
		}
		return nil
	})
}

// CountRows returns how many users, clients and token rows (access and
// refresh) the database holds, for the seed summary.
func (s *Store) CountRows(ctx context.Context) (users, clients, tokens int64, err error) {
	db := s.db(ctx)
	if err = db.Model(&User{}).Count(&users).Error; err != nil {
		return 0, 0, 0, fmt.Errorf("storage: count users: %w", mapError(err))
	}
	if err = db.Model(&Client{}).Count(&clients).Error; err != nil {
		return 0, 0, 0, fmt.Errorf("storage: count clients: %w", mapError(err))
	}
	if err = db.Model(&oauth2Session{}).Where("kind IN ?", []string{string(kindAccess), string(kindRefresh)}).Count(&tokens).Error; err != nil {
		return 0, 0, 0, fmt.Errorf("storage: count tokens: %w", mapError(err))
	}
	return users, clients, tokens, nil
}
