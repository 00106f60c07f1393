package oidc

import (
	"context"
	"errors"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/oauth2"
	"github.com/ory/fosite/handler/openid"
	"github.com/ory/fosite/handler/pkce"

	"github.com/madfam-org/janua/storage"
)

// Store is the persistence the provider consumes: fosite's request storage
// (implemented by storage.Store), clients, flows, users and consent.
type Store interface {
	oauth2.CoreStorage
	oauth2.TokenRevocationStorage
	openid.OpenIDConnectRequestStorage
	pkce.PKCERequestStorage
	BeginTX(ctx context.Context) (context.Context, error)
	Commit(ctx context.Context) error
	Rollback(ctx context.Context) error

	GetClient(ctx context.Context, id string) (*storage.Client, error)
	GetUser(ctx context.Context, id string) (*storage.User, error)
	CreateFlow(ctx context.Context, f *storage.Flow) error
	GetFlow(ctx context.Context, id string) (*storage.Flow, error)
	AdvanceFlow(ctx context.Context, f *storage.Flow, from storage.FlowState) error
	RecordAuditEvent(ctx context.Context, e *storage.AuditEvent) error
	RevokeBrowserSessionBySID(ctx context.Context, sid string) (userID string, err error)
	BatchOAuth2Inserts(ctx context.Context, fn func(ctx context.Context) error) error
	HandedOffCodeUsed(ctx context.Context) (requestID string, used bool, err error)
	RevokeTokenID(ctx context.Context, jti, clientID string, expiresAt time.Time) error
	TokenIDRevoked(ctx context.Context, jti string) (bool, error)
}

var _ Store = (*storage.Store)(nil)

// fositeStore is what fosite sees: the store, plus fosite.ClientManager
// (clients through the cache; client-assertion jti replay through the hot
// state, shared by every instance).
type fositeStore struct {
	Store
	clients *clientCache
	hot     storage.HotState
}

var (
	_ fosite.Storage                     = (*fositeStore)(nil)
	_ oauth2.CoreStorage                 = (*fositeStore)(nil)
	_ oauth2.TokenRevocationStorage      = (*fositeStore)(nil)
	_ openid.OpenIDConnectRequestStorage = (*fositeStore)(nil)
	_ pkce.PKCERequestStorage            = (*fositeStore)(nil)
)

// GetClient returns the client for fosite, or fosite.ErrNotFound.
func (s *fositeStore) GetClient(ctx context.Context, id string) (fosite.Client, error) {
	c, err := s.clients.get(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, fosite.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return fositeClientFor(ctx, c), nil
}

// CreateAccessTokenSession stores the request behind an access token,
// except a stateless one's (statelessjwt.go): that token carries it.
func (s *fositeStore) CreateAccessTokenSession(ctx context.Context, signature string, req fosite.Requester) error {
	if stateless(req) {
		return nil
	}
	return s.Store.CreateAccessTokenSession(ctx, signature, req)
}

// DeletePKCERequestSession keeps a code's PKCE request; garbage collection
// removes it with the code's other rows. fosite deletes it before it
// compares the verifier, and reads a missing one as "issued without PKCE":
// after one wrong code_verifier, a code issued for a challenge would then
// be redeemed with no verifier at all — the downgrade PKCE exists to stop
// (RFC 9700 §4.8.2). A used code is refused by its own record, so the PKCE
// request outliving the redemption grants nothing.
func (s *fositeStore) DeletePKCERequestSession(context.Context, string) error { return nil }

// DeleteOpenIDConnectSession keeps a code's OpenID Connect request, like
// its PKCE request: garbage collection removes both with the code (see
// storage.OAuth2CodeRetention), and the redemption saves a statement.
// fosite reads the request only at the token endpoint, after the same
// request redeemed the code (its explicit handler answers before the
// OpenID Connect one, and stops the request when the code was already
// used), so a kept request cannot issue a second ID token: a replayed code
// is refused, and its tokens revoked, by its own record (RFC 6749 §4.1.2).
// The code's row holds the same session, so keeping it stores nothing new.
func (s *fositeStore) DeleteOpenIDConnectSession(context.Context, string) error { return nil }

// ClientAssertionJWTValid lets every assertion through to
// SetClientAssertionJWT, which fosite calls after verifying the signature and
// which is the one atomic check: a second marker kept only to answer here
// earlier would cost a hot-state read and write on every assertion.
func (s *fositeStore) ClientAssertionJWTValid(context.Context, string) error { return nil }

// SetClientAssertionJWT marks jti used until exp: exactly one of any number
// of concurrent presentations, on any instance, passes (RFC 7523 §3 item 7).
func (s *fositeStore) SetClientAssertionJWT(ctx context.Context, jti string, exp time.Time) error {
	ttl := time.Until(exp)
	if ttl < time.Second {
		ttl = time.Second
	}
	first, err := s.hot.MarkUsed(ctx, "jti:"+jti, ttl)
	if err != nil {
		return fosite.ErrServerError.WithWrap(err)
	}
	if !first {
		return fosite.ErrJTIKnown
	}
	return nil
}
