package storage

import (
	"context"
	"fmt"

	"gorm.io/gorm"
)

// An OAuth 2.0 request writes several rows that nothing reads back before
// the request ends: an authorization response its code, OpenID Connect
// request and PKCE challenge; a token response its access and refresh
// token. They are collected and written in one multi-row INSERT instead of
// one statement each, either around an explicit function
// (BatchOAuth2Inserts) or until the end of the transaction they were
// created in (txInserts).

// insertBatch holds OAuth 2.0 rows created but not yet written.
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
	if s.dialect == SQLite && !inTx(ctx) {
		// With other requests' work, in one commit (oauth2_redeem.go).
		if err := s.inserts.insertAll(ctx, b.rows, s.insertJob(b.rows)); err != nil {
			return oauth2Error("create authorization response rows", err)
		}
		s.handOffCodes(ctx, b.rows)
		return nil
	}
	db := s.db(ctx)
	if db.Error != nil {
		return oauth2Error("create authorization response rows", db.Error)
	}
	if err := s.execOAuth2Insert(ctx, db.Statement.ConnPool, b.rows); err != nil {
		return oauth2Error("create authorization response rows", err)
	}
	if !inTx(ctx) {
		s.handOffCodes(ctx, b.rows) // committed: the INSERT was its own transaction
	}
	return nil
}

// batchOf returns the batch collecting ctx's inserts, or nil.
func batchOf(ctx context.Context) *insertBatch {
	b, _ := ctx.Value(batchKey{}).(*insertBatch)
	return b
}

// txInsertsKey carries the rows created in the open transaction (see
// BeginTX) and not yet written.
type txInsertsKey struct{}

// txInsertsOf returns the rows waiting in ctx's transaction, or nil when
// ctx carries none.
func txInsertsOf(ctx context.Context) *insertBatch {
	b, _ := ctx.Value(txInsertsKey{}).(*insertBatch)
	return b
}

// flushTxInserts writes the rows waiting in ctx's transaction, in one
// statement. Commit calls it before COMMIT, and every other statement about
// OAuth 2.0 rows before it runs (see oauth2DB), so that a transaction reads
// its own writes and commits all of them or none: fosite's token endpoint
// stores the access and refresh token of a response (and, at a refresh,
// rotates the old one) in one transaction (storage.MaybeBeginTx) and reads
// neither back, so the pair costs one INSERT. A failed write surfaces here,
// not at the Create call: fosite treats both alike, as a server error (or
// a retry, for a conflict) that rolls the transaction back.
func (s *Store) flushTxInserts(ctx context.Context) error {
	b := txInsertsOf(ctx)
	if b == nil || len(b.rows) == 0 {
		return nil
	}
	rows := b.rows
	b.rows = nil
	db := s.db(ctx)
	if db.Error != nil {
		return db.Error
	}
	if err := s.execOAuth2Insert(ctx, db.Statement.ConnPool, rows); err != nil {
		what := "OAuth 2.0 rows"
		if len(rows) == 1 {
			what = oauth2Kind(rows[0].Kind).noun()
		}
		return oauth2Error(fmt.Sprintf("create %s", what), err)
	}
	return nil
}

// oauth2DB is the handle for a statement about OAuth 2.0 rows: s.db(ctx),
// after the rows waiting in ctx's transaction are written.
func (s *Store) oauth2DB(ctx context.Context) (*gorm.DB, error) {
	if err := s.flushTxInserts(ctx); err != nil {
		return nil, err
	}
	return s.db(ctx), nil
}
