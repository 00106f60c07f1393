package oidc

import (
	"time"

	"github.com/mohae/deepcopy"
	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/oauth2"
	"github.com/ory/fosite/handler/openid"
	fositejwt "github.com/ory/fosite/token/jwt"
)

// Session is what Janua keeps with every code, token and OIDC request: the
// ID token's claims and headers (fosite's openid.DefaultSession) plus who
// the user is inside Janua and how the access token is shaped.
//
// DefaultSession.Subject is the user's ID inside Janua (storage and
// revocation key on it); Claims.Subject is the subject the client sees —
// the same ID, or a pairwise identifier (OIDC Core §8.1).
type Session struct {
	openid.DefaultSession
	// SID is the SSO session id ("sid", OIDC Front-/Back-Channel Logout).
	SID string `json:"sid,omitempty"`
	// ClientID is the client the session was issued to.
	ClientID string `json:"cid,omitempty"`
	// AccessTokenAlg, when set, makes the access token an RFC 9068 JWT
	// signed with it; empty means an opaque token.
	AccessTokenAlg string `json:"ata,omitempty"`
	// RefreshAbsolute is when the refresh token family ends, whatever the
	// idle limit allows (zero: no refresh token was planned).
	RefreshAbsolute time.Time `json:"rabs,omitempty"`
	// UserinfoClaims are the claims the authorization request asked for
	// individually for the userinfo response (OIDC Core §5.5); the session
	// carries them because the token request's form does not.
	UserinfoClaims []string `json:"uic,omitempty"`
	// AccessTokenExtra are claims added to a JWT access token.
	AccessTokenExtra map[string]any `json:"atx,omitempty"`
}

var (
	_ openid.Session             = (*Session)(nil)
	_ oauth2.JWTSessionContainer = (*Session)(nil)
)

// newSession returns an empty session, the prototype fosite fills from
// storage and from requests.
func newSession() *Session {
	return &Session{DefaultSession: openid.DefaultSession{
		Claims:    &fositejwt.IDTokenClaims{Extra: map[string]any{}},
		Headers:   &fositejwt.Headers{Extra: map[string]any{}},
		ExpiresAt: map[fosite.TokenType]time.Time{},
	}}
}

// Clone deep-copies the session (fosite clones before mutating).
func (s *Session) Clone() fosite.Session {
	if s == nil {
		return nil
	}
	return deepcopy.Copy(s).(fosite.Session)
}

// GetJWTClaims shapes an RFC 9068 access token: iss, exp, aud, sub,
// client_id, iat, jti, scope, and auth_time/acr/amr when known (§2.2).
func (s *Session) GetJWTClaims() fositejwt.JWTClaimsContainer {
	extra := map[string]any{"client_id": s.ClientID}
	if c := s.Claims; c != nil {
		if !c.AuthTime.IsZero() {
			extra["auth_time"] = c.AuthTime.Unix()
		}
		if c.AuthenticationContextClassReference != "" {
			extra["acr"] = c.AuthenticationContextClassReference
		}
		if len(c.AuthenticationMethodsReferences) > 0 {
			extra["amr"] = c.AuthenticationMethodsReferences
		}
	}
	for k, v := range s.AccessTokenExtra {
		extra[k] = v
	}
	sub := s.Subject
	if s.Claims != nil && s.Claims.Subject != "" {
		sub = s.Claims.Subject
	}
	if sub == "" {
		sub = s.ClientID // client_credentials: the client is the subject (RFC 9068 §2.2)
	}
	return &fositejwt.JWTClaims{Subject: sub, Extra: extra}
}

// GetJWTHeader asks the signer for the access token's algorithm.
func (s *Session) GetJWTHeader() *fositejwt.Headers {
	alg := s.AccessTokenAlg
	if alg == "" {
		alg = ES256
	}
	return &fositejwt.Headers{Extra: map[string]any{headerAlg: alg}}
}
