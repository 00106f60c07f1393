package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
)

// codeScope is what the code client asks for: an ID token, claims for
// userinfo, and a refresh token.
const codeScope = "openid profile email offline_access"

// codeResult is one completed authorization-code flow.
type codeResult struct {
	tokens   *tokenResponse
	sub      string
	requests int
}

// codeFlow runs authorize → code → token with PKCE S256 (RFC 7636), state
// and nonce, in browser b. With user set it signs in on the way (set-up);
// without, the browser's SSO session must carry it. The ID token is
// verified with go-oidc: signature, iss, aud, exp, nonce and at_hash.
func (e *env) codeFlow(ctx context.Context, b *browser, user *fixtureUser) (*codeResult, error) {
	c := e.fx.Clients[roleCode]
	verifier, state, nonce := randomString(), randomString(), randomString()
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{
		"response_type":         {"code"},
		"client_id":             {c.ID},
		"redirect_uri":          {c.RedirectURI},
		"scope":                 {codeScope},
		"state":                 {state},
		"nonce":                 {nonce},
		"code_challenge":        {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"},
	}
	authURL := e.disc.AuthorizationEndpoint + "?" + q.Encode()
	if strings.Contains(e.disc.AuthorizationEndpoint, "?") {
		authURL = e.disc.AuthorizationEndpoint + "&" + q.Encode()
	}
	cb, n, err := b.navigate(ctx, authURL, c.RedirectURI, user)
	if err != nil {
		return nil, err
	}
	res := &codeResult{requests: n + 1}
	got := cb.Query()
	if e := got.Get("error"); e != "" {
		return res, fmt.Errorf("authorize: error %s", e)
	}
	if got.Get("state") != state {
		return res, errors.New("authorize: state not returned unchanged (RFC 6749 §4.1.2)")
	}
	code := got.Get("code")
	if code == "" {
		return res, errors.New("authorize: no code")
	}
	tr, err := e.token(ctx, c, url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {c.RedirectURI}, "code_verifier": {verifier}})
	if err != nil {
		return res, err
	}
	if tr.IDToken == "" {
		return res, errors.New("token: no id_token for scope openid (OIDC Core §3.1.3.3)")
	}
	idt, err := e.verifyIDToken(ctx, tr.IDToken, nonce, tr.AccessToken)
	if err != nil {
		return res, err
	}
	res.tokens, res.sub = tr, idt.Subject
	return res, nil
}

// verifyIDToken checks an ID token with go-oidc; nonce "" skips the nonce
// check (refresh responses carry none).
func (e *env) verifyIDToken(ctx context.Context, raw, nonce, accessToken string) (*gooidc.IDToken, error) {
	v := e.idTokens.Verifier(&gooidc.Config{ClientID: e.fx.Clients[roleCode].ID})
	idt, err := v.Verify(ctx, raw)
	if err != nil {
		return nil, fmt.Errorf("id_token: %w", err)
	}
	if nonce != "" && idt.Nonce != nonce {
		return nil, errors.New("id_token: nonce mismatch (OIDC Core §3.1.3.7)")
	}
	if idt.AccessTokenHash != "" && accessToken != "" {
		if err := idt.VerifyAccessToken(accessToken); err != nil {
			return nil, fmt.Errorf("id_token: %w", err)
		}
	}
	return idt, nil
}

// codeStep: each worker signs its user in once; each step is a whole flow
// on the live SSO session.
func codeStep(ctx context.Context, e *env, i int) (step, error) {
	b := e.newBrowser()
	if _, err := e.codeFlow(ctx, b, &e.fx.Users[i%len(e.fx.Users)]); err != nil {
		return nil, fmt.Errorf("sign-in: %w", err)
	}
	return func(ctx context.Context) (int, error) {
		r, err := e.codeFlow(ctx, b, nil)
		if r == nil {
			return 1, err
		}
		return r.requests, err
	}, nil
}

// passwordStep: each step is a new browser signing in on the login page,
// users round-robin (so no account reaches a lockout).
func passwordStep(_ context.Context, e *env, _ int) (step, error) {
	loginURL := strings.TrimSuffix(e.opts.issuer, "/") + e.opts.loginPath
	return func(ctx context.Context) (int, error) {
		u := e.fx.Users[e.nextUser.Add(1)%uint64(len(e.fx.Users))]
		return e.newBrowser().signIn(ctx, loginURL, u)
	}, nil
}

// randomString is 256 random bits, base64url: a PKCE verifier (RFC 7636
// §4.1), a state or a nonce.
func randomString() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
