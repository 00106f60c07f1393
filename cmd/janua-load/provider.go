package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"
)

// env is what every scenario shares: the options, the fixture, the
// discovered provider and the HTTP transport.
type env struct {
	opts      *options
	fx        *fixture
	disc      discovery
	transport *leanTransport
	http      *http.Client // no cookies, no redirects
	keys      *keySet
	idTokens  *gooidc.Provider
	server    *serverProbe
	nextUser  atomic.Uint64 // the password scenario's round-robin
}

// discovery is the part of the OpenID Provider Metadata the scenarios use
// (OIDC Discovery §3).
type discovery struct {
	Issuer                string `json:"issuer"`
	AuthorizationEndpoint string `json:"authorization_endpoint"`
	TokenEndpoint         string `json:"token_endpoint"`
	UserinfoEndpoint      string `json:"userinfo_endpoint"`
	JWKSURI               string `json:"jwks_uri"`
	IntrospectionEndpoint string `json:"introspection_endpoint"`
}

func discoveryURL(issuer string) string {
	return strings.TrimSuffix(issuer, "/") + "/.well-known/openid-configuration"
}

// newEnv discovers the issuer and checks that every endpoint is on loopback.
func newEnv(ctx context.Context, o *options, fx *fixture) (*env, error) {
	tr := newLeanTransport(o.concurrency * 4)
	e := &env{opts: o, fx: fx, transport: tr}
	e.http = &http.Client{Transport: tr, Timeout: o.timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	e.server = &serverProbe{pid: o.serverPID, metricsURL: o.metricsURL, http: &http.Client{Timeout: 5 * time.Second}}

	res, body, err := e.get(ctx, discoveryURL(o.issuer), "")
	if err != nil {
		return nil, fmt.Errorf("discovery: %w", err)
	}
	if err := wantJSON(res, body, http.StatusOK, &e.disc); err != nil {
		return nil, fmt.Errorf("discovery: %w", err)
	}
	if e.disc.Issuer != o.issuer {
		return nil, fmt.Errorf("discovery: issuer %q, want %q (OIDC Discovery §4.3)", e.disc.Issuer, o.issuer)
	}
	for name, u := range map[string]string{"authorization_endpoint": e.disc.AuthorizationEndpoint, "token_endpoint": e.disc.TokenEndpoint,
		"userinfo_endpoint": e.disc.UserinfoEndpoint, "jwks_uri": e.disc.JWKSURI, "introspection_endpoint": e.disc.IntrospectionEndpoint} {
		if u == "" {
			continue
		}
		if err := loopbackURL(u); err != nil {
			return nil, fmt.Errorf("discovery: %s: %w", name, err)
		}
	}
	e.keys = &keySet{e: e}
	// go-oidc verifies ID tokens, with the same transport.
	e.idTokens, err = gooidc.NewProvider(gooidc.ClientContext(ctx, &http.Client{Transport: tr, Timeout: o.timeout}), o.issuer)
	if err != nil {
		return nil, fmt.Errorf("go-oidc discovery: %w", err)
	}
	return e, nil
}

// get sends a GET with an optional bearer token.
func (e *env) get(ctx context.Context, url, bearer string) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, nil, err
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	return send(e.http, req)
}

// send does req and reads the whole body (at most 1 MiB).
func send(c *http.Client, req *http.Request) (*http.Response, []byte, error) {
	res, err := c.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, errors.Unwrap(err))
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return res, nil, fmt.Errorf("%s %s: read body: %w", req.Method, req.URL.Path, err)
	}
	return res, body, nil
}

// isJSON reports whether the response says its body is JSON.
func isJSON(res *http.Response) bool {
	return strings.HasPrefix(res.Header.Get("Content-Type"), "application/json")
}

// wantJSON checks the status and decodes a JSON body into v.
func wantJSON(res *http.Response, body []byte, status int, v any) error {
	if err := wantStatus(res, body, status); err != nil {
		return err
	}
	if !isJSON(res) {
		return fmt.Errorf("%s %s: Content-Type %q, want application/json", res.Request.Method, res.Request.URL.Path, res.Header.Get("Content-Type"))
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("%s %s: %w", res.Request.Method, res.Request.URL.Path, err)
	}
	return nil
}

// wantStatus is an error for any status but want, naming the OAuth error
// code when the body has one (never the body itself: it may hold tokens).
func wantStatus(res *http.Response, body []byte, want int) error {
	if res.StatusCode == want {
		return nil
	}
	var oe struct {
		Error string `json:"error"`
	}
	_ = json.Unmarshal(body, &oe)
	msg := fmt.Sprintf("%s %s: status %d, want %d", res.Request.Method, res.Request.URL.Path, res.StatusCode, want)
	if oe.Error != "" {
		msg += " (" + oe.Error + ")"
	}
	return errors.New(msg)
}

// keySet is the issuer's JWKS, fetched once and again for an unknown kid.
type keySet struct {
	e    *env
	mu   sync.Mutex
	keys jose.JSONWebKeySet
}

func (k *keySet) key(ctx context.Context, kid string) (*jose.JSONWebKey, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if ks := k.keys.Key(kid); len(ks) > 0 {
		return &ks[0], nil
	}
	res, body, err := k.e.get(ctx, k.e.disc.JWKSURI, "")
	if err != nil {
		return nil, err
	}
	var set jose.JSONWebKeySet
	if err := wantJSON(res, body, http.StatusOK, &set); err != nil {
		return nil, err
	}
	k.keys = set
	if ks := k.keys.Key(kid); len(ks) > 0 {
		return &ks[0], nil
	}
	return nil, fmt.Errorf("jwks: no key %q", kid)
}

// checkJWTAccessToken verifies an RFC 9068 access token: signature with the
// issuer's key, the expected alg, typ, issuer, expiry and client_id.
func (e *env) checkJWTAccessToken(ctx context.Context, raw, alg, clientID string, verify bool) error {
	tok, err := josejwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.EdDSA, jose.PS256})
	if err != nil {
		return fmt.Errorf("access token: not a JWS: %w", err)
	}
	h := tok.Headers[0]
	if h.Algorithm != alg {
		return fmt.Errorf("access token: alg %s, want %s", h.Algorithm, alg)
	}
	if typ, _ := h.ExtraHeaders["typ"].(string); !strings.EqualFold(typ, "at+jwt") && !strings.EqualFold(typ, "application/at+jwt") {
		return fmt.Errorf("access token: typ %q, want at+jwt (RFC 9068 §2.1)", typ)
	}
	key, err := e.keys.key(ctx, h.KeyID)
	if err != nil {
		return fmt.Errorf("access token: %w", err)
	}
	var claims josejwt.Claims
	var extra struct {
		ClientID string `json:"client_id"`
	}
	if verify {
		if err := tok.Claims(key.Public().Key, &claims, &extra); err != nil {
			return fmt.Errorf("access token: signature: %w", err)
		}
	} else if err := tok.UnsafeClaimsWithoutVerification(&claims, &extra); err != nil {
		return fmt.Errorf("access token: claims: %w", err)
	}
	if err := claims.ValidateWithLeeway(josejwt.Expected{Issuer: e.opts.issuer, Time: time.Now()}, 5*time.Second); err != nil {
		return fmt.Errorf("access token: %w", err)
	}
	if extra.ClientID != clientID {
		return fmt.Errorf("access token: client_id %q, want %q", extra.ClientID, clientID)
	}
	return nil
}
