package storage

import (
	"context"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
)

// A refresh token rotated in one statement.
//
// fosite's refresh (RFC 6749 §6) rotates the used refresh token (RFC 9700
// §4.14.2), stores the new access and refresh tokens and commits in one
// transaction, reading nothing back in between: sent as they come, BEGIN,
// the rotation, the INSERT and COMMIT are four round trips on PostgreSQL.
// As with a code's redemption (oauth2_redeem.go), the rotation waits for
// the commit, and the commit sends it with the rows as one data-modifying
// WITH that inserts them only if the token was still active. A racing
// second refresh of the same token waits on the first's row lock, then
// finds the token inactive and stores nothing; its error (ErrConflict with
// fosite.ErrSerializationFailure) now comes from the commit, which fosite
// answers exactly as it answers the rotation's (a "retry" invalid_request).
// On SQLite, without a data-modifying WITH, the rotation is a job of the
// group commit's transaction instead (oauth2_redeem.go).

// deferredRotation is a refresh token's rotation waiting for the commit.
type deferredRotation struct {
	key, requestID string
	ctx            context.Context // RotateRefreshToken's: its after-commit hooks
}

// deferRotation records the rotation of the refresh token with row key key
// in ctx's transaction, when the transaction has not begun and holds no
// other deferred work, and reports whether it did. On SQLite the commit
// hands it to the group commit (oauth2_redeem.go).
func (s *Store) deferRotation(ctx context.Context, key, requestID string) bool {
	t := txOf(ctx)
	if t == nil || t.db != nil || t.done || t.invalidate != "" || t.rotate != nil {
		return false
	}
	t.rotate = &deferredRotation{key: key, requestID: requestID, ctx: ctx}
	return true
}

// rotateRefresh rotates the refresh token with row key key of requestID
// now, through db (a transaction).
func (s *Store) rotateRefresh(ctx context.Context, db *gorm.DB, key, requestID string) error {
	var accessSignatures []string
	var err error
	if s.dialect == Postgres {
		q, vars, _ := rotateStatement(key, requestID, s.now(), nil)
		err = db.Raw(q, vars...).Find(&accessSignatures).Error
	} else {
		err = db.Raw(`UPDATE oauth2_sessions SET active = ?, rotated_at = ?
				WHERE kind = ? AND signature = ? AND request_id = ? AND active = ?
				RETURNING access_signature`,
			false, s.now(), string(kindRefresh), key, requestID, true).Find(&accessSignatures).Error
	}
	if err != nil {
		return oauth2Error("rotate refresh token", err)
	}
	s.forgetRotated(ctx, requestID, accessSignatures)
	if len(accessSignatures) == 0 {
		return s.refreshNotRotatable(db, key, requestID)
	}
	if s.dialect == Postgres {
		return nil // the access token went with the rotation
	}
	q := db.Where("kind = ? AND signature = ?", string(kindAccess), accessSignatures[0])
	if accessSignatures[0] == "" {
		q = db.Where("kind = ? AND request_id = ?", string(kindAccess), requestID)
	}
	if err := q.Delete(&oauth2Session{}).Error; err != nil {
		return oauth2Error("rotate refresh token: delete its access token", err)
	}
	return nil
}

// forgetRotated drops the access tokens a rotation deleted from the access
// token cache (tokencache.go).
func (s *Store) forgetRotated(ctx context.Context, requestID string, accessSignatures []string) {
	for _, a := range accessSignatures {
		if a == "" {
			s.forgetAccess(ctx, "r "+requestID)
		} else {
			s.forgetAccess(ctx, "k "+a)
		}
	}
}

// refreshNotRotatable says why a rotation changed nothing: no such token of
// that request (ErrNotFound), or a token no longer active (ErrConflict).
func (s *Store) refreshNotRotatable(db *gorm.DB, key, requestID string) error {
	var n int64
	if err := db.Model(&oauth2Session{}).
		Where("kind = ? AND signature = ? AND request_id = ?", string(kindRefresh), key, requestID).
		Count(&n).Error; err != nil {
		return oauth2Error("rotate refresh token", err)
	}
	if n == 0 {
		return unchanged{oauth2Error(kindRefresh.noun(), ErrNotFound)}
	}
	return unchanged{oauth2Error("rotate refresh token: already rotated or revoked", ErrConflict)}
}

// commitRotation commits a transaction that never began and holds the
// deferred rotation r and rows: one statement. ok is false, having done
// nothing, when the rows cannot be put in it (the caller then begins a
// transaction, which runs the rotation first).
func (s *Store) commitRotation(ctx context.Context, r *deferredRotation, rows []oauth2Session) (ok bool, err error) {
	q, vars, ok := rotateStatement(r.key, r.requestID, s.now(), rows)
	if !ok {
		return false, nil
	}
	var accessSignatures []string
	if err := s.gdb.WithContext(ctx).Raw(q, vars...).Find(&accessSignatures).Error; err != nil {
		return true, oauth2Error("rotate refresh token", err)
	}
	s.forgetRotated(r.ctx, r.requestID, accessSignatures)
	if len(accessSignatures) == 0 {
		return true, s.refreshNotRotatable(s.gdb.WithContext(ctx), r.key, r.requestID)
	}
	return true, nil
}

// rotateStatement is the PostgreSQL statement that rotates the refresh
// token with row key key of requestID, deletes the access token issued
// with it and, only if it rotated, inserts rows; it returns the deleted
// access token's key (empty for "every access token of the request"), or no
// row when nothing rotated:
//
//	WITH rotated AS (UPDATE … WHERE kind = 'refresh' AND signature = $1 AND active
//	                 AND request_id IS NOT DISTINCT FROM $3 RETURNING access_signature, request_id),
//	     gone AS (DELETE … the access token by key), gone_all AS (DELETE … by request),
//	     r0 AS (INSERT INTO oauth2_sessions (…) SELECT $4::text, … FROM rotated), …
//	SELECT access_signature FROM rotated
//
// The row is found by its primary key alone: pgx runs statements prepared,
// and PostgreSQL's generic plan for "request_id = $3" took the request_id
// index, reading every refresh token the family ever had (hundreds for a
// busy one); IS NOT DISTINCT FROM, the same test on a NOT NULL column, is
// no index condition. The kinds are literals, and the two deletions are
// apart, each conditioned on the rotated row alone, so that only one runs.
func rotateStatement(key, requestID string, now time.Time, rows []oauth2Session) (q string, vars []any, ok bool) {
	var b strings.Builder
	b.WriteString(`WITH rotated AS (UPDATE oauth2_sessions SET active = false, rotated_at = $2 WHERE kind = '`)
	b.WriteString(string(kindRefresh))
	b.WriteString(`' AND signature = $1 AND active AND request_id IS NOT DISTINCT FROM $3::text RETURNING access_signature, request_id),
		gone AS (DELETE FROM oauth2_sessions a USING rotated WHERE rotated.access_signature <> '' AND a.kind = '`)
	b.WriteString(string(kindAccess))
	b.WriteString(`' AND a.signature = rotated.access_signature),
		gone_all AS (DELETE FROM oauth2_sessions a USING rotated WHERE rotated.access_signature = '' AND a.kind = '`)
	b.WriteString(string(kindAccess))
	b.WriteString(`' AND a.request_id = rotated.request_id)`)
	vals, ok := appendDeferredInserts(&b, "rotated", 4, rows)
	if !ok {
		return "", nil, false
	}
	b.WriteString(` SELECT access_signature FROM rotated`)
	return b.String(), append([]any{key, now, requestID}, vals...), true
}

// appendDeferredInserts writes ", rN AS (INSERT INTO oauth2_sessions (…)
// SELECT $n::type, … FROM from)" for each row, numbering parameters from
// first, and returns their values. ok is false when a row cannot be encoded
// or a column's type is not known.
func appendDeferredInserts(b *strings.Builder, from string, first int, rows []oauth2Session) (vals []any, ok bool) {
	if len(rows) == 0 {
		return nil, true
	}
	vals, err := oauth2Values(rows)
	if err != nil {
		return nil, false
	}
	for _, c := range oauth2Columns {
		if pgColumnTypes[c] == "" {
			return nil, false
		}
	}
	cols := strings.Join(oauth2Columns, ", ")
	n := first
	for r := range rows {
		b.WriteString(`, r` + strconv.Itoa(r) + ` AS (INSERT INTO oauth2_sessions (` + cols + `) SELECT `)
		for i, c := range oauth2Columns {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString("$" + strconv.Itoa(n) + "::" + pgColumnTypes[c])
			n++
		}
		b.WriteString(` FROM ` + from + `)`)
	}
	return vals, true
}
