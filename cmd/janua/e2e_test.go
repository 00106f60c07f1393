package main

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"hash"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/oauth2"

	"github.com/madfam-org/janua/oidc"
	"github.com/madfam-org/janua/storage"
	"github.com/madfam-org/janua/storage/storagetest"
)

// The end-to-end harness: Janua's real newServer on httptest (the issuer is
// the server's own URL), on SQLite and on PostgreSQL, a user with a
// password, clients registered through the registry as an operator would,
// and relying parties built on the libraries real applications use —
// coreos/go-oidc with golang.org/x/oauth2 (this file, e2e_rp_test.go) and
// zitadel/oidc's rp — driving a cookie-jar user agent through Janua's
// sign-in and consent pages (e2e_agent_test.go).

// op is Janua, end to end, on one backend.
type op struct {
	*interactionServer
	issuer   string
	registry *oidc.Clients
	email    string // the test user's; the password is testPassword
	userID   string
	provider *gooidc.Provider // discovered by go-oidc
	http     *http.Client     // checks every token endpoint response
	ctx      context.Context  // carries http for x/oauth2 and go-oidc
}

// Endpoint paths (discovery names them; the tests read them from there).
const (
	pathToken      = "/oauth2/token"
	pathUserinfo   = "/userinfo"
	pathIntrospect = "/oauth2/introspect"
	pathRevoke     = "/oauth2/revoke"
	pathLogout     = "/oauth2/logout"
	pathAuthorize  = "/oauth2/authorize"
	pathJWKS       = "/.well-known/jwks.json"
)

// eachBackend runs fn against a fresh Janua on SQLite (in-memory hot state)
// and on PostgreSQL (Redis hot state when JANUA_TEST_REDIS_ADDR is set), in
// parallel. Under CI=true a missing PostgreSQL fails the test.
func eachBackend(t *testing.T, config func(*Config), fn func(t *testing.T, o *op)) {
	t.Helper()
	for _, b := range storagetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			fn(t, newOP(t, b, config))
		})
	}
}

// newOP serves Janua on backend b with config applied.
func newOP(t *testing.T, b storagetest.Backend, config func(*Config)) *op {
	t.Helper()
	var hot storage.HotState
	if addr := os.Getenv("JANUA_TEST_REDIS_ADDR"); addr != "" && b.Name != "sqlite" {
		h, err := storage.NewRedisHotState(context.Background(), storage.RedisHotStateOptions{URL: addr,
			Prefix: "janua-e2e-" + strconv.FormatInt(time.Now().UnixNano(), 36) + ":"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = h.Close() })
		hot = h
	}
	s := newInteractionServer(t, serverOptions{backend: b, hot: hot, config: config})
	u := s.user("ana@example.com", false)
	return discover(t, &op{interactionServer: s, email: u.Email, userID: u.ID})
}

// sibling serves another Janua on o's database (its keys, clients and
// users) at another URL, so another issuer.
func (o *op) sibling(t *testing.T) *op {
	t.Helper()
	s := newInteractionServer(t, serverOptions{config: func(c *Config) { c.Database.URL = o.cfg.Database.URL }})
	return discover(t, &op{interactionServer: s, email: o.email, userID: o.userID})
}

// discover points go-oidc at o.
func discover(t *testing.T, o *op) *op {
	t.Helper()
	o.issuer, o.registry = o.cfg.Issuer, oidc.NewClients(o.store, nil)
	o.http = &http.Client{Timeout: 20 * time.Second, Transport: tokenResponseCheck{t: t, base: http.DefaultTransport}}
	o.ctx = gooidc.ClientContext(context.Background(), o.http) // x/oauth2 reads the same key
	p, err := gooidc.NewProvider(o.ctx, o.issuer)
	if err != nil {
		t.Fatalf("go-oidc discovery: %v", err)
	}
	o.provider = p
	if got := p.Endpoint().TokenURL; got != o.issuer+pathToken {
		t.Fatalf("discovered token endpoint %q", got)
	}
	return o
}

// tokenResponseCheck fails the test when a token endpoint response, success
// or error, may be cached (RFC 6749 §5.1, §5.2) or is not JSON.
type tokenResponseCheck struct {
	t    *testing.T
	base http.RoundTripper
}

func (c tokenResponseCheck) RoundTrip(r *http.Request) (*http.Response, error) {
	res, err := c.base.RoundTrip(r)
	if err == nil && r.URL.Path == pathToken {
		if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
			c.t.Errorf("token response %d: Cache-Control %q, want no-store", res.StatusCode, cc)
		}
		if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			c.t.Errorf("token response %d: Content-Type %q", res.StatusCode, ct)
		}
	}
	return res, err
}

// rpClient is a registered client as its relying party knows it.
type rpClient struct {
	ID, Secret string
	Redirect   string
	Client     *storage.Client
	// Key signs private_key_jwt assertions (its public half is registered).
	Key *ecdsa.PrivateKey
	KID string
}

// register creates a client through the registry. Unset fields get a
// confidential client_secret_basic code client with one redirect URI on a
// host of its own (its pairwise sector) and the standard scopes.
func (o *op) register(t *testing.T, spec oidc.ClientSpec) *rpClient {
	t.Helper()
	if spec.Name == "" {
		spec.Name = "RP " + randomID(4)
	}
	if len(spec.RedirectURIs) == 0 {
		spec.RedirectURIs = []string{"https://rp-" + strings.ToLower(randomID(4)) + ".example.com/cb"}
	}
	if len(spec.GrantTypes) == 0 {
		spec.GrantTypes = []string{oidc.GrantAuthorizationCode, oidc.GrantRefreshToken}
	}
	var key *ecdsa.PrivateKey
	var kid string
	if spec.TokenEndpointAuthMethod == oidc.AuthPrivateKeyJWT && len(spec.Metadata.JWKS) == 0 {
		key, kid = newClientKey(t)
		spec.Metadata.JWKS = publicJWKS(t, key, kid)
	}
	created, err := o.registry.Create(context.Background(), spec, "e2e")
	if err != nil {
		t.Fatalf("register %s: %v", spec.Name, err)
	}
	return &rpClient{ID: created.Client.ID, Secret: created.Secret, Redirect: created.Client.RedirectURIs[0],
		Client: created.Client, Key: key, KID: kid}
}

// newClientKey is a client's own P-256 key.
func newClientKey(t *testing.T) (*ecdsa.PrivateKey, string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k, "client-" + randomID(6)
}

// publicJWKS is the registrable JWK Set of key's public half.
func publicJWKS(t *testing.T, key crypto.Signer, kid string) json.RawMessage {
	t.Helper()
	raw, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: key.Public(), KeyID: kid, Algorithm: oidc.ES256, Use: "sig"}}})
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// assertion is a private_key_jwt client assertion (RFC 7523 §3) for aud,
// signed with key; jti "" gets a fresh one.
func assertion(t *testing.T, c *rpClient, key *ecdsa.PrivateKey, aud, jti string) string {
	t.Helper()
	if jti == "" {
		jti = randomID(16)
	}
	now := time.Now()
	return signJWT(t, key, c.KID, jose.ES256, map[string]any{"iss": c.ID, "sub": c.ID, "aud": aud, "jti": jti,
		"iat": now.Unix(), "exp": now.Add(2 * time.Minute).Unix()})
}

// signJWT signs claims with key as a compact JWS.
func signJWT(t *testing.T, key any, kid string, alg jose.SignatureAlgorithm, claims map[string]any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if kid != "" {
		opts = opts.WithHeader("kid", kid)
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := josejwt.Signed(s).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// unsignedJWT re-encodes a token's claims with "alg": "none" (RFC 7519 §6).
func unsignedJWT(claims map[string]any) string {
	enc := func(v any) string {
		raw, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(raw)
	}
	return enc(map[string]string{"alg": "none", "typ": "JWT"}) + "." + enc(claims) + "."
}

// jwtPart decodes part i (0: header, 1: claims) of a compact JWS without
// verifying it: for reading what a verified token says.
func jwtPart(t *testing.T, raw string, i int) map[string]any {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("not a compact JWS: %q", raw)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[i])
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]any{}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// halfHash is at_hash / c_hash (OIDC Core §3.3.2.11) for alg.
func halfHash(alg, value string) string {
	var h hash.Hash = sha256.New()
	if alg == oidc.EdDSA {
		h = sha512.New()
	}
	h.Write([]byte(value))
	sum := h.Sum(nil)
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
}

func randomID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// tokenError is a refused token request as the client sees it.
type tokenError struct {
	Status int
	Code   string
	Body   string
}

// oauthError reads x/oauth2's error.
func oauthError(t *testing.T, err error) tokenError {
	t.Helper()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		t.Fatalf("want a token endpoint error, got %v", err)
	}
	return tokenError{Status: re.Response.StatusCode, Code: re.ErrorCode, Body: string(re.Body)}
}

// post sends a form to an endpoint with optional client_secret_basic
// credentials and returns the status and JSON body.
func (o *op) post(t *testing.T, path string, form url.Values, id, secret string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, o.issuer+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if id != "" {
		req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	}
	res, err := o.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := map[string]any{}
	if len(raw) > 0 && strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s: %v: %s", path, err, raw)
		}
	}
	return res.StatusCode, out
}

// userinfo calls the UserInfo endpoint with the token in the Authorization
// header (GET) and returns the status and claims.
func (o *op) userinfo(t *testing.T, accessToken string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, o.issuer+pathUserinfo, nil)
	req.Header.Set("Authorization", "Bearer "+accessToken)
	res, err := o.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	out := map[string]any{}
	if res.StatusCode == http.StatusOK {
		if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
			t.Fatal(err)
		}
	}
	return res.StatusCode, out
}

// authPost sends form to path authenticated as client c, the way c
// registered (client_secret_basic or client_secret_post).
func (o *op) authPost(t *testing.T, c *rpClient, path string, form url.Values) (int, map[string]any) {
	t.Helper()
	if c.Client.TokenEndpointAuthMethod == oidc.AuthClientSecretPost {
		form.Set("client_id", c.ID)
		form.Set("client_secret", c.Secret)
		return o.post(t, path, form, "", "")
	}
	return o.post(t, path, form, c.ID, c.Secret)
}

// introspect asks whether token is active, as client c.
func (o *op) introspect(t *testing.T, c *rpClient, token string) map[string]any {
	t.Helper()
	status, body := o.authPost(t, c, pathIntrospect, url.Values{"token": {token}})
	if status != http.StatusOK {
		t.Fatalf("introspection: %d %v", status, body)
	}
	return body
}

// eventually polls cond until it holds, for 5 s at most (what is heard
// through the hot state arrives asynchronously), and fails with msg.
func eventually(t *testing.T, cond func() bool, msg string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s after 5 s", msg)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
