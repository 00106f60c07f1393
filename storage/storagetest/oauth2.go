package storagetest

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/openid"
	"github.com/ory/fosite/token/jwt"

	"github.com/madfam-org/janua/storage"
)

// oauth2Fixture is a harness with one registered client, the owner of every
// request the fosite subtests store.
type oauth2Fixture struct {
	*harness
	client *storage.Client
}

func newOAuth2Fixture(t *testing.T, b Backend) *oauth2Fixture {
	t.Helper()
	h := newHarness(t, b)
	c := newClient("rp")
	c.Metadata.RefreshTokenAbsoluteTTL = 86400
	if err := h.store.CreateClient(h.ctx, c); err != nil {
		t.Fatal(err)
	}
	return &oauth2Fixture{harness: h, client: c}
}

// newOIDCSession is the session the oidc package stores: ID token claims and
// headers, and an expiry per token.
func newOIDCSession(subject string, now time.Time) *openid.DefaultSession {
	return &openid.DefaultSession{
		Claims: &jwt.IDTokenClaims{
			Issuer:                              "https://janua.example.com",
			Subject:                             subject,
			Audience:                            []string{"rp"},
			Nonce:                               "n-0S6_WzA2Mj",
			RequestedAt:                         now,
			AuthTime:                            now.Add(-time.Minute).Truncate(time.Second),
			AuthenticationContextClassReference: "mfa",
			AuthenticationMethodsReferences:     []string{"pwd", "otp"},
			Extra:                               map[string]any{"sid": "sid-1", "email": "alice@example.com"},
		},
		Headers: &jwt.Headers{Extra: map[string]any{"kid": "key-1"}},
		ExpiresAt: map[fosite.TokenType]time.Time{
			fosite.AuthorizeCode: now.Add(10 * time.Minute),
			fosite.AccessToken:   now.Add(time.Hour),
			fosite.RefreshToken:  now.Add(30 * 24 * time.Hour),
		},
		Username: "alice",
		Subject:  subject,
	}
}

// secretForm is a form carrying every credential a request may hold next to
// the parameters handlers need back.
func secretForm() url.Values {
	return url.Values{
		"redirect_uri":          {"https://app.example.com/callback"},
		"response_type":         {"code"},
		"scope":                 {"openid offline_access"},
		"state":                 {"state-xyz-123"},
		"nonce":                 {"n-0S6_WzA2Mj"},
		"prompt":                {"consent"},
		"code_challenge":        {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"},
		"code_challenge_method": {"S256"},
		"client_id":             {"rp"},
		"client_secret":         {"SECRET-client-secret"},
		"client_assertion":      {"SECRET-client-assertion"},
		"code_verifier":         {"SECRET-code-verifier"},
		"password":              {"SECRET-password"},
		"refresh_token":         {"SECRET-refresh-token"},
		"code":                  {"SECRET-code"},
		"assertion":             {"SECRET-assertion"},
		"id_token_hint":         {"SECRET-id-token-hint"},
	}
}

// request returns a fresh fosite request of the fixture's client for subject.
func (f *oauth2Fixture) request(subject string) *fosite.Request {
	now := f.clock.Now()
	return &fosite.Request{
		ID:                "req-" + randomHex(8),
		RequestedAt:       now,
		Client:            storage.NewFositeClient(f.client),
		RequestedScope:    fosite.Arguments{"openid", "offline_access", "profile"},
		GrantedScope:      fosite.Arguments{"openid", "offline_access"},
		RequestedAudience: fosite.Arguments{"https://api.example.com"},
		GrantedAudience:   fosite.Arguments{"https://api.example.com"},
		Form:              secretForm(),
		Session:           newOIDCSession(subject, now),
	}
}

// sig returns a fresh token signature.
func sig() string { return "sig-" + randomHex(16) }

// rowKey is how storage keys a row: the hex SHA-256 of fosite's key.
func rowKey(signature string) string {
	sum := sha256.Sum256([]byte(signature))
	return hex.EncodeToString(sum[:])
}

func testOAuth2AuthorizeCodes(t *testing.T, b Backend) {
	t.Run("CreateGetInvalidate", func(t *testing.T) {
		f := newOAuth2Fixture(t, b)
		req, code := f.request("alice"), sig()
		if err := f.store.CreateAuthorizeCodeSession(f.ctx, code, req); err != nil {
			t.Fatal(err)
		}
		got, err := f.store.GetAuthorizeCodeSession(f.ctx, code, openid.NewDefaultSession())
		if err != nil {
			t.Fatal(err)
		}
		if got.GetID() != req.ID || got.GetClient().GetID() != "rp" || got.GetSession().GetSubject() != "alice" {
			t.Fatalf("loaded %+v", got)
		}
		if err := f.store.InvalidateAuthorizeCodeSession(f.ctx, code); err != nil {
			t.Fatal(err)
		}
		// RFC 6749 §4.1.2: fosite needs the request of a used code, to revoke its tokens.
		got, err = f.store.GetAuthorizeCodeSession(f.ctx, code, openid.NewDefaultSession())
		if !errors.Is(err, fosite.ErrInvalidatedAuthorizeCode) {
			t.Fatalf("used code: %v, want ErrInvalidatedAuthorizeCode", err)
		}
		if got == nil || got.GetID() != req.ID || got.GetSession().GetSubject() != "alice" {
			t.Fatalf("used code returned requester %+v, want the request with its session", got)
		}
		err = f.store.InvalidateAuthorizeCodeSession(f.ctx, code)
		if !errors.Is(err, fosite.ErrInvalidatedAuthorizeCode) || !is(err, storage.ErrConflict) {
			t.Fatalf("second invalidation: %v, want ErrInvalidatedAuthorizeCode and ErrConflict", err)
		}
	})

	t.Run("ConcurrentRedemptionsInvalidateOnce", func(t *testing.T) {
		f := newOAuth2Fixture(t, b)
		code := sig()
		if err := f.store.CreateAuthorizeCodeSession(f.ctx, code, f.request("alice")); err != nil {
			t.Fatal(err)
		}
		const racers = 6
		errs := make([]error, racers)
		var wg sync.WaitGroup
		for i := range racers {
			wg.Go(func() {
				ctx, err := f.store.BeginTX(f.ctx)
				if err != nil {
					errs[i] = err
					return
				}
				if errs[i] = f.store.InvalidateAuthorizeCodeSession(ctx, code); errs[i] != nil {
					_ = f.store.Rollback(ctx)
					return
				}
				errs[i] = f.store.Commit(ctx)
			})
		}
		wg.Wait()
		wins := 0
		for _, err := range errs {
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, fosite.ErrInvalidatedAuthorizeCode):
				t.Fatalf("racer: %v", err)
			}
		}
		if wins != 1 {
			t.Fatalf("%d concurrent redemptions invalidated the code, want exactly 1", wins)
		}
	})

	// The token endpoint's transaction: the code marked used and the
	// tokens stored together, committed as one statement on PostgreSQL;
	// a redemption of a used code commits nothing.
	t.Run("RedeemAtCommit", func(t *testing.T) {
		f := newOAuth2Fixture(t, b)
		code := sig()
		if err := f.store.CreateAuthorizeCodeSession(f.ctx, code, f.request("alice")); err != nil {
			t.Fatal(err)
		}
		redeem := func() (access string, err error) {
			access = sig()
			ctx, err := f.store.BeginTX(f.ctx)
			if err != nil {
				return "", err
			}
			if err := f.store.InvalidateAuthorizeCodeSession(ctx, code); err != nil {
				_ = f.store.Rollback(ctx)
				return access, err
			}
			if err := f.store.CreateAccessTokenSession(ctx, access, f.request("alice")); err != nil {
				_ = f.store.Rollback(ctx)
				return access, err
			}
			if err := f.store.CreateRefreshTokenSession(ctx, sig(), access, f.request("alice")); err != nil {
				_ = f.store.Rollback(ctx)
				return access, err
			}
			return access, f.store.Commit(ctx)
		}
		before := f.store.Stats()
		first, err := redeem()
		if err != nil {
			t.Fatalf("first redemption: %v", err)
		}
		n := f.store.Stats().Total() - before.Total()
		want := uint64(4) // BEGIN, UPDATE, INSERT, COMMIT
		if f.store.Dialect() == storage.Postgres {
			want = 1
		}
		if n != want {
			t.Errorf("a redemption took %d statements, want %d", n, want)
		}
		if _, err := f.store.GetAccessTokenSession(f.ctx, first, openid.NewDefaultSession()); err != nil {
			t.Fatalf("the redemption's access token: %v", err)
		}
		second, err := redeem()
		if !errors.Is(err, fosite.ErrInvalidatedAuthorizeCode) {
			t.Fatalf("second redemption: %v, want ErrInvalidatedAuthorizeCode", err)
		}
		if _, err := f.store.GetAccessTokenSession(f.ctx, second, openid.NewDefaultSession()); !errors.Is(err, fosite.ErrNotFound) {
			t.Fatalf("the failed redemption's access token: %v, want none stored", err)
		}
	})

	t.Run("PKCE", func(t *testing.T) {
		f := newOAuth2Fixture(t, b)
		req, code := f.request("alice"), sig()
		req.Form = url.Values{"code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}, "code_challenge_method": {"S256"}, "code_verifier": {"SECRET"}}
		if err := f.store.CreatePKCERequestSession(f.ctx, code, req); err != nil {
			t.Fatal(err)
		}
		got, err := f.store.GetPKCERequestSession(f.ctx, code, openid.NewDefaultSession())
		if err != nil {
			t.Fatal(err)
		}
		form := got.GetRequestForm()
		if form.Get("code_challenge") != "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM" || form.Get("code_challenge_method") != "S256" || form.Has("code_verifier") {
			t.Fatalf("PKCE form %v, want the challenge and its method only", form)
		}
		if got.GetClient().GetID() != "rp" {
			t.Fatalf("PKCE client %q", got.GetClient().GetID())
		}
		if err := f.store.DeletePKCERequestSession(f.ctx, code); err != nil {
			t.Fatal(err)
		}
		if _, err := f.store.GetPKCERequestSession(f.ctx, code, openid.NewDefaultSession()); !errors.Is(err, fosite.ErrNotFound) {
			t.Fatalf("deleted PKCE session: %v", err)
		}
		if err := f.store.DeletePKCERequestSession(f.ctx, code); !errors.Is(err, fosite.ErrNotFound) {
			t.Fatalf("second delete: %v", err)
		}
	})

	t.Run("OpenIDConnectKeyedByCodeHash", func(t *testing.T) {
		f := newOAuth2Fixture(t, b)
		req := f.request("alice")
		// fosite passes the whole code here, not its signature.
		code := "ory_ac_" + randomHex(16) + "." + randomHex(16)
		if err := f.store.CreateOpenIDConnectSession(f.ctx, code, req); err != nil {
			t.Fatal(err)
		}
		tokenReq := &fosite.AccessRequest{Request: fosite.Request{Session: openid.NewDefaultSession()}}
		got, err := f.store.GetOpenIDConnectSession(f.ctx, code, tokenReq)
		if err != nil {
			t.Fatal(err)
		}
		if got.GetSession() != tokenReq.GetSession() || got.GetSession().(*openid.DefaultSession).Claims.Nonce != "n-0S6_WzA2Mj" {
			t.Fatalf("OIDC session not filled into the token request's session: %+v", got.GetSession())
		}
		if !got.GetGrantedScopes().Has("openid") || got.GetRequestForm().Get("nonce") != "n-0S6_WzA2Mj" {
			t.Fatalf("OIDC request %+v", got)
		}
		var n int
		like := "%" + code[7:] + "%"
		if err := f.raw().QueryRowContext(f.ctx, f.rebind("SELECT COUNT(*) FROM oauth2_sessions WHERE signature LIKE ? OR form LIKE ? OR session LIKE ?"), like, like, like).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Fatal("the authorization code itself is in the database")
		}
		if err := f.store.DeleteOpenIDConnectSession(f.ctx, code); err != nil {
			t.Fatal(err)
		}
		if _, err := f.store.GetOpenIDConnectSession(f.ctx, code, tokenReq); !errors.Is(err, openid.ErrNoSessionFound) {
			t.Fatalf("deleted OIDC session: %v, want openid.ErrNoSessionFound", err)
		}
	})
}

func testOAuth2AccessTokens(t *testing.T, b Backend) {
	f := newOAuth2Fixture(t, b)
	req, at := f.request("alice"), sig()
	if err := f.store.CreateAccessTokenSession(f.ctx, at, req); err != nil {
		t.Fatal(err)
	}
	if err := f.store.CreateAccessTokenSession(f.ctx, at, req); !is(err, storage.ErrAlreadyExists) {
		t.Fatalf("duplicate signature: %v", err)
	}
	got, err := f.store.GetAccessTokenSession(f.ctx, at, openid.NewDefaultSession())
	if err != nil {
		t.Fatal(err)
	}
	if got.GetID() != req.ID || !got.GetGrantedScopes().Has("openid", "offline_access") || got.GetGrantedScopes().Has("profile") ||
		!got.GetRequestedScopes().Has("profile") || !got.GetGrantedAudience().Has("https://api.example.com") ||
		!got.GetRequestedAt().Equal(req.RequestedAt.Truncate(time.Microsecond)) {
		t.Fatalf("access token request %+v, want %+v", got, req)
	}
	// Expiry is fosite's to check, from the session: an expired token still
	// loads, so that fosite reports it as expired.
	f.clock.Advance(2 * time.Hour)
	got, err = f.store.GetAccessTokenSession(f.ctx, at, openid.NewDefaultSession())
	if err != nil || !got.GetSession().GetExpiresAt(fosite.AccessToken).Before(f.clock.Now()) {
		t.Fatalf("expired access token: %v, want it loaded with its past expiry", err)
	}
	if err := f.store.DeleteAccessTokenSession(f.ctx, at); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.GetAccessTokenSession(f.ctx, at, openid.NewDefaultSession()); !errors.Is(err, fosite.ErrNotFound) {
		t.Fatalf("deleted access token: %v", err)
	}
	if err := f.store.DeleteAccessTokenSession(f.ctx, at); !errors.Is(err, fosite.ErrNotFound) || !is(err, storage.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
}
