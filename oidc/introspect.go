package oidc

import (
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/ory/fosite"
)

// introspect is token introspection (RFC 7662) for authenticated clients
// only (§2.1: the endpoint MUST require authorization; Janua takes client
// authentication, never a bearer token). Refresh tokens are introspected
// too. The response is Janua's own, so that "sub" is the subject the token's
// client knows (pairwise or public), never the internal user ID.
func (p *Provider) introspect(c echo.Context) error {
	r := c.Request()
	ctx := r.Context()
	w := c.Response()
	writeNoStore(w)
	if p.blocked(c) {
		return nil
	}
	if h := r.Header.Get("Authorization"); strings.HasPrefix(strings.ToLower(h), "bearer ") {
		p.oauth.WriteIntrospectionError(ctx, w, fosite.ErrRequestUnauthorized.WithHint("Authenticate as a client to introspect tokens."))
		return nil
	}
	if err := r.ParseForm(); err != nil {
		p.oauth.WriteIntrospectionError(ctx, w, fosite.ErrInvalidRequest)
		return nil
	}
	r = withAssertionAlg(r)
	ctx = r.Context()
	client, err := p.oauth.AuthenticateClient(ctx, r, r.PostForm)
	if err != nil {
		p.failed(ctx, c.RealIP())
		// RFC 7662 §2.3: failed client authentication is the token
		// endpoint's error (401 invalid_client, RFC 6749 §5.2), never an
		// "active": false that would pass for an answer about the token.
		p.oauth.WriteAccessError(ctx, w, nil, err)
		return nil
	}
	if client.IsPublic() {
		p.oauth.WriteIntrospectionError(ctx, w, fosite.ErrRequestUnauthorized.WithHint("Public clients cannot introspect tokens."))
		return nil
	}
	token := r.PostForm.Get("token")
	if token == "" {
		p.oauth.WriteIntrospectionError(ctx, w, fosite.ErrInvalidRequest.WithHint("The token parameter is missing."))
		return nil
	}
	hint := fosite.TokenUse(r.PostForm.Get("token_type_hint"))
	use, ar, err := p.oauth.IntrospectToken(ctx, token, hint, newSession())
	if err != nil {
		return c.JSON(http.StatusOK, map[string]any{"active": false})
	}
	out := map[string]any{
		"active":    true,
		"client_id": ar.GetClient().GetID(),
		"scope":     strings.Join(ar.GetGrantedScopes(), " "),
		"iat":       ar.GetRequestedAt().Unix(),
		"iss":       p.opts.Issuer,
	}
	if aud := ar.GetGrantedAudience(); len(aud) > 0 {
		out["aud"] = []string(aud)
	}
	sess, _ := ar.GetSession().(*Session)
	tt := fosite.AccessToken
	if use == fosite.RefreshToken {
		tt = fosite.RefreshToken
		out["token_type"] = "refresh_token"
	} else {
		out["token_type"] = "Bearer"
	}
	if exp := tokenLifetime(sess, tt); !exp.IsZero() {
		out["exp"] = exp.Unix()
	}
	if sess != nil {
		sub := sess.Subject
		if sess.Claims != nil && sess.Claims.Subject != "" {
			sub = sess.Claims.Subject
		}
		if sub != "" {
			out["sub"] = sub
		}
		if sess.Claims != nil && !sess.Claims.AuthTime.IsZero() {
			out["auth_time"] = sess.Claims.AuthTime.Unix()
		}
	}
	return c.JSON(http.StatusOK, out)
}

// revoke is token revocation (RFC 7009): the client revokes its own access
// or refresh token; revoking a refresh token revokes its access tokens too.
// An unknown or foreign token is answered 200 (§2.2).
func (p *Provider) revoke(c echo.Context) error {
	r := c.Request()
	ctx := r.Context()
	w := c.Response()
	writeNoStore(w)
	allowAnyOrigin(w)
	if p.blocked(c) {
		return nil
	}
	if err := r.ParseForm(); err == nil {
		r = withAssertionAlg(r)
		ctx = r.Context()
	}
	err := p.oauth.NewRevocationRequest(ctx, r)
	if err != nil && countsAsGuess(err) {
		p.failed(ctx, c.RealIP())
	}
	if errors.Is(err, fosite.ErrTemporarilyUnavailable) {
		// The token may still be active (the database did not answer):
		// RFC 7009 §2.2.1's 503, so that the client tries again, where
		// fosite's WriteRevocationResponse would answer 200.
		p.opts.Logger.ErrorContext(ctx, "token revocation failed", "err", err)
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"error": "temporarily_unavailable",
			"error_description": "The token could not be revoked now. Try again later."})
	}
	p.oauth.WriteRevocationResponse(ctx, w, err)
	return nil
}
