package oidc

import (
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/ory/fosite"
	fositejwt "github.com/ory/fosite/token/jwt"

	"github.com/madfam-org/janua/storage"
)

// userinfo is the UserInfo endpoint (OIDC Core §5.3), GET and POST, with the
// access token in the Authorization header or, for POST, the form body
// (RFC 6750 §2.1, §2.2; never the query, RFC 9700 §4.3.2). It answers JSON,
// or a signed JWT when the client registered userinfo_signed_response_alg.
func (p *Provider) userinfo(c echo.Context) error {
	r := c.Request()
	ctx := r.Context()
	w := c.Response()
	writeNoStore(w)
	allowAnyOrigin(w)
	token, err := bearerToken(r)
	if err != nil {
		return bearerError(c, http.StatusBadRequest, "invalid_request", err.Error())
	}
	if token == "" {
		return bearerError(c, http.StatusUnauthorized, "", "")
	}
	_, ar, err := p.oauth.IntrospectToken(ctx, token, fosite.AccessToken, newSession())
	if err != nil {
		return bearerError(c, http.StatusUnauthorized, "invalid_token", "The access token is invalid, expired or revoked.")
	}
	if !ar.GetGrantedScopes().Has("openid") {
		return bearerError(c, http.StatusForbidden, "insufficient_scope", "The access token was not issued for OpenID Connect (no openid scope).")
	}
	sess, ok := ar.GetSession().(*Session)
	if !ok || sess.Claims == nil {
		return errors.New("oidc: access token without a Janua session")
	}
	u, err := p.store.GetUser(ctx, sess.Subject)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && u.Disabled()) {
		return bearerError(c, http.StatusUnauthorized, "invalid_token", "The user of this access token no longer exists or is disabled.")
	}
	if err != nil {
		return err
	}
	client, err := p.clients.get(ctx, ar.GetClient().GetID())
	if err != nil {
		return err
	}
	individually := make(map[string]json.RawMessage, len(sess.UserinfoClaims))
	for _, n := range sess.UserinfoClaims {
		individually[n] = nil
	}
	claims := userClaims(u, releasedClaims(ar.GetGrantedScopes(), individually, client.Scopes))
	claims["sub"] = sess.Claims.Subject
	if alg := client.Metadata.UserinfoSignedResponseAlg; alg != "" {
		// OIDC Core §5.3.2: a signed response carries iss and aud.
		claims["iss"] = p.opts.Issuer
		claims["aud"] = client.ID
		claims["iat"] = p.opts.Now().Unix()
		jwt, _, err := p.signer.Generate(ctx, fositejwt.MapClaims(claims), &fositejwt.Headers{Extra: map[string]any{headerAlg: alg}})
		if err != nil {
			return err
		}
		return c.Blob(http.StatusOK, "application/jwt", []byte(jwt))
	}
	return c.JSON(http.StatusOK, claims)
}

// bearerToken finds the access token: the Authorization header, or the
// form body of a POST with application/x-www-form-urlencoded. Both at once
// is an error (RFC 6750 §2).
func bearerToken(r *http.Request) (string, error) {
	var header string
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, v, ok := strings.Cut(h, " ")
		if ok && strings.EqualFold(scheme, "Bearer") {
			header = strings.TrimSpace(v)
		}
	}
	var body string
	if r.Method == http.MethodPost {
		mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if mt == "application/x-www-form-urlencoded" {
			if err := r.ParseForm(); err != nil {
				return "", errors.New("the request body could not be read")
			}
			body = r.PostForm.Get("access_token")
		}
	}
	if header != "" && body != "" {
		return "", errors.New("the access token was sent in more than one way")
	}
	if header != "" {
		return header, nil
	}
	return body, nil
}

// bearerError answers with RFC 6750 §3's WWW-Authenticate challenge.
func bearerError(c echo.Context, status int, code, description string) error {
	v := `Bearer realm="janua"`
	if code != "" {
		v += `, error="` + code + `"`
		if description != "" {
			v += `, error_description="` + strings.ReplaceAll(description, `"`, "'") + `"`
		}
	}
	c.Response().Header().Set("WWW-Authenticate", v)
	if code == "" {
		return c.NoContent(status)
	}
	return c.JSON(status, map[string]string{"error": code, "error_description": description})
}

// tokenLifetime is a session's expiry for a token type, or zero.
func tokenLifetime(s *Session, tt fosite.TokenType) time.Time {
	if s == nil {
		return time.Time{}
	}
	return s.GetExpiresAt(tt)
}
