package storage_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/compose"
	"github.com/ory/fosite/handler/openid"
	"github.com/ory/fosite/token/jwt"
	"golang.org/x/oauth2"

	"github.com/madfam-org/janua/storage"
	"github.com/madfam-org/janua/storage/storagetest"
)

// fositeStore is the smallest fosite.Storage over *storage.Store: the store
// plus a fosite.ClientManager, which the oidc package provides in Janua.
type fositeStore struct {
	*storage.Store
	mu   sync.Mutex
	jtis map[string]time.Time
}

var _ fosite.ClientManager = (*fositeStore)(nil)

func (f *fositeStore) GetClient(ctx context.Context, id string) (fosite.Client, error) {
	c, err := f.Store.GetClient(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, fosite.ErrNotFound.WithWrap(err)
	} else if err != nil {
		return nil, err
	}
	return storage.NewFositeClient(c), nil
}

func (f *fositeStore) ClientAssertionJWTValid(_ context.Context, jti string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if exp, ok := f.jtis[jti]; ok && exp.After(time.Now()) {
		return fosite.ErrJTIKnown
	}
	return nil
}

func (f *fositeStore) SetClientAssertionJWT(_ context.Context, jti string, exp time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if known, ok := f.jtis[jti]; ok && known.After(time.Now()) {
		return fosite.ErrJTIKnown
	}
	f.jtis[jti] = exp
	return nil
}

// sha256Hasher compares client secrets with their stored SHA-256 digests.
type sha256Hasher struct{}

func (sha256Hasher) Hash(_ context.Context, data []byte) ([]byte, error) {
	sum := sha256.Sum256(data)
	return sum[:], nil
}

func (sha256Hasher) Compare(_ context.Context, hash, data []byte) error {
	sum := sha256.Sum256(data)
	if subtle.ConstantTimeCompare(hash, sum[:]) != 1 {
		return errors.New("secret mismatch")
	}
	return nil
}

// op is fosite composed over the store with the factories Janua uses,
// behind an httptest server, with a registered confidential client.
type op struct {
	t      *testing.T
	srv    *httptest.Server
	dbURL  string
	conf   *oauth2.Config
	secret string
	// seen collects every token, code, secret and verifier handed out, to
	// prove none of them reaches the database.
	seen []string
}

func newOP(t *testing.T, b storagetest.Backend) *op {
	t.Helper()
	ctx := t.Context()
	o := &op{t: t, dbURL: b.NewDatabaseURL(t), secret: "rp-secret-" + strings.Repeat("x", 32)}
	s, err := storage.Open(ctx, storage.Options{URL: o.dbURL, Secret: []byte("fosite e2e key-encryption secret, 32+ bytes")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(o.secret))
	err = s.CreateClient(ctx, &storage.Client{
		ID: "rp", SecretHash: sum[:], Name: "RP", TokenEndpointAuthMethod: "client_secret_basic",
		RedirectURIs:  []string{"https://rp.example.com/cb"},
		GrantTypes:    []string{"authorization_code", "refresh_token"},
		ResponseTypes: []string{"code"},
		Scopes:        []string{"openid", "offline_access", "profile"},
	})
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	keyGetter := func(context.Context) (any, error) { return key, nil }

	mux := http.NewServeMux()
	o.srv = httptest.NewServer(mux)
	t.Cleanup(o.srv.Close)
	config := &fosite.Config{
		GlobalSecret:               []byte("fosite e2e global HMAC secret!!!"),
		AccessTokenLifespan:        time.Hour,
		RefreshTokenLifespan:       24 * time.Hour,
		AuthorizeCodeLifespan:      10 * time.Minute,
		IDTokenLifespan:            time.Hour,
		IDTokenIssuer:              o.srv.URL,
		ClientSecretsHasher:        sha256Hasher{},
		EnforcePKCE:                true,
		SendDebugMessagesToClients: true,
	}
	strategy := &compose.CommonStrategy{
		CoreStrategy:               compose.NewOAuth2HMACStrategy(config),
		OpenIDConnectTokenStrategy: compose.NewOpenIDConnectStrategy(keyGetter, config),
		Signer:                     &jwt.DefaultSigner{GetPrivateKey: keyGetter},
	}
	provider := compose.Compose(config, &fositeStore{Store: s, jtis: map[string]time.Time{}}, strategy,
		compose.OAuth2AuthorizeExplicitFactory,
		compose.OAuth2RefreshTokenGrantFactory,
		compose.OAuth2TokenRevocationFactory,
		compose.OpenIDConnectExplicitFactory,
		compose.OAuth2PKCEFactory,
		compose.OAuth2TokenIntrospectionFactory,
	)
	mux.HandleFunc("/auth", func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		ar, err := provider.NewAuthorizeRequest(ctx, r)
		if err != nil {
			provider.WriteAuthorizeError(ctx, w, ar, err)
			return
		}
		for _, scope := range ar.GetRequestedScopes() {
			ar.GrantScope(scope)
		}
		now := time.Now().UTC().Truncate(time.Second)
		sess := &openid.DefaultSession{
			Claims:  &jwt.IDTokenClaims{Subject: "alice", AuthTime: now, RequestedAt: ar.GetRequestedAt()},
			Headers: &jwt.Headers{},
			Subject: "alice",
		}
		resp, err := provider.NewAuthorizeResponse(ctx, ar, sess)
		if err != nil {
			provider.WriteAuthorizeError(ctx, w, ar, err)
			return
		}
		provider.WriteAuthorizeResponse(ctx, w, ar, resp)
	})
	mux.HandleFunc("/token", func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		ar, err := provider.NewAccessRequest(ctx, r, openid.NewDefaultSession())
		if err != nil {
			provider.WriteAccessError(ctx, w, ar, err)
			return
		}
		resp, err := provider.NewAccessResponse(ctx, ar)
		if err != nil {
			provider.WriteAccessError(ctx, w, ar, err)
			return
		}
		provider.WriteAccessResponse(ctx, w, ar, resp)
	})
	mux.HandleFunc("/introspect", func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		ir, err := provider.NewIntrospectionRequest(ctx, r, openid.NewDefaultSession())
		if err != nil {
			provider.WriteIntrospectionError(ctx, w, err)
			return
		}
		provider.WriteIntrospectionResponse(ctx, w, ir)
	})
	mux.HandleFunc("/revoke", func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		provider.WriteRevocationResponse(ctx, w, provider.NewRevocationRequest(ctx, r))
	})
	o.conf = &oauth2.Config{
		ClientID:     "rp",
		ClientSecret: o.secret,
		Endpoint:     oauth2.Endpoint{AuthURL: o.srv.URL + "/auth", TokenURL: o.srv.URL + "/token", AuthStyle: oauth2.AuthStyleInHeader},
		RedirectURL:  "https://rp.example.com/cb",
		Scopes:       []string{"openid", "offline_access"},
	}
	o.seen = append(o.seen, o.secret)
	return o
}

// authorize runs the authorization request and returns the code and its
// PKCE verifier (RFC 6749 §4.1.1, RFC 7636 §4.3).
func (o *op) authorize() (code, verifier string) {
	o.t.Helper()
	verifier = oauth2.GenerateVerifier()
	u := o.conf.AuthCodeURL("state-"+rand.Text(), oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("nonce", "nonce-"+rand.Text()))
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(u)
	if err != nil {
		o.t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Query().Get("code") == "" {
		o.t.Fatalf("authorize: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	code = loc.Query().Get("code")
	o.seen = append(o.seen, code, verifier)
	return code, verifier
}

// exchange redeems a code (RFC 6749 §4.1.3).
func (o *op) exchange(code, verifier string) (*oauth2.Token, error) {
	tok, err := o.conf.Exchange(o.t.Context(), code, oauth2.VerifierOption(verifier))
	if err == nil {
		o.seen = append(o.seen, tok.AccessToken, tok.RefreshToken)
	}
	return tok, err
}

// refresh uses a refresh token (RFC 6749 §6).
func (o *op) refresh(refreshToken string) (*oauth2.Token, error) {
	tok, err := o.conf.TokenSource(o.t.Context(), &oauth2.Token{RefreshToken: refreshToken}).Token()
	if err == nil {
		o.seen = append(o.seen, tok.AccessToken, tok.RefreshToken)
	}
	return tok, err
}

// active asks the introspection endpoint about a token (RFC 7662 §2).
func (o *op) active(token, hint string) bool {
	o.t.Helper()
	return o.post("/introspect", url.Values{"token": {token}, "token_type_hint": {hint}})["active"] == true
}

// revoke revokes a token (RFC 7009 §2.1).
func (o *op) revoke(token, hint string) {
	o.t.Helper()
	o.post("/revoke", url.Values{"token": {token}, "token_type_hint": {hint}})
}

func (o *op) post(path string, form url.Values) map[string]any {
	o.t.Helper()
	req, _ := http.NewRequestWithContext(o.t.Context(), http.MethodPost, o.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("rp", o.secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		o.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		o.t.Fatalf("%s: HTTP %d", path, resp.StatusCode)
	}
	out := map[string]any{}
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return out
}

// invalidGrant reports an invalid_grant error from the token endpoint.
func invalidGrant(err error) bool {
	var re *oauth2.RetrieveError
	return errors.As(err, &re) && re.ErrorCode == "invalid_grant"
}

// TestFositeEndToEnd drives fosite itself over the store, with a real OAuth
// client: the storage semantics are right when fosite's own flows come out
// right.
func TestFositeEndToEnd(t *testing.T) {
	for _, b := range storagetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			o := newOP(t, b)

			// Authorization code with PKCE and OpenID Connect.
			code, verifier := o.authorize()
			t1, err := o.exchange(code, verifier)
			if err != nil {
				t.Fatal(err)
			}
			if t1.RefreshToken == "" || t1.Extra("id_token") == nil || !o.active(t1.AccessToken, "access_token") {
				t.Fatalf("token response %+v: want an active access token, a refresh token and an ID token", t1)
			}

			// Refresh rotates: the old access token goes, the new pair works.
			t2, err := o.refresh(t1.RefreshToken)
			if err != nil {
				t.Fatal(err)
			}
			if o.active(t1.AccessToken, "access_token") || !o.active(t2.AccessToken, "access_token") || !o.active(t2.RefreshToken, "refresh_token") {
				t.Fatal("after a refresh: want the old access token inactive and the new pair active")
			}
			t3, err := o.refresh(t2.RefreshToken)
			if err != nil {
				t.Fatal(err)
			}

			// Reuse of a rotated refresh token revokes the family (RFC 9700 §4.14.2).
			if _, err := o.refresh(t1.RefreshToken); !invalidGrant(err) {
				t.Fatalf("reused refresh token: %v, want invalid_grant", err)
			}
			if o.active(t3.AccessToken, "access_token") || o.active(t3.RefreshToken, "refresh_token") {
				t.Fatal("after refresh token reuse the latest pair still works")
			}
			if _, err := o.refresh(t3.RefreshToken); !invalidGrant(err) {
				t.Fatalf("latest refresh token of a revoked family: %v, want invalid_grant", err)
			}

			// A code used twice is refused and its tokens revoked (RFC 6749 §4.1.2).
			code, verifier = o.authorize()
			t4, err := o.exchange(code, verifier)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := o.exchange(code, verifier); !invalidGrant(err) {
				t.Fatalf("reused code: %v, want invalid_grant", err)
			}
			if o.active(t4.AccessToken, "access_token") {
				t.Fatal("the access token of a reused code still introspects")
			}
			if _, err := o.refresh(t4.RefreshToken); !invalidGrant(err) {
				t.Fatalf("refresh token of a reused code: %v, want invalid_grant", err)
			}

			// Revoking a refresh token revokes its grant (RFC 7009 §2.1).
			code, verifier = o.authorize()
			t5, err := o.exchange(code, verifier)
			if err != nil {
				t.Fatal(err)
			}
			o.revoke(t5.RefreshToken, "refresh_token")
			if o.active(t5.AccessToken, "access_token") || o.active(t5.RefreshToken, "refresh_token") {
				t.Fatal("a revoked grant still works")
			}

			// A code left unredeemed keeps its code, PKCE and OIDC rows.
			o.authorize()
			o.noSecretsStored()
		})
	}
}

// noSecretsStored reads every stored row and looks for any code, token,
// verifier or secret the flows handed out, or either half of a token or code
// (the key before the dot, the signature fosite passes to storage after it).
func (o *op) noSecretsStored() {
	o.t.Helper()
	u, err := storage.ParseDatabaseURL(o.dbURL)
	if err != nil {
		o.t.Fatal(err)
	}
	driver := map[storage.Dialect]string{storage.SQLite: "sqlite", storage.Postgres: "pgx"}[u.Dialect]
	db, err := sql.Open(driver, u.DSN)
	if err != nil {
		o.t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.QueryContext(o.t.Context(), "SELECT kind, signature, request_id, form, session, access_signature FROM oauth2_sessions")
	if err != nil {
		o.t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		n++
		var cols [6]string
		if err := rows.Scan(&cols[0], &cols[1], &cols[2], &cols[3], &cols[4], &cols[5]); err != nil {
			o.t.Fatal(err)
		}
		all := strings.Join(cols[:], "\n")
		for _, s := range o.seen {
			key, signature, _ := strings.Cut(s, ".")
			if s != "" && (strings.Contains(all, s) || strings.Contains(all, key) || (signature != "" && strings.Contains(all, signature))) {
				o.t.Errorf("a %s row holds a secret the server handed out", cols[0])
			}
		}
	}
	if err := rows.Err(); err != nil || n == 0 {
		o.t.Fatalf("read %d rows: %v", n, err)
	}
}
