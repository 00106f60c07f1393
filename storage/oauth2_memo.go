package storage

import (
	"context"
	"errors"
	"maps"
	"net/url"
	"slices"
	"sync"
)

// At the token endpoint fosite reads the rows of one authorization code
// three or four times: the code (twice: once to check the request, once to
// answer it), its PKCE challenge, and its OpenID Connect request, each
// through its own storage call. A code memo answers them with one
// statement: the first read of the code (or of its PKCE row) loads every
// row bound to the code, the later reads are served from memory.
//
// A memo lives in one request's context (WithCodeMemo) and holds nothing
// that a write of the same request has since changed: every write of a
// code-bound row through the store drops that row from the memo, so the
// next read goes to the database again. What it serves is therefore what
// the database held at the request's first read, as when fosite's reads
// each ran outside a transaction: the single-use check of a code does not
// rely on them but on InvalidateAuthorizeCodeSession, one conditional
// UPDATE in fosite's transaction (RFC 6749 §4.1.2).

// codeMemoKey carries a request's *codeMemo.
type codeMemoKey struct{}

// memoKey names a row as the table does: its kind and stored key.
type memoKey struct {
	kind oauth2Kind
	key  string
}

// codeMemo holds code-bound rows read during one request. A nil row means
// the database has none under that key.
type codeMemo struct {
	mu   sync.Mutex
	rows map[memoKey]*oauth2SessionClient
	// handedOff is the row key of a code whose rows came from the code
	// handoff, not the database (codehandoff.go).
	handedOff string
}

// markHandedOff records that the rows of the code under key came from the
// code handoff.
func (m *codeMemo) markHandedOff(key string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.handedOff = key
}

// WithCodeMemo returns a context in which the reads of an authorization
// code's rows (the code, its PKCE challenge and its OpenID Connect
// request) are memoised: one statement for all of them. Use it for one
// request (the token endpoint), never for longer: rows changed by another
// request are not seen once memoised.
func WithCodeMemo(ctx context.Context) context.Context {
	if codeMemoOf(ctx) != nil {
		return ctx
	}
	return context.WithValue(ctx, codeMemoKey{}, &codeMemo{rows: map[memoKey]*oauth2SessionClient{}})
}

// codeMemoOf returns ctx's memo, or nil.
func codeMemoOf(ctx context.Context) *codeMemo {
	m, _ := ctx.Value(codeMemoKey{}).(*codeMemo)
	return m
}

// memoised reports whether kind's rows are kept in a memo.
func memoised(kind oauth2Kind) bool {
	return kind == kindCode || kind == kindPKCE || kind == kindOIDC
}

// get returns a copy of the memoised row (nil: known to be absent) and
// whether the memo knows the key at all.
func (m *codeMemo) get(k memoKey) (*oauth2SessionClient, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	row, ok := m.rows[k]
	if !ok || row == nil {
		return nil, ok
	}
	c := row.clone()
	return &c, true
}

// putFamily records the rows read for the code or PKCE key: every row
// found under its own key, and the code and PKCE rows as absent when the
// read found none (they share the code's key).
func (m *codeMemo) putFamily(key string, rows []oauth2SessionClient) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, kind := range []oauth2Kind{kindCode, kindPKCE} {
		m.rows[memoKey{kind, key}] = nil
	}
	for i := range rows {
		row := rows[i].clone()
		m.rows[memoKey{oauth2Kind(row.Row.Kind), row.Row.Signature}] = &row
	}
}

// forget drops a row that a write changed (or may have changed).
func (m *codeMemo) forget(k memoKey) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.rows, k)
}

// reset drops every row (a write whose rows the memo cannot name).
func (m *codeMemo) reset() {
	m.mu.Lock()
	defer m.mu.Unlock()
	clear(m.rows)
}

// forgetOAuth2Row drops (kind, key) from ctx's memo, if any.
func forgetOAuth2Row(ctx context.Context, kind oauth2Kind, key string) {
	if m := codeMemoOf(ctx); m != nil && memoised(kind) {
		m.forget(memoKey{kind, key})
	}
}

// clone copies the row with its own slices and form, so that a caller
// changing the request it builds from one copy cannot change the next.
func (r oauth2SessionClient) clone() oauth2SessionClient {
	c := r
	c.Row.Scopes = slices.Clone(r.Row.Scopes)
	c.Row.GrantedScopes = slices.Clone(r.Row.GrantedScopes)
	c.Row.RequestedAudience = slices.Clone(r.Row.RequestedAudience)
	c.Row.GrantedAudience = slices.Clone(r.Row.GrantedAudience)
	if r.Row.Form != nil {
		c.Row.Form = make(url.Values, len(r.Row.Form))
		for k, v := range maps.All(r.Row.Form) {
			c.Row.Form[k] = slices.Clone(v)
		}
	}
	return c
}

// loadCodeFamily reads, in one statement, every code, PKCE and OpenID
// Connect row of the authorization request whose code or PKCE row is
// stored under key: they share fosite's request ID (the OpenID Connect row
// is keyed by the whole code, which storage is never given at this point).
// Each row comes with its client, as getOAuth2Session reads it.
func (s *Store) loadCodeFamily(ctx context.Context, key string) ([]oauth2SessionClient, error) {
	db, err := s.oauth2Reader(ctx)
	if err != nil {
		return nil, err
	}
	// The request ID comes from the key (primary key), then the family by
	// request_id alone, its index being the only one that fits: with a
	// kind condition too, PostgreSQL's planner, whose statistics may say
	// that codes are rare (right after an ANALYZE of a table of tokens),
	// scanned every code, PKCE and OpenID Connect row of the table by the
	// primary key for each redemption. The rows of other kinds under the
	// request ID (tokens of a replayed code) are dropped here.
	id := db.Model(&oauth2Session{}).Select("request_id").
		Where("kind IN ? AND signature = ?", []string{string(kindCode), string(kindPKCE)}, key).Limit(1)
	var rows []oauth2SessionClient
	if resolve := s.clientResolver.Load(); resolve != nil {
		// The client from the resolver (a cache), as loadOAuth2Row
		// takes it: the rows alone, without the join's twenty-odd client
		// columns three times over. A client it does not know is no row.
		// A code this instance just issued comes from the handoff
		// (codehandoff.go), without a statement.
		if rows, ok, err := s.handoff.take(ctx, key, *resolve, s.now()); err != nil || ok {
			if m := codeMemoOf(ctx); ok && m != nil {
				m.markHandedOff(key)
			}
			return rows, err
		}
		var plain []oauth2Session
		if err := db.Where("request_id = (?)", id).Find(&plain).Error; err != nil {
			return nil, err
		}
		for _, r := range plain {
			if !memoised(oauth2Kind(r.Kind)) {
				continue
			}
			c, err := (*resolve)(ctx, r.ClientID)
			if errors.Is(err, ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, err
			}
			rows = append(rows, oauth2SessionClient{Row: r, Client: *c})
		}
		return rows, nil
	}
	err = db.InnerJoins("Client").
		Where("oauth2_sessions.request_id = (?)", id).
		Find(&rows).Error
	family := rows[:0]
	for _, r := range rows {
		if memoised(oauth2Kind(r.Row.Kind)) {
			family = append(family, r)
		}
	}
	return family, err
}
