package oidc

import (
	"context"
	"fmt"
	"time"

	"github.com/ory/fosite"

	"github.com/madfam-org/janua/storage"
)

// edDSAHashHint stands in the session's ID-token "alg" header for EdDSA
// clients: fosite's at_hash/c_hash helper picks its hash from the digits
// after the first two characters of that header ("RS256" → SHA-256), and
// Ed25519 tokens take SHA-512 (the half-hash certified RPs such as
// openid-client verify). It never leaves the process: the signer reads its
// own hint (headerAlg) and the JWS header is always the key's real "alg".
const edDSAHashHint = "Ed512"

// idTokenAlg is the algorithm a client's ID tokens are signed with:
// id_token_signed_response_alg, RS256 by default (OIDC Registration §2).
func idTokenAlg(c *storage.Client) string {
	if a := c.Metadata.IDTokenSignedResponseAlg; a != "" {
		return a
	}
	return RS256
}

// accessTokenAlg is the algorithm of the client's JWT access tokens (RFC
// 9068): its access_token_signed_response_alg, ES256 by default (a
// signature 20 times cheaper than RS256 and a smaller token); empty for
// opaque tokens.
func accessTokenAlg(c *storage.Client) string {
	if c.Metadata.AccessTokenFormat != "jwt" {
		return ""
	}
	if a := c.Metadata.AccessTokenSigningAlg; a != "" {
		return a
	}
	return ES256
}

// newUserSession builds the session fosite stores with the code or tokens:
// the ID token's claims (OIDC Core §2) and the access token's shape.
func (p *Provider) newUserSession(ctx context.Context, client *storage.Client, authn Authentication,
	ar fosite.AuthorizeRequester, areq authzRequest, requestedAt time.Time) (*Session, error) {
	s := newSession()
	s.Subject = authn.Subject
	s.Username = authn.Subject
	s.SID = authn.SessionID
	s.ClientID = client.ID
	s.AccessTokenAlg = accessTokenAlg(client)
	p.planRefresh(s, client, p.opts.Now())
	cl := s.Claims
	cl.Issuer = p.opts.Issuer
	cl.Subject = p.subjectFor(client, authn.Subject)
	cl.AuthTime = authn.AuthTime.UTC().Truncate(time.Second)
	cl.RequestedAt = requestedAt.UTC().Truncate(time.Second)
	if cl.AuthTime.After(cl.RequestedAt) {
		// A sign-in inside this request: keep fosite's prompt=login and
		// max_age checks exact at second precision.
		cl.RequestedAt = requestedAt.UTC()
	}
	cl.AuthenticationContextClassReference = p.reportedACR(authn, areq.acr)
	cl.AuthenticationMethodsReferences = authn.AMR
	cl.Extra["azp"] = client.ID
	if authn.SessionID != "" {
		cl.Extra["sid"] = authn.SessionID
	}
	alg := idTokenAlg(client)
	s.Headers.Extra[headerAlg] = alg
	s.Headers.Extra["alg"] = alg // what fosite's at_hash/c_hash helper reads
	if alg == EdDSA {
		s.Headers.Extra["alg"] = edDSAHashHint
	}
	// Scope claims belong in the userinfo response; they go into the ID
	// token only when no access token is issued to fetch them with (OIDC
	// Core §5.4), and individually requested id_token claims always do.
	granted := ar.GetGrantedScopes()
	for name := range areq.claims.Userinfo {
		s.UserinfoClaims = append(s.UserinfoClaims, name)
	}
	var names []string
	if areq.responseID && !areq.responseAT && !ar.GetResponseTypes().Has("code") {
		// No access token, so no userinfo: what userinfo would have said
		// goes into the ID token (OIDC Core §5.4, §5.5).
		names = releasedClaims(granted, areq.claims.Userinfo, client.Scopes)
	}
	names = append(names, releasedClaims(nil, areq.claims.IDToken, client.Scopes)...)
	if len(names) > 0 {
		u, err := p.store.GetUser(ctx, authn.Subject)
		if err != nil {
			return nil, fmt.Errorf("oidc: user of the session: %w", err)
		}
		for k, v := range userClaims(u, names) {
			cl.Extra[k] = v
		}
	}
	return s, nil
}

// planRefresh fixes the refresh token family's absolute end and the first
// token's expiry: min(now + idle, absolute), from the client's own
// lifetimes or the server's (RFC 9700 §4.14.2: refresh tokens should
// expire when unused and have a maximum lifetime).
func (p *Provider) planRefresh(s *Session, c *storage.Client, now time.Time) {
	abs := p.opts.RefreshTokenTTL
	if c.Metadata.RefreshTokenAbsoluteTTL > 0 {
		abs = time.Duration(c.Metadata.RefreshTokenAbsoluteTTL) * time.Second
	}
	s.RefreshAbsolute = now.UTC().Add(abs).Round(time.Second)
	s.SetExpiresAt(fosite.RefreshToken, p.nextRefreshExpiry(s, c, now))
}

// nextRefreshExpiry is the expiry of the next refresh token of the family.
func (p *Provider) nextRefreshExpiry(s *Session, c *storage.Client, now time.Time) time.Time {
	idle := p.opts.RefreshIdleTTL
	if c.Metadata.RefreshTokenIdleTTL > 0 {
		idle = time.Duration(c.Metadata.RefreshTokenIdleTTL) * time.Second
	}
	exp := now.UTC().Add(idle).Round(time.Second)
	if !s.RefreshAbsolute.IsZero() && s.RefreshAbsolute.Before(exp) {
		exp = s.RefreshAbsolute
	}
	return exp
}
