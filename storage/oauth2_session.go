package storage

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/oauth2"
	"github.com/ory/fosite/handler/openid"
	"github.com/ory/fosite/handler/pkce"
	fositestorage "github.com/ory/fosite/storage"
	"gorm.io/gorm"
)

// Compile-time guards: fosite's compose factories type-assert the storage at
// run time and panic on a missing method. fosite.ClientManager is not here:
// its GetClient would clash with Store.GetClient, so the oidc package wraps
// the store for it (see FositeClient).
var (
	_ oauth2.CoreStorage                 = (*Store)(nil)
	_ oauth2.TokenRevocationStorage      = (*Store)(nil)
	_ openid.OpenIDConnectRequestStorage = (*Store)(nil)
	_ pkce.PKCERequestStorage            = (*Store)(nil)
	_ fositestorage.Transactional        = (*Store)(nil)
)

// How long rows of oauth2_sessions stay before garbage collection may
// delete them (the expires_at column). expires_at is a clean-up horizon, not
// a validity check: fosite checks expiry itself, from the session, so an
// expired token keeps fosite's own error ("token expired") and a replayed
// code or refresh token is still recognised, and its grant revoked, until
// the row is collected.
const (
	// OAuth2CodeRetention is the least time a code, OpenID Connect or PKCE
	// row is kept after it is written, whatever the code's own lifetime
	// (fosite's default is 15 minutes). A redemption deactivates the code
	// and keeps its OpenID Connect and PKCE rows (the oidc package turns
	// fosite's deletes of them into no-ops), so all three go together when
	// the retention ends: a code replayed within it is still refused as used
	// and its tokens revoked (RFC 6749 §4.1.2), and a PKCE row never
	// disappears before its code (without the row fosite would accept the
	// code with no verifier).
	OAuth2CodeRetention = 24 * time.Hour
	// OAuth2AccessTokenHorizon bounds an access token whose session carries
	// no expiry (fosite then checks requested_at plus its configured
	// lifespan, which storage does not know).
	OAuth2AccessTokenHorizon = 24 * time.Hour
	// OAuth2RefreshTokenHorizon bounds a refresh token whose session carries
	// no expiry (fosite's RefreshTokenLifespan -1, "never expires"): such a
	// token is collected 90 days after it was issued unless it was used, and
	// each refresh issues a new one, so an unlimited refresh token in use
	// lives on and an abandoned one does not.
	OAuth2RefreshTokenHorizon = 90 * 24 * time.Hour
)

// oauth2Kind says which fosite request a row of oauth2_sessions holds.
type oauth2Kind string

const (
	kindCode    oauth2Kind = "code"
	kindAccess  oauth2Kind = "access"
	kindRefresh oauth2Kind = "refresh"
	kindOIDC    oauth2Kind = "oidc"
	kindPKCE    oauth2Kind = "pkce"
)

// noun names a kind in error messages.
func (k oauth2Kind) noun() string {
	switch k {
	case kindCode:
		return "authorization code"
	case kindAccess:
		return "access token"
	case kindRefresh:
		return "refresh token"
	case kindOIDC:
		return "OpenID Connect session"
	case kindPKCE:
		return "PKCE session"
	}
	return string(k)
}

// tokenType is the token whose expiry, in the session, bounds the row.
func (k oauth2Kind) tokenType() fosite.TokenType {
	switch k {
	case kindAccess:
		return fosite.AccessToken
	case kindRefresh:
		return fosite.RefreshToken
	}
	return fosite.AuthorizeCode
}

// oauth2Session is one row of oauth2_sessions: a fosite request stored under
// the key fosite names it by. It never holds a token or a code: see rowKey.
type oauth2Session struct {
	Kind              string `gorm:"primaryKey"`
	Signature         string `gorm:"primaryKey"`
	RequestID         string
	ClientID          string
	Subject           string
	RequestedAt       time.Time
	ExpiresAt         time.Time
	Active            bool
	Scopes            []string   `gorm:"serializer:json"`
	GrantedScopes     []string   `gorm:"serializer:json"`
	RequestedAudience []string   `gorm:"serializer:json"`
	GrantedAudience   []string   `gorm:"serializer:json"`
	Form              url.Values `gorm:"serializer:json"`
	// Session is the JSON of the fosite.Session, kept as text so that it
	// comes back byte for byte (and a NUL escape that jsonb would refuse
	// cannot fail a write).
	Session         string
	AccessSignature string
	RotatedAt       *time.Time
}

// TableName maps oauth2Session to its table.
func (oauth2Session) TableName() string { return "oauth2_sessions" }

// oauth2SessionClient is a row read together with its client in one
// statement (an inner join: a session is only usable with its client).
type oauth2SessionClient struct {
	Row    oauth2Session `gorm:"embedded"`
	Client Client        `gorm:"foreignKey:ClientID;references:ID"`
}

// TableName maps oauth2SessionClient to the sessions table.
func (oauth2SessionClient) TableName() string { return "oauth2_sessions" }

// secretFormKey reports whether a request parameter carries a credential, a
// token or a code, none of which is ever persisted. fosite already keeps
// only the parameters each handler needs (Request.Sanitize); this is the
// second line. What handlers read back stays: redirect_uri, response_type,
// scope, state, nonce, prompt, max_age, acr_values, code_challenge and
// code_challenge_method. Dropping id_token_hint skips fosite's token-time
// re-check of its subject; the authorize-time check (ValidatePrompt) stays.
func secretFormKey(k string) bool {
	switch k {
	case "client_secret", "client_assertion", "code_verifier", "password",
		"refresh_token", "code", "assertion", "id_token_hint",
		// Never sent to the endpoints whose requests are stored, but tokens
		// all the same (RFC 7009, RFC 7662, RFC 8693, RFC 8628).
		"token", "access_token", "subject_token", "actor_token", "device_code", "user_code":
		return true
	}
	return false
}

// sanitizeForm copies form without the parameters secretFormKey names.
func sanitizeForm(form url.Values) url.Values {
	out := make(url.Values, len(form))
	for k, v := range form {
		if !secretFormKey(k) {
			out[k] = append([]string(nil), v...)
		}
	}
	return out
}

// rowKey is the stored form of the key fosite passes: its SHA-256, in hex.
// For HMAC tokens fosite passes the signature, the half of the token that is
// an HMAC of the other; but the OpenID Connect storage gets the whole
// authorization code, and a JWT access token's signature completes a token
// whose header and claims the stored session could rebuild. Hashing every
// key keeps a reader of the database from redeeming anything, and bounds
// the key's length.
func rowKey(signature string) string {
	sum := sha256.Sum256([]byte(signature))
	return hex.EncodeToString(sum[:])
}

// expiry is the row's expires_at: the session's expiry for the kind's token,
// or the horizon above when the session has none; code-bound rows are kept
// at least OAuth2CodeRetention.
func expiry(kind oauth2Kind, sess fosite.Session, now time.Time) time.Time {
	var exp time.Time
	if sess != nil {
		exp = sess.GetExpiresAt(kind.tokenType())
	}
	switch kind {
	case kindCode, kindOIDC, kindPKCE:
		if floor := now.Add(OAuth2CodeRetention); exp.Before(floor) {
			exp = floor
		}
	case kindAccess:
		if exp.IsZero() {
			exp = now.Add(OAuth2AccessTokenHorizon)
		}
	case kindRefresh:
		if exp.IsZero() {
			exp = now.Add(OAuth2RefreshTokenHorizon)
		}
	}
	return utc(exp)
}

// createOAuth2Session stores req under (kind, rowKey(signature)), with the
// access token's key beside a refresh token (accessSignature). Every stored
// request must name its client (a foreign key: deleting the client deletes
// its rows) and carry a request ID, the family that revocation acts on.
func (s *Store) createOAuth2Session(ctx context.Context, kind oauth2Kind, signature, accessSignature string, req fosite.Requester) error {
	row, err := newOAuth2Row(kind, signature, accessSignature, req, s.now())
	if err != nil {
		return err
	}
	forgetOAuth2Row(ctx, kind, row.Signature)
	if b := batchOf(ctx); b != nil {
		b.rows = append(b.rows, row)
		return nil
	}
	if b := txInsertsOf(ctx); b != nil {
		b.rows = append(b.rows, row) // written before the commit
		return nil
	}
	if !inTx(ctx) {
		// Outside a transaction nothing else is written with the row:
		// it can share a commit with other requests' rows.
		if err := s.inserts.insert(ctx, row); err != nil {
			return oauth2Error("create "+kind.noun(), err)
		}
		return nil
	}
	if err := s.db(ctx).Create(&row).Error; err != nil {
		return oauth2Error("create "+kind.noun(), err)
	}
	return nil
}

// insertOAuth2Rows writes rows in one multi-row INSERT: the group commit's
// write. It binds the rows' values itself (oauth2Session.values, gorm's
// own encoding of them, which the seeding shares) instead of going through
// gorm's Create: the group commit's one flusher is what bounds
// client_credentials grants on SQLite, and gorm's reflection over sixteen
// columns a row took a seventh of its time. On SQLite the statement runs
// without the flush's deadline: the driver watches a cancellable context
// from a goroutine of its own for every statement, and SQLite cannot hang
// on a network (busy_timeout bounds its waits).
func (s *Store) insertOAuth2Rows(ctx context.Context, rows []oauth2Session) error {
	if s.dialect == SQLite {
		ctx = context.WithoutCancel(ctx)
	}
	return s.execOAuth2Insert(ctx, s.sqlDB, rows)
}

// execOAuth2Insert writes rows in one INSERT on pool (the store's, or a
// transaction's connection), counted as one create statement.
func (s *Store) execOAuth2Insert(ctx context.Context, pool gorm.ConnPool, rows []oauth2Session) error {
	args, err := oauth2Values(rows)
	if err != nil {
		return err
	}
	s.stats.add(StatementCreate)
	if _, err := pool.ExecContext(ctx, s.oauth2Insert(len(rows)), args...); err != nil {
		return mapError(err)
	}
	return nil
}

// oauth2Values is the bound values of rows, row after row, in
// oauth2Columns' order.
func oauth2Values(rows []oauth2Session) ([]any, error) {
	args := make([]any, 0, len(rows)*len(oauth2Columns))
	for i := range rows {
		v, err := rows[i].values()
		if err != nil {
			return nil, fmt.Errorf("storage: encode OAuth 2.0 row: %w", err)
		}
		args = append(args, v...)
	}
	return args, nil
}

// oauth2Insert is the INSERT of n OAuth 2.0 rows in the store's dialect,
// built once per n.
func (s *Store) oauth2Insert(n int) string {
	if n < len(s.insertSQL) {
		if q := s.insertSQL[n].Load(); q != nil {
			return *q
		}
	}
	q := s.dialect.Rebind(multiRowInsert("oauth2_sessions", oauth2Columns, n))
	if n < len(s.insertSQL) {
		s.insertSQL[n].Store(&q)
	}
	return q
}

// newOAuth2Row is the row createOAuth2Session writes (and the bulk insert
// of seed.go, so seeded rows are exactly what the server writes).
func newOAuth2Row(kind oauth2Kind, signature, accessSignature string, req fosite.Requester, now time.Time) (oauth2Session, error) {
	if req == nil || req.GetClient() == nil || req.GetID() == "" || signature == "" {
		return oauth2Session{}, fmt.Errorf("storage: create %s: a signature, a request ID and a client are required", kind.noun())
	}
	sess := req.GetSession()
	row := oauth2Session{
		Kind:              string(kind),
		Signature:         rowKey(signature),
		RequestID:         req.GetID(),
		ClientID:          req.GetClient().GetID(),
		RequestedAt:       utc(req.GetRequestedAt()),
		ExpiresAt:         expiry(kind, sess, now),
		Active:            true,
		Scopes:            nonNil(req.GetRequestedScopes()),
		GrantedScopes:     nonNil(req.GetGrantedScopes()),
		RequestedAudience: nonNil(req.GetRequestedAudience()),
		GrantedAudience:   nonNil(req.GetGrantedAudience()),
		Form:              sanitizeForm(req.GetRequestForm()),
		Session:           "{}",
	}
	if accessSignature != "" {
		row.AccessSignature = rowKey(accessSignature)
	}
	if req.GetRequestedAt().IsZero() {
		row.RequestedAt = now
	}
	if sess != nil {
		row.Subject = sess.GetSubject()
		b, err := json.Marshal(sess)
		if err != nil {
			return oauth2Session{}, fmt.Errorf("storage: create %s: encode session: %w", kind.noun(), err)
		}
		row.Session = string(b)
	}
	return row, nil
}

// getOAuth2Session loads the row and its client in one statement and fills
// session (which may be nil: fosite's revocation handler passes none) from
// the stored JSON. An inactive row comes back with the requester and the
// error fosite expects: ErrInvalidatedAuthorizeCode for a used code,
// ErrInactiveToken for a rotated or revoked refresh token.
func (s *Store) getOAuth2Session(ctx context.Context, kind oauth2Kind, signature string, session fosite.Session) (fosite.Requester, error) {
	row, err := s.loadOAuth2Row(ctx, kind, rowKey(signature))
	if err != nil {
		return nil, oauth2Error(kind.noun(), err)
	}
	req, err := row.requester(session)
	if err != nil {
		return nil, fmt.Errorf("storage: %s: %w", kind.noun(), err)
	}
	if !row.Row.Active {
		if kind == kindCode {
			return req, fmt.Errorf("storage: %s: %w", kind.noun(), fosite.ErrInvalidatedAuthorizeCode)
		}
		return req, fmt.Errorf("storage: %s: %w", kind.noun(), fosite.ErrInactiveToken)
	}
	return req, nil
}

// loadOAuth2Row reads one row and its client: from ctx's code memo when it
// knows the row (see WithCodeMemo), else from the database, in one
// statement that, with a memo, reads the code's PKCE and OpenID Connect
// rows too. None is ErrNotFound.
func (s *Store) loadOAuth2Row(ctx context.Context, kind oauth2Kind, key string) (*oauth2SessionClient, error) {
	m := codeMemoOf(ctx)
	if m != nil && memoised(kind) {
		if row, known := m.get(memoKey{kind, key}); known {
			if row == nil {
				return nil, ErrNotFound
			}
			return row, nil
		}
		if kind == kindCode || kind == kindPKCE {
			rows, err := s.loadCodeFamily(ctx, key)
			if err != nil {
				return nil, err
			}
			m.putFamily(key, rows)
			if row, _ := m.get(memoKey{kind, key}); row != nil {
				return row, nil
			}
			return nil, ErrNotFound
		}
	}
	if resolve := s.clientResolver.Load(); resolve != nil {
		// The client from the resolver (a cache): the row alone is
		// read, without the join's twenty-odd client columns. A client
		// the resolver does not know is no row, as with the join.
		// Access tokens outside a transaction may come from memory
		// (tokencache.go).
		cache := s.tokens.Load()
		if kind != kindAccess || inTx(ctx) {
			cache = nil
		}
		var gen uint64
		if cache != nil {
			if row, created, ok := cache.get(key, s.now()); ok {
				c, err := (*resolve)(ctx, row.ClientID)
				if err != nil {
					return nil, err
				}
				if c.CreatedAt.Equal(created) {
					return &oauth2SessionClient{Row: row, Client: *c}, nil
				}
			}
			gen = cache.generation()
		}
		db, err := s.oauth2Reader(ctx)
		if err != nil {
			return nil, err
		}
		var row oauth2Session
		if err := db.Where("kind = ? AND signature = ?", string(kind), key).Take(&row).Error; err != nil {
			return nil, err
		}
		c, err := (*resolve)(ctx, row.ClientID)
		if err != nil {
			return nil, err
		}
		if cache != nil {
			cache.put(key, &row, c.CreatedAt, gen, s.now())
		}
		return &oauth2SessionClient{Row: row, Client: *c}, nil
	}
	db, err := s.oauth2Reader(ctx)
	if err != nil {
		return nil, err
	}
	var row oauth2SessionClient
	err = db.InnerJoins("Client").
		Where("oauth2_sessions.kind = ? AND oauth2_sessions.signature = ?", string(kind), key).
		Take(&row).Error
	if err != nil {
		return nil, err
	}
	return &row, nil
}

// ClientResolver returns a client by ID, as Store.GetClient does (a
// missing client is ErrNotFound); typically from a cache. The returned
// client is shared: the store copies it before use.
type ClientResolver func(ctx context.Context, id string) (*Client, error)

// ResolveClientsWith makes token reads take their client from resolve
// instead of joining the clients table: the token, introspection and
// userinfo endpoints read a token on every request, and its client is
// almost always one they have just authenticated. The clients table is
// still the source: resolve must see a changed or deleted client as soon
// as Store.GetClient would, or as soon as its cache is told (the oidc
// package's client cache is, on every instance, through the hot state's
// broadcast; without one a changed client is seen when its entry expires,
// a minute at most, while a deleted one takes its tokens with it at once
// by the foreign key). Call it before serving.
func (s *Store) ResolveClientsWith(resolve ClientResolver) {
	s.clientResolver.Store(&resolve)
}

// requester rebuilds the fosite request, its Session being session filled
// from the stored JSON.
func (r *oauth2SessionClient) requester(session fosite.Session) (*fosite.Request, error) {
	row := &r.Row
	if session != nil {
		if err := json.Unmarshal([]byte(row.Session), session); err != nil {
			return nil, fmt.Errorf("decode session into %T: %w", session, err)
		}
	}
	normalizeClient(&r.Client)
	form := row.Form
	if form == nil {
		form = url.Values{}
	}
	return &fosite.Request{
		ID:                row.RequestID,
		RequestedAt:       utc(row.RequestedAt),
		Client:            NewFositeClient(&r.Client),
		RequestedScope:    fosite.Arguments(nonNil(row.Scopes)),
		GrantedScope:      fosite.Arguments(nonNil(row.GrantedScopes)),
		RequestedAudience: fosite.Arguments(nonNil(row.RequestedAudience)),
		GrantedAudience:   fosite.Arguments(nonNil(row.GrantedAudience)),
		Form:              form,
		Session:           session,
	}, nil
}

// deleteOAuth2Session removes one row; a missing row is ErrNotFound.
func (s *Store) deleteOAuth2Session(ctx context.Context, kind oauth2Kind, signature string) error {
	db, err := s.oauth2DB(ctx)
	if err != nil {
		return err
	}
	forgetOAuth2Row(ctx, kind, rowKey(signature))
	res := db.Where("kind = ? AND signature = ?", string(kind), rowKey(signature)).Delete(&oauth2Session{})
	if kind == kindAccess {
		s.forgetAccess(ctx, "k "+rowKey(signature))
	}
	if res.Error != nil {
		return oauth2Error("delete "+kind.noun(), res.Error)
	}
	if res.RowsAffected == 0 {
		return oauth2Error(kind.noun(), ErrNotFound)
	}
	return nil
}

// oauth2Error maps err (see mapError) and adds the fosite sentinel fosite
// tests with errors.Is: fosite.ErrNotFound beside ErrNotFound, and
// fosite.ErrSerializationFailure beside ErrConflict (a lost race, which
// fosite answers with "retry" rather than a server error).
func oauth2Error(what string, err error) error {
	err = mapError(err)
	switch {
	case errors.Is(err, ErrNotFound):
		return fmt.Errorf("storage: %s: %w: %w", what, fosite.ErrNotFound, err)
	case errors.Is(err, ErrConflict):
		return fmt.Errorf("storage: %s: %w: %w", what, fosite.ErrSerializationFailure, err)
	}
	return fmt.Errorf("storage: %s: %w", what, err)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
