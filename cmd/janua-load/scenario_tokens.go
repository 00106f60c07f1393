package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// tokenResponse is RFC 6749 §5.1 (and OIDC Core §3.1.3.3).
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
	IDToken      string `json:"id_token"`
	Scope        string `json:"scope"`
}

// token posts form to the token endpoint with client_secret_basic and
// checks a successful, uncacheable bearer token response.
func (e *env) token(ctx context.Context, c fixtureClient, form url.Values) (*tokenResponse, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.disc.TokenEndpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	// RFC 6749 §2.3.1: both parts form-encoded before Basic.
	req.SetBasicAuth(url.QueryEscape(c.ID), url.QueryEscape(c.Secret))
	res, body, err := send(e.http, req)
	if err != nil {
		return nil, err
	}
	var tr tokenResponse
	if err := wantJSON(res, body, http.StatusOK, &tr); err != nil {
		return nil, err
	}
	if cc := res.Header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
		return nil, fmt.Errorf("token: Cache-Control %q, want no-store (RFC 6749 §5.1)", cc)
	}
	if tr.AccessToken == "" || !strings.EqualFold(tr.TokenType, "bearer") || tr.ExpiresIn <= 0 {
		return nil, fmt.Errorf("token: access_token present %v, token_type %q, expires_in %d", tr.AccessToken != "", tr.TokenType, tr.ExpiresIn)
	}
	return &tr, nil
}

// ccStep: the client_credentials grant; with alg, the access token must be
// a JWT signed with it and is verified.
func ccStep(role, alg string) func(context.Context, *env, int) (step, error) {
	return func(_ context.Context, e *env, _ int) (step, error) {
		c := e.fx.Clients[role]
		form := url.Values{"grant_type": {"client_credentials"}}
		if c.Scope != "" {
			form.Set("scope", c.Scope)
		}
		n := 0
		return func(ctx context.Context) (int, error) {
			tr, err := e.token(ctx, c, form)
			if err != nil {
				return 1, err
			}
			n++
			if tr.RefreshToken != "" {
				return 1, fmt.Errorf("client_credentials: a refresh token was issued (RFC 6749 §4.4.3 says it should not)")
			}
			if alg == "" {
				if strings.Count(tr.AccessToken, ".") == 2 {
					return 1, fmt.Errorf("client_credentials: a JWT access token, want opaque")
				}
				return 1, nil
			}
			// Every token's header and claims are checked; its signature
			// every --verify-every tokens (the first always).
			return 1, e.checkJWTAccessToken(ctx, tr.AccessToken, alg, c.ID, (n-1)%e.opts.verifyEvery == 0)
		}, nil
	}
}

// introspectStep: each worker gets an opaque token once; each step asks
// whether it is active.
func introspectStep(ctx context.Context, e *env, _ int) (step, error) {
	c := e.fx.Clients[roleCC]
	form := url.Values{"grant_type": {"client_credentials"}}
	if c.Scope != "" {
		form.Set("scope", c.Scope)
	}
	tr, err := e.token(ctx, c, form)
	if err != nil {
		return nil, err
	}
	body := url.Values{"token": {tr.AccessToken}, "token_type_hint": {"access_token"}}.Encode()
	return func(ctx context.Context) (int, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.disc.IntrospectionEndpoint, strings.NewReader(body))
		if err != nil {
			return 0, err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "application/json")
		req.SetBasicAuth(url.QueryEscape(c.ID), url.QueryEscape(c.Secret))
		res, b, err := send(e.http, req)
		if err != nil {
			return 1, err
		}
		var ir struct {
			Active   bool   `json:"active"`
			ClientID string `json:"client_id"`
		}
		if err := wantJSON(res, b, http.StatusOK, &ir); err != nil {
			return 1, err
		}
		if !ir.Active || ir.ClientID != c.ID {
			return 1, fmt.Errorf("introspect: active %v, client_id %q", ir.Active, ir.ClientID)
		}
		return 1, nil
	}, nil
}

// refreshStep: each worker signs its user in and gets a refresh token once;
// each step redeems the latest one, which must rotate (RFC 9700 §4.14.2).
func refreshStep(ctx context.Context, e *env, i int) (step, error) {
	c := e.fx.Clients[roleCode]
	first, err := e.codeFlow(ctx, e.newBrowser(), &e.fx.Users[i%len(e.fx.Users)])
	if err != nil {
		return nil, fmt.Errorf("sign-in: %w", err)
	}
	current := first.tokens.RefreshToken
	if current == "" {
		return nil, fmt.Errorf("the code flow issued no refresh token (scope offline_access and the refresh_token grant needed)")
	}
	return func(ctx context.Context) (int, error) {
		tr, err := e.token(ctx, c, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {current}})
		if err != nil {
			return 1, err
		}
		if tr.RefreshToken == "" || tr.RefreshToken == current {
			return 1, fmt.Errorf("refresh: the refresh token was not rotated")
		}
		current = tr.RefreshToken
		if tr.IDToken != "" {
			if _, err := e.verifyIDToken(ctx, tr.IDToken, "", tr.AccessToken); err != nil {
				return 1, err
			}
		}
		return 1, nil
	}, nil
}

// userinfoStep: each worker signs its user in once; each step reads
// userinfo with the access token, which must name the same subject.
func userinfoStep(ctx context.Context, e *env, i int) (step, error) {
	first, err := e.codeFlow(ctx, e.newBrowser(), &e.fx.Users[i%len(e.fx.Users)])
	if err != nil {
		return nil, fmt.Errorf("sign-in: %w", err)
	}
	at, sub := first.tokens.AccessToken, first.sub
	return func(ctx context.Context) (int, error) {
		res, body, err := e.get(ctx, e.disc.UserinfoEndpoint, at)
		if err != nil {
			return 1, err
		}
		var ui map[string]any
		if err := wantJSON(res, body, http.StatusOK, &ui); err != nil {
			return 1, err
		}
		if ui["sub"] != sub {
			b, _ := json.Marshal(ui["sub"])
			return 1, fmt.Errorf("userinfo: sub %s, want the ID token's (OIDC Core §5.3.2)", b)
		}
		return 1, nil
	}, nil
}
