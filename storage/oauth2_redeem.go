package storage

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"gorm.io/gorm"
)

// A code redeemed in one statement.
//
// fosite's token endpoint redeems an authorization code in one transaction
// (RFC 6749 §4.1.2: a code is used at most once): it marks the code used,
// stores the access token and, with offline_access, the refresh token, and
// commits; it reads none of them back in between. Sent as they come, that
// is BEGIN, UPDATE, INSERT and COMMIT: four round trips on PostgreSQL, each
// also a statement for the database to run, which took more CPU on the
// shared machine than the server's own handling of the request. Here the
// invalidation waits for the commit like the inserts (the transaction
// itself is begun by the first statement that needs it: see BeginTX), and
// the commit sends both as one statement: a data-modifying WITH that marks
// the code used and inserts each row only if it did
// (https://www.postgresql.org/docs/current/queries-with.html#QUERIES-WITH-MODIFYING).
// One statement is one transaction: the rows are written exactly when the
// code was still unused, and two redemptions racing each other still
// cannot both issue tokens, since the second's UPDATE waits on the first's
// row lock and then finds the code used. Its error comes from the commit
// instead of from InvalidateAuthorizeCodeSession; fosite treats both alike
// (a server error that issues nothing).
//
// SQLite has no data-modifying WITH, and its statements cost no round
// trip; what costs there is the commit itself, a WAL append of every page
// the transaction changed (the table's and each of its five indexes'),
// made through the one connection every write waits for. So on SQLite the
// deferred work goes to the group commit (groupcommit.go) as a job, and
// its one flusher runs the jobs and rows of every request queued at that
// moment in one transaction (writeOAuth2Jobs): under load one commit
// serves many token requests and authorization responses, and their rows,
// whose request IDs are time-ordered, share index pages. A job whose code
// was already used changes nothing and fails alone; any other failure
// fails the whole batch, which commits nothing.

// deferInvalidation records the invalidation of the code with row key key
// in ctx's transaction, when it has not begun (and has no invalidation
// waiting already), and reports whether it did.
func (s *Store) deferInvalidation(ctx context.Context, key string) bool {
	t := txOf(ctx)
	if t == nil || t.db != nil || t.done || t.invalidate != "" || t.rotate != nil {
		return false
	}
	t.invalidate = key
	return true
}

// commitDeferred commits a transaction that never began: its waiting rows
// and invalidation or rotation, if any, in one statement on PostgreSQL,
// in the group commit's transaction on SQLite. It reports false, having
// done nothing, when that takes a transaction of its own after all (rows
// gorm renders in an unexpected shape): the caller then begins one.
func (s *Store) commitDeferred(ctx context.Context, t *openTx) (bool, error) {
	b := txInsertsOf(ctx)
	var rows []oauth2Session
	if b != nil {
		rows = b.rows
	}
	if s.dialect == SQLite && (t.invalidate != "" || t.rotate != nil) {
		job := s.redeemJob(t.invalidate, rows)
		if r := t.rotate; r != nil {
			job = s.rotateJob(r, rows)
		}
		if b != nil {
			b.rows = nil
		}
		t.invalidate, t.rotate, t.done = "", nil, true
		return true, s.inserts.run(ctx, job)
	}
	if r := t.rotate; r != nil {
		ok, err := s.commitRotation(ctx, r, rows)
		if !ok {
			return false, nil
		}
		if b != nil {
			b.rows = nil
		}
		t.rotate, t.done = nil, true
		return true, err
	}
	key := t.invalidate
	var q string
	var vars []any
	if key != "" {
		var ok bool
		if q, vars, ok = redeemStatement(key, rows); !ok {
			return false, nil
		}
	}
	if b != nil {
		b.rows = nil
	}
	t.invalidate, t.done = "", true
	switch {
	case key == "" && len(rows) == 0:
		return true, nil
	case key == "":
		// Rows alone: one INSERT is its own transaction.
		if err := s.execOAuth2Insert(ctx, s.sqlDB, rows); err != nil {
			return true, oauth2Error("create OAuth 2.0 rows", err)
		}
		return true, nil
	}
	var used int64
	if err := s.gdb.WithContext(ctx).Raw(q, vars...).Find(&used).Error; err != nil {
		return true, oauth2Error("redeem authorization code", err)
	}
	if used == 1 {
		return true, nil
	}
	return true, s.codeNotRedeemable(s.gdb.WithContext(ctx), key)
}

// pgColumnTypes are the oauth2_sessions columns' types (migrations), for
// the casts of redeemStatement: parameters in a SELECT list are not typed
// by the column they are inserted into.
var pgColumnTypes = map[string]string{
	"kind": "text", "signature": "text", "request_id": "text", "client_id": "text", "subject": "text",
	"requested_at": "timestamptz", "expires_at": "timestamptz", "active": "boolean",
	"scopes": "jsonb", "granted_scopes": "jsonb", "requested_audience": "jsonb", "granted_audience": "jsonb",
	"form": "text", "session": "text", "access_signature": "text", "rotated_at": "timestamptz",
}

// redeemStatement is the PostgreSQL statement that marks the code with row
// key key used and inserts rows only if it was unused, returning 1 or 0:
//
//	WITH used AS (UPDATE … WHERE kind = 'code' AND signature = $1 AND active RETURNING 1),
//	     r0 AS (INSERT INTO oauth2_sessions (…) SELECT $2::text, … FROM used), …
//	SELECT count(*) FROM used
//
// The values are those of any other insert of the rows
// (oauth2Session.values). ok is false when a row cannot be encoded or a
// column's type is not known.
func redeemStatement(key string, rows []oauth2Session) (q string, vars []any, ok bool) {
	var b strings.Builder
	b.WriteString(`WITH used AS (UPDATE oauth2_sessions SET active = false WHERE kind = '`)
	b.WriteString(string(kindCode))
	b.WriteString(`' AND signature = $1 AND active RETURNING 1)`)
	vals, ok := appendDeferredInserts(&b, "used", 2, rows)
	if !ok {
		return "", nil, false
	}
	b.WriteString(` SELECT count(*) FROM used`)
	return b.String(), append([]any{key}, vals...), true
}

// redeemJob is the redemption of the code with row key key and the
// insert of rows, as a job of the group commit's transaction (SQLite).
func (s *Store) redeemJob(key string, rows []oauth2Session) txJob {
	return func(ctx context.Context, db *gorm.DB) (error, error) {
		res := db.Model(&oauth2Session{}).
			Where("kind = ? AND signature = ? AND active = ?", string(kindCode), key, true).
			Update("active", false)
		if res.Error != nil {
			return nil, oauth2Error("invalidate authorization code", res.Error)
		}
		if res.RowsAffected != 1 {
			return jobOutcome(s.codeNotRedeemable(db, key))
		}
		return nil, s.insertJobRows(ctx, db, rows)
	}
}

// rotateJob is the rotation r and the insert of rows, as a job of the
// group commit's transaction (SQLite).
func (s *Store) rotateJob(r *deferredRotation, rows []oauth2Session) txJob {
	return func(ctx context.Context, db *gorm.DB) (error, error) {
		if err := s.rotateRefresh(r.ctx, db, r.key, r.requestID); err != nil {
			return jobOutcome(err)
		}
		return nil, s.insertJobRows(ctx, db, rows)
	}
}

// unchanged is the error of a statement that found nothing to change (a
// code already used, a refresh token already rotated, either unknown): it
// wrote nothing.
type unchanged struct{ error }

func (u unchanged) Unwrap() error { return u.error }

// jobOutcome sorts a job's error: the job's own when it changed nothing,
// else the batch's (the database failed, and what the job changed already
// cannot stay without the rest).
func jobOutcome(err error) (own, batch error) {
	var u unchanged
	if errors.As(err, &u) {
		return err, nil
	}
	return nil, err
}

// insertJob is the insert of rows, all or none, as a job of the group
// commit's transaction (SQLite): an authorization response's code, PKCE
// and OpenID Connect rows. Refused for the rows' own fault (their client
// deleted a moment ago), the statement changes nothing and the job fails
// alone.
func (s *Store) insertJob(rows []oauth2Session) txJob {
	return func(ctx context.Context, db *gorm.DB) (error, error) {
		err := s.execOAuth2Insert(ctx, db.Statement.ConnPool, rows)
		if err != nil && rowError(err) {
			return err, nil
		}
		return nil, err
	}
}

// insertJobRows writes a job's rows. They are of the grant whose code or
// token the job just changed, in the same transaction: of a client that
// exists, with fresh random keys, so no row of theirs can be refused for
// its own fault, and a failure is the batch's.
func (s *Store) insertJobRows(ctx context.Context, db *gorm.DB, rows []oauth2Session) error {
	if len(rows) == 0 {
		return nil
	}
	if err := s.execOAuth2Insert(ctx, db.Statement.ConnPool, rows); err != nil {
		return oauth2Error("create OAuth 2.0 rows", err)
	}
	return nil
}

// writeOAuth2Jobs is the group commit's write of a batch holding jobs
// (SQLite): one transaction that inserts the rows, each retried alone if
// their INSERT is refused for a row's fault, as groupCommit.commit does,
// then runs each job.
func (s *Store) writeOAuth2Jobs(ctx context.Context, rows []oauth2Session, jobs []txJob) (rowErrs, jobErrs []error, err error) {
	ctx = context.WithoutCancel(ctx) // as insertOAuth2Rows, for SQLite
	s.stats.add(StatementBegin)
	tx := s.gdb.WithContext(ctx).Begin()
	if tx.Error != nil {
		return nil, nil, fmt.Errorf("storage: begin: %w", mapError(tx.Error))
	}
	committed := false
	defer func() {
		if !committed {
			if tx.Rollback().Error == nil {
				s.stats.add(StatementRollback)
			}
		}
	}()
	rowErrs = make([]error, len(rows))
	if len(rows) > 0 {
		// A statement refused by a constraint changes nothing, and the
		// transaction goes on (SQLite's ABORT).
		if err := s.execOAuth2Insert(ctx, tx.Statement.ConnPool, rows); err != nil {
			if !rowError(err) {
				return nil, nil, err
			}
			for i := range rows {
				if len(rows) == 1 {
					rowErrs[i] = err
					break
				}
				if rowErrs[i] = s.execOAuth2Insert(ctx, tx.Statement.ConnPool, rows[i:i+1]); rowErrs[i] != nil && !rowError(rowErrs[i]) {
					return nil, nil, rowErrs[i]
				}
			}
		}
	}
	jobErrs = make([]error, len(jobs))
	for i, job := range jobs {
		var err error
		if jobErrs[i], err = job(ctx, tx); err != nil {
			return nil, nil, err
		}
	}
	s.stats.add(StatementCommit)
	committed = true
	if err := tx.Commit().Error; err != nil {
		return nil, nil, fmt.Errorf("storage: commit: %w", mapError(err))
	}
	return rowErrs, jobErrs, nil
}
