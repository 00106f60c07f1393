package oidc

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/ory/fosite"
	fositejwt "github.com/ory/fosite/token/jwt"

	"github.com/madfam-org/janua/storage"
)

// Client credentials JWT access tokens without a row.
//
// An access token of the client_credentials grant (RFC 6749 §4.4) has no
// user, no refresh token and no family: nothing revokes it but its own
// revocation (RFC 7009) or the deletion of its client. When the client
// asked for RFC 9068 JWTs, the token itself says all the server would
// store, signed: it is issued without a row (fositeStore.
// CreateAccessTokenSession), as Keycloak and Auth0 issue theirs, and
// introspection (RFC 7662), userinfo and revocation read it from its
// claims:
//
//   - the signature with a published key (jwsSigner.Decode: kid, the key's
//     own alg), "typ" at+jwt (RFC 9068 §4: an ID token is not an access
//     token), this issuer, not expired;
//   - its client still registered, and registered before the token was
//     issued (a client deleted and created again with the same ID does not
//     inherit its tokens);
//   - its "jti" not revoked: a revocation records the jti in the database
//     until the token expires (storage/revokedtoken.go), so that every
//     instance sees it and it outlives a restart; the check fails closed
//     when the database cannot answer.
//
// Such tokens carry "gty": "client_credentials" (the claim Auth0 names
// the grant with), by which they are told from the JWT access tokens of
// users, which keep their rows (a user's tokens are revoked by family, by
// user and on password reset). A token whose "gty" was added by anyone
// else fails its signature.
//
// What this spares: the row's insert, about half the server's and the
// database's work of a grant (cc-jwt-es256 in docs/performance.md). What
// it costs: introspecting such a token reads the revocations (one indexed
// query) instead of the row.

// claimGrantType names the grant a stateless access token was issued by.
const claimGrantType = "gty"

// clockLeeway is how far apart the clocks of the instance that issued a
// stateless token and of the process that created its client may be, in
// seconds.
const clockLeeway = 5

// stateless reports whether the access token of req is issued without a
// row: a JWT that says it is of the client_credentials grant (token.go
// marks it so).
func stateless(req fosite.Requester) bool {
	s, ok := req.GetSession().(*Session)
	return ok && s.AccessTokenAlg != "" && s.AccessTokenExtra[claimGrantType] == GrantClientCredentials
}

// statelessJWT introspects and revokes stateless access tokens, and hands
// every other token to fosite's own handlers (next).
type statelessJWT struct {
	verifier *jwsSigner
	clients  *clientCache
	store    Store
	issuer   string
}

// statelessClaims are the claims a stateless token is read by.
type statelessClaims struct {
	GrantType string          `json:"gty"`
	ClientID  string          `json:"client_id"`
	JTI       string          `json:"jti"`
	Issuer    string          `json:"iss"`
	Scope     string          `json:"scope"`
	Audience  json.RawMessage `json:"aud"`
	IssuedAt  int64           `json:"iat"`
	Expires   int64           `json:"exp"`
}

// claimsOf reads a compact JWS's claims without verifying it, and says
// whether they are a stateless token's: only to route the token, never to
// trust it.
func claimsOf(token string) (statelessClaims, bool) {
	var cl statelessClaims
	if !isJWT(token) {
		return cl, false
	}
	first := strings.IndexByte(token, '.')
	last := strings.LastIndexByte(token, '.')
	payload, err := base64.RawURLEncoding.DecodeString(token[first+1 : last])
	if err != nil || json.Unmarshal(payload, &cl) != nil {
		return cl, false
	}
	return cl, cl.GrantType == GrantClientCredentials
}

// verify checks a stateless token, whose claims claimsOf read, as the
// package comment says, except the revocation, and returns its client. The
// claims are the token's own bytes, which the signature then covers.
func (v *statelessJWT) verify(ctx context.Context, token string, cl statelessClaims) (*storage.Client, error) {
	t, err := v.verifier.Decode(ctx, token)
	if err != nil {
		var ve *fositejwt.ValidationError
		if errors.As(err, &ve) && ve.Has(fositejwt.ValidationErrorExpired) {
			return nil, fosite.ErrTokenExpired
		}
		return nil, fosite.ErrTokenSignatureMismatch
	}
	if typ, _ := t.Header["typ"].(string); !strings.EqualFold(typ, "at+jwt") {
		return nil, fosite.ErrRequestUnauthorized.WithHint("The token is not an access token.")
	}
	if cl.Issuer != v.issuer || cl.JTI == "" || cl.ClientID == "" || cl.Expires == 0 {
		return nil, fosite.ErrTokenClaim
	}
	client, err := v.clients.get(ctx, cl.ClientID)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, fosite.ErrRequestUnauthorized.WithHint("The token's client no longer exists.")
	}
	if err != nil {
		return nil, fosite.ErrTemporarilyUnavailable.WithWrap(err)
	}
	// A few seconds' leeway: the client may have been created by a
	// process whose clock runs ahead of this one's.
	if cl.IssuedAt+clockLeeway < client.CreatedAt.Unix() {
		return nil, fosite.ErrRequestUnauthorized.WithHint("The token predates its client.")
	}
	return client, nil
}

// introspector routes stateless tokens to statelessJWT and every other to
// fosite's core validator.
type introspector struct {
	*statelessJWT
	next fosite.TokenIntrospector
}

// IntrospectToken implements fosite.TokenIntrospector.
func (i *introspector) IntrospectToken(ctx context.Context, token string, use fosite.TokenUse, ar fosite.AccessRequester, scopes []string) (fosite.TokenUse, error) {
	cl, ok := claimsOf(token)
	if !ok {
		return i.next.IntrospectToken(ctx, token, use, ar, scopes)
	}
	client, err := i.verify(ctx, token, cl)
	if err != nil {
		return "", err
	}
	if revoked, err := i.store.TokenIDRevoked(ctx, cl.JTI); err != nil {
		return "", fosite.ErrTemporarilyUnavailable.WithWrap(err)
	} else if revoked {
		return "", fosite.ErrInactiveToken.WithHint("The token was revoked.")
	}
	granted := fosite.Arguments(strings.Fields(cl.Scope))
	for _, s := range scopes {
		if !fosite.ExactScopeStrategy(granted, s) {
			return "", fosite.ErrInvalidScope.WithHintf("The token was not granted scope %q.", s)
		}
	}
	sess := newSession()
	sess.ClientID = client.ID
	sess.Subject = client.ID
	sess.AccessTokenAlg = accessTokenAlg(client)
	sess.SetExpiresAt(fosite.AccessToken, time.Unix(cl.Expires, 0).UTC())
	req := &fosite.Request{
		ID:                cl.JTI,
		RequestedAt:       time.Unix(cl.IssuedAt, 0).UTC(),
		Client:            fositeClientFor(ctx, client),
		RequestedScope:    granted,
		GrantedScope:      granted,
		RequestedAudience: audienceOf(cl.Audience),
		GrantedAudience:   audienceOf(cl.Audience),
		Form:              map[string][]string{},
		Session:           sess,
	}
	ar.Merge(req)
	return fosite.AccessToken, nil
}

// audienceOf reads "aud", a string or an array of strings (RFC 7519 §4.1.3).
func audienceOf(raw json.RawMessage) fosite.Arguments {
	if len(raw) == 0 {
		return fosite.Arguments{}
	}
	var many []string
	if json.Unmarshal(raw, &many) == nil {
		return many
	}
	var one string
	if json.Unmarshal(raw, &one) == nil && one != "" {
		return fosite.Arguments{one}
	}
	return fosite.Arguments{}
}

// revoker revokes stateless tokens by their jti and hands every other
// token to fosite's revocation handler.
type revoker struct {
	*statelessJWT
	next fosite.RevocationHandler
}

// RevokeToken implements fosite.RevocationHandler (RFC 7009 §2.1): a token
// that does not verify, or has expired, is answered as revoked (§2.2: an
// invalid token is a 200); another client's token is left alone, as
// fosite leaves a stored one (unauthorized_client, which it also answers
// 200); a revocation that could not be recorded is temporarily_unavailable
// (503, Provider.revoke).
func (r *revoker) RevokeToken(ctx context.Context, token string, hint fosite.TokenType, client fosite.Client) error {
	cl, ok := claimsOf(token)
	if !ok {
		return r.next.RevokeToken(ctx, token, hint, client)
	}
	_, err := r.verify(ctx, token, cl)
	if err != nil {
		if errors.Is(err, fosite.ErrTemporarilyUnavailable) {
			return err
		}
		return nil
	}
	if cl.ClientID != client.GetID() {
		return fosite.ErrUnauthorizedClient
	}
	// Kept a minute past the expiry: verify allows no leeway, but a clock
	// a little behind on another instance should not see it come back.
	exp := time.Unix(cl.Expires, 0).Add(time.Minute)
	if err := r.store.RevokeTokenID(ctx, cl.JTI, cl.ClientID, exp); err != nil {
		return fosite.ErrTemporarilyUnavailable.WithWrap(err)
	}
	return nil
}
