package oidc

import (
	"context"
	"strings"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/oauth2"
	"github.com/ory/fosite/token/hmac"
)

// Token prefixes name what a token is, so secret scanners and humans can
// recognise a leaked Janua token (the signature stays the part after ".").
const (
	prefixAccess  = "janua_at_"
	prefixRefresh = "janua_rt_"
	prefixCode    = "janua_ac_"
)

// prefixedHMAC is fosite's HMAC-SHA256 opaque-token strategy with Janua's
// prefixes. A token is prefix + base64url(256 random bits) + "." +
// base64url(HMAC); only the HMAC (the "signature") is stored.
type prefixedHMAC struct {
	*oauth2.HMACSHAStrategyUnPrefixed
}

func newPrefixedHMACStrategy(enigma *hmac.HMACStrategy, cfg oauth2.LifespanConfigProvider) *prefixedHMAC {
	return &prefixedHMAC{oauth2.NewHMACSHAStrategyUnPrefixed(enigma, cfg)}
}

func withPrefix(token, prefix string) string {
	if token == "" {
		return ""
	}
	return prefix + token
}

func (h *prefixedHMAC) GenerateAccessToken(ctx context.Context, r fosite.Requester) (string, string, error) {
	t, sig, err := h.HMACSHAStrategyUnPrefixed.GenerateAccessToken(ctx, r)
	return withPrefix(t, prefixAccess), sig, err
}

func (h *prefixedHMAC) ValidateAccessToken(ctx context.Context, r fosite.Requester, token string) error {
	return h.HMACSHAStrategyUnPrefixed.ValidateAccessToken(ctx, r, strings.TrimPrefix(token, prefixAccess))
}

func (h *prefixedHMAC) GenerateRefreshToken(ctx context.Context, r fosite.Requester) (string, string, error) {
	t, sig, err := h.HMACSHAStrategyUnPrefixed.GenerateRefreshToken(ctx, r)
	return withPrefix(t, prefixRefresh), sig, err
}

func (h *prefixedHMAC) ValidateRefreshToken(ctx context.Context, r fosite.Requester, token string) error {
	return h.HMACSHAStrategyUnPrefixed.ValidateRefreshToken(ctx, r, strings.TrimPrefix(token, prefixRefresh))
}

func (h *prefixedHMAC) GenerateAuthorizeCode(ctx context.Context, r fosite.Requester) (string, string, error) {
	t, sig, err := h.HMACSHAStrategyUnPrefixed.GenerateAuthorizeCode(ctx, r)
	return withPrefix(t, prefixCode), sig, err
}

func (h *prefixedHMAC) ValidateAuthorizeCode(ctx context.Context, r fosite.Requester, token string) error {
	return h.HMACSHAStrategyUnPrefixed.ValidateAuthorizeCode(ctx, r, strings.TrimPrefix(token, prefixCode))
}

// accessTokenFormats issues each client's access tokens in its registered
// format: opaque (HMAC, the default) or an RFC 9068 JWT. Which one a
// presented token is follows from its shape: a JWT has three dot-separated
// parts, an opaque token two.
type accessTokenFormats struct {
	*prefixedHMAC
	jwt *oauth2.DefaultJWTStrategy
}

var _ oauth2.CoreStrategy = (*accessTokenFormats)(nil)

func isJWT(token string) bool { return strings.Count(token, ".") == 2 }

func (a *accessTokenFormats) AccessTokenSignature(ctx context.Context, token string) string {
	if isJWT(token) {
		return a.jwt.AccessTokenSignature(ctx, token)
	}
	return a.prefixedHMAC.AccessTokenSignature(ctx, token)
}

func (a *accessTokenFormats) GenerateAccessToken(ctx context.Context, r fosite.Requester) (string, string, error) {
	if s, ok := r.GetSession().(*Session); ok && s.AccessTokenAlg != "" {
		return a.jwt.GenerateAccessToken(ctx, r)
	}
	return a.prefixedHMAC.GenerateAccessToken(ctx, r)
}

func (a *accessTokenFormats) ValidateAccessToken(ctx context.Context, r fosite.Requester, token string) error {
	if isJWT(token) {
		return a.jwt.ValidateAccessToken(ctx, r, token)
	}
	return a.prefixedHMAC.ValidateAccessToken(ctx, r, token)
}
