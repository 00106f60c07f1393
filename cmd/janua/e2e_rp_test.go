package main

import (
	"slices"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/madfam-org/janua/login"
	"github.com/madfam-org/janua/oidc"
)

// goRP is a relying party on coreos/go-oidc and golang.org/x/oauth2, as a
// Go web application would write it.
type goRP struct {
	t        *testing.T
	o        *op
	c        *rpClient
	cfg      *oauth2.Config
	verifier *gooidc.IDTokenVerifier
}

// goRP configures x/oauth2 from go-oidc's discovery for client c.
func (o *op) goRP(t *testing.T, c *rpClient, scopes ...string) *goRP {
	t.Helper()
	if len(scopes) == 0 {
		scopes = []string{gooidc.ScopeOpenID, "profile", "email"}
	}
	ep := o.provider.Endpoint()
	switch c.Client.TokenEndpointAuthMethod {
	case oidc.AuthClientSecretBasic:
		ep.AuthStyle = oauth2.AuthStyleInHeader
	default:
		ep.AuthStyle = oauth2.AuthStyleInParams
	}
	return &goRP{t: t, o: o, c: c,
		cfg:      &oauth2.Config{ClientID: c.ID, ClientSecret: c.Secret, Endpoint: ep, RedirectURL: c.Redirect, Scopes: scopes},
		verifier: o.provider.Verifier(&gooidc.Config{ClientID: c.ID})}
}

// signIn is the outcome of one code flow, verified.
type signIn struct {
	Token    *oauth2.Token
	RawID    string
	ID       *gooidc.IDToken
	Claims   map[string]any
	Nonce    string
	Verifier string
	Response *authResponse
}

// authURL is an authorization request with state, nonce and a PKCE S256
// challenge (RFC 7636 §4.2), and the values the RP keeps to check the
// response.
func (r *goRP) authURL(opts ...oauth2.AuthCodeOption) (u, state, nonce, verifier string) {
	state, nonce, verifier = randomID(16), randomID(16), oauth2.GenerateVerifier()
	opts = append([]oauth2.AuthCodeOption{gooidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)}, opts...)
	return r.cfg.AuthCodeURL(state, opts...), state, nonce, verifier
}

// code runs the front channel only: it returns the authorization response,
// which must carry a code and the state.
func (r *goRP) code(a *agent, opts ...oauth2.AuthCodeOption) (resp *authResponse, nonce, verifier string) {
	r.t.Helper()
	u, state, nonce, verifier := r.authURL(opts...)
	resp = a.authorize(u, r.c.Redirect)
	if resp.Mode == "" || resp.Get("code") == "" {
		r.t.Fatalf("no code: mode %q params %v status %d page:\n%.600s", resp.Mode, resp.Params, resp.Status, resp.Page)
	}
	if resp.Get("state") != state {
		r.t.Fatalf("state %q, want %q", resp.Get("state"), state)
	}
	return resp, nonce, verifier
}

// login runs the whole code flow with PKCE: the front channel through the
// agent, the exchange, and the ID token's verification.
func (r *goRP) login(a *agent, opts ...oauth2.AuthCodeOption) *signIn {
	r.t.Helper()
	resp, nonce, verifier := r.code(a, opts...)
	s := r.exchange(resp.Get("code"), nonce, verifier)
	s.Response = resp
	return s
}

// exchange redeems code and verifies the ID token.
func (r *goRP) exchange(code, nonce, verifier string, opts ...oauth2.AuthCodeOption) *signIn {
	r.t.Helper()
	tok, err := r.cfg.Exchange(r.o.ctx, code, append(opts, oauth2.VerifierOption(verifier))...)
	if err != nil {
		r.t.Fatalf("exchange: %v", err)
	}
	s := r.verify(tok, nonce)
	s.Verifier = verifier
	return s
}

// verify checks a token response as OIDC Core §3.1.3.5–§3.1.3.8 asks:
// the ID token's signature, iss, aud, exp (go-oidc), its nonce, and the
// access token against at_hash.
func (r *goRP) verify(tok *oauth2.Token, nonce string) *signIn {
	r.t.Helper()
	if tok.TokenType != "bearer" && tok.TokenType != "Bearer" {
		r.t.Errorf("token_type %q", tok.TokenType)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		r.t.Fatal("no id_token in the token response")
	}
	idt, err := r.verifier.Verify(r.o.ctx, raw)
	if err != nil {
		r.t.Fatalf("go-oidc rejects the ID token: %v", err)
	}
	if nonce != "" && idt.Nonce != nonce {
		r.t.Errorf("nonce %q, want %q", idt.Nonce, nonce)
	}
	if idt.AccessTokenHash != "" {
		if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
			r.t.Errorf("at_hash: %v", err)
		}
	}
	claims := map[string]any{}
	if err := idt.Claims(&claims); err != nil {
		r.t.Fatal(err)
	}
	return &signIn{Token: tok, RawID: raw, ID: idt, Claims: claims, Nonce: nonce}
}

// checkIDToken asserts the claims every ID token Janua issues to c must
// carry (OIDC Core §2): the right issuer, audience and authorized party,
// lifetimes, when and how the user authenticated, and the SSO session.
func checkIDToken(t *testing.T, o *op, c *rpClient, s *signIn, wantSub string) {
	t.Helper()
	cl, now := s.Claims, time.Now()
	num := func(k string) time.Time {
		f, ok := cl[k].(float64)
		if !ok {
			t.Errorf("ID token %s: %v", k, cl[k])
			return time.Time{}
		}
		return time.Unix(int64(f), 0)
	}
	if cl["iss"] != o.issuer {
		t.Errorf("iss %v", cl["iss"])
	}
	if aud, _ := cl["aud"].([]any); !(cl["aud"] == c.ID || len(aud) == 1 && aud[0] == c.ID) {
		t.Errorf("aud %v, want %s", cl["aud"], c.ID)
	}
	if cl["azp"] != c.ID {
		t.Errorf("azp %v", cl["azp"])
	}
	if wantSub != "" && cl["sub"] != wantSub {
		t.Errorf("sub %v, want %s", cl["sub"], wantSub)
	}
	iat, exp, authTime := num("iat"), num("exp"), num("auth_time")
	if iat.Before(now.Add(-time.Minute)) || iat.After(now.Add(5*time.Second)) {
		t.Errorf("iat %v, now %v", iat, now)
	}
	if d := exp.Sub(iat); d != o.cfg.Tokens.IDTokenTTL {
		t.Errorf("exp - iat = %v, want %v", d, o.cfg.Tokens.IDTokenTTL)
	}
	if authTime.After(iat) || authTime.Before(now.Add(-10*time.Minute)) {
		t.Errorf("auth_time %v, iat %v", authTime, iat)
	}
	if cl["acr"] != login.ACRPassword {
		t.Errorf("acr %v", cl["acr"])
	}
	if amr, _ := cl["amr"].([]any); !slices.Equal(amr, []any{"pwd"}) {
		t.Errorf("amr %v", cl["amr"])
	}
	if sid, _ := cl["sid"].(string); len(sid) < 16 {
		t.Errorf("sid %v", cl["sid"])
	}
	h := jwtPart(t, s.RawID, 0)
	want := c.Client.Metadata.IDTokenSignedResponseAlg
	if want == "" {
		want = oidc.RS256
	}
	if h["alg"] != want || h["kid"] == "" || h["kid"] == nil {
		t.Errorf("ID token header %v, want alg %s with a kid", h, want)
	}
}
