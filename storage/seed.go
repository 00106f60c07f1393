package storage

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Bulk inserts for `janua seed`, the data generator of the performance runs.
// Each call is one transaction, written the fastest way each database
// offers (seed_write.go: COPY on PostgreSQL, prepared multi-row INSERTs on
// SQLite), and the rows are exactly what the single-row methods write
// (CreateUser, CreateClient, the fosite token storage): the same
// normalisation, the same column values, the JSON columns encoded as gorm's
// serializer encodes them. storagetest's Seed test compares the two.

// SeedUsers inserts users, each with passwordHash (one PHC string shared by
// all: hashing a million passwords would take hours), in one transaction.
// An empty ID gets a new UUIDv7; a taken email or ID is ErrAlreadyExists.
func (s *Store) SeedUsers(ctx context.Context, users []User, passwordHash string) error {
	if len(users) == 0 {
		return nil
	}
	now := s.now()
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
	}
	tables := []seedTable{{
		name: "users",
		cols: []string{"id", "email", "email_key", "email_verified", "claims", "disabled_at", "revision", "created_at", "updated_at"},
		n:    len(users),
		row: func(i int) ([]any, error) {
			u := &users[i]
			claims, err := jsonColumn(u.Claims)
			if err != nil {
				return nil, err
			}
			return []any{u.ID, u.Email, u.EmailKey, u.EmailVerified, claims, timeColumn(u.DisabledAt), u.Revision, u.CreatedAt, u.UpdatedAt}, nil
		},
	}}
	if passwordHash != "" {
		tables = append(tables, seedTable{
			name: "password_credentials",
			cols: []string{"user_id", "hash", "created_at", "updated_at"},
			n:    len(users),
			row: func(i int) ([]any, error) {
				return []any{users[i].ID, passwordHash, now, now}, nil
			},
		})
	}
	if err := s.seedWrite(ctx, tables); err != nil {
		return fmt.Errorf("storage: seed users: %w", mapError(err))
	}
	return nil
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
	table := seedTable{
		name: "clients",
		cols: []string{"id", "secret_hash", "secret_expires_at", "name", "public", "first_party", "token_endpoint_auth_method",
			"redirect_uris", "post_logout_redirect_uris", "grant_types", "response_types", "scopes", "metadata",
			"revision", "created_at", "updated_at"},
		n: len(cs),
		row: func(i int) ([]any, error) {
			c := &cs[i]
			row := []any{c.ID, c.SecretHash, timeColumn(c.SecretExpiresAt), c.Name, c.Public, c.FirstParty, c.TokenEndpointAuthMethod}
			for _, v := range []any{c.RedirectURIs, c.PostLogoutRedirectURIs, c.GrantTypes, c.ResponseTypes, c.Scopes, c.Metadata} {
				j, err := jsonColumn(v)
				if err != nil {
					return nil, err
				}
				row = append(row, j)
			}
			return append(row, c.Revision, c.CreatedAt, c.UpdatedAt), nil
		},
	}
	if err := s.seedWrite(ctx, []seedTable{table}); err != nil {
		return fmt.Errorf("storage: seed clients: %w", mapError(err))
	}
	return nil
}

// jsonColumn is the value gorm's JSON serializer binds for v (the
// `serializer:json` fields): its JSON as a string.
func jsonColumn(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("encode %T: %w", v, err)
	}
	return string(b), nil
}

// timeColumn binds an optional time as gorm does: NULL when nil.
func timeColumn(t *time.Time) any {
	if t == nil {
		return nil
	}
	return *t
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
