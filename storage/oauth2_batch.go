package storage

import (
	"context"
)

// insertBatch holds the OAuth 2.0 rows created inside BatchOAuth2Inserts.
type insertBatch struct{ rows []oauth2Session }

type batchKey struct{}

// BatchOAuth2Inserts runs fn with a context in which the OAuth 2.0 rows
// fosite creates (an authorization code, its OpenID Connect request and
// PKCE challenge, an implicit access token) are collected instead of
// written, and writes them all in one multi-row INSERT when fn returns
// nil; nothing when it fails. An authorization response creates up to
// four rows and reads none of them back, so it costs one statement
// instead of four. Within fn the collected rows cannot be read.
func (s *Store) BatchOAuth2Inserts(ctx context.Context, fn func(ctx context.Context) error) error {
	b := &insertBatch{}
	if err := fn(context.WithValue(ctx, batchKey{}, b)); err != nil {
		return err
	}
	if len(b.rows) == 0 {
		return nil
	}
	if err := s.db(ctx).Create(&b.rows).Error; err != nil {
		return oauth2Error("create authorization response rows", err)
	}
	return nil
}

// batchOf returns the batch collecting ctx's inserts, or nil.
func batchOf(ctx context.Context) *insertBatch {
	b, _ := ctx.Value(batchKey{}).(*insertBatch)
	return b
}
