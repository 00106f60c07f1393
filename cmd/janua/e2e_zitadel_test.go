package main

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/zitadel/oidc/v3/pkg/client/rp"
	httphelper "github.com/zitadel/oidc/v3/pkg/http"
	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"golang.org/x/oauth2"

	"github.com/madfam-org/janua/oidc"
)

// zitadel/oidc's relying party, as its examples wire it: AuthURLHandler
// (state and PKCE verifier in its cookies), the user agent through Janua,
// CodeExchangeHandler with UserinfoCallback (state, PKCE, ID token with
// nonce and at_hash, userinfo sub), then RefreshTokens, RevokeToken and
// EndSession — for a confidential, a public and a private_key_jwt client.
func TestE2EZitadelRP(t *testing.T) {
	t.Parallel()
	eachBackend(t, nil, func(t *testing.T, o *op) {
		const after = "https://rp.example.com/logged-out"
		for _, tc := range []struct {
			name string
			spec oidc.ClientSpec
		}{
			{"client_secret_basic", oidc.ClientSpec{}},
			{"public", oidc.ClientSpec{Public: true}},
			{"private_key_jwt", oidc.ClientSpec{TokenEndpointAuthMethod: oidc.AuthPrivateKeyJWT}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				tc.spec.PostLogoutRedirectURIs = []string{after}
				c := o.register(t, tc.spec)
				nonce := randomID(16)
				party := zitadelRP(t, o, c)
				if !party.IsPKCE() {
					t.Fatal("zitadel did not turn PKCE on")
				}

				// The RP's login handler redirects to Janua and sets its cookies.
				state := randomID(16)
				login := httptest.NewRecorder()
				rp.AuthURLHandler(func() string { return state }, party, rp.WithURLParam("nonce", nonce))(login,
					httptest.NewRequest(http.MethodGet, "https://rp.example.com/login", nil))
				authURL, err := url.Parse(login.Header().Get("Location"))
				if err != nil || authURL.Query().Get("code_challenge_method") != "S256" {
					t.Fatalf("zitadel's authorization request %v: %v", authURL, err)
				}
				resp := o.agent().authorize(authURL.String(), c.Redirect)
				if resp.Get("code") == "" {
					t.Fatalf("no code: %v", resp.Params)
				}

				// The RP's callback handler, with the browser's cookies.
				cb := httptest.NewRequest(http.MethodGet, c.Redirect+"?"+resp.Params.Encode(), nil)
				cb = cb.WithContext(context.WithValue(cb.Context(), nonceKey{}, nonce)) // the RP's session
				for _, ck := range login.Result().Cookies() {
					cb.AddCookie(ck)
				}
				var tokens *zoidc.Tokens[*zoidc.IDTokenClaims]
				var info *zoidc.UserInfo
				done := httptest.NewRecorder()
				rp.CodeExchangeHandler(rp.UserinfoCallback(func(w http.ResponseWriter, _ *http.Request,
					tok *zoidc.Tokens[*zoidc.IDTokenClaims], st string, _ rp.RelyingParty, ui *zoidc.UserInfo) {
					if st != state {
						t.Errorf("state %q", st)
					}
					tokens, info = tok, ui
					w.WriteHeader(http.StatusNoContent)
				}), party)(done, cb)
				if done.Code != http.StatusNoContent || tokens == nil {
					t.Fatalf("zitadel's callback: %d %s", done.Code, done.Body)
				}
				claims := tokens.IDTokenClaims
				if claims.Subject != o.userID || claims.Nonce != nonce || claims.AuthorizedParty != c.ID || info.Subject != o.userID ||
					string(info.Email) != o.email {
					t.Fatalf("ID token %+v, userinfo %+v", claims, info)
				}

				refreshed, err := rp.RefreshTokens[*zoidc.IDTokenClaims](o.ctx, party, tokens.RefreshToken, "", "")
				if err != nil {
					t.Fatalf("zitadel refresh: %v", err)
				}
				if refreshed.RefreshToken == "" || refreshed.RefreshToken == tokens.RefreshToken || refreshed.IDTokenClaims == nil ||
					refreshed.IDTokenClaims.Subject != o.userID {
					t.Fatalf("refreshed %+v", refreshed)
				}
				if ui, err := rp.Userinfo[*zoidc.UserInfo](o.ctx, refreshed.AccessToken, "Bearer", o.userID, party); err != nil || ui.Subject != o.userID {
					t.Fatalf("userinfo after refresh: %v %v", ui, err)
				}

				if err := rp.RevokeToken(o.ctx, party, refreshed.RefreshToken, "refresh_token"); err != nil {
					t.Fatalf("zitadel revoke: %v", err)
				}
				if _, err := rp.RefreshTokens[*zoidc.IDTokenClaims](o.ctx, party, refreshed.RefreshToken, "", ""); err == nil {
					t.Fatal("a revoked refresh token refreshed")
				}

				to, err := rp.EndSession(o.ctx, party, tokens.IDToken, after, "st-"+state, "", nil)
				if err != nil || to == nil || to.String() != after+"?state=st-"+state {
					t.Fatalf("zitadel end session: %v %v", to, err)
				}
				if _, err := rp.EndSession(o.ctx, party, unsignedJWT(map[string]any{"iss": o.issuer, "aud": c.ID, "sub": o.userID}), after, "st", "", nil); err == nil {
					t.Fatal("end session with an unsigned hint redirected")
				}
			})
		}
	})
}

// nonceKey carries the nonce of the RP's session to zitadel's verifier.
type nonceKey struct{}

// zitadelRP builds zitadel's relying party for c from discovery. Its ID
// token verifier expects the session's nonce at the callback and none on a
// refresh (OIDC Core §12.2: a refreshed ID token carries no nonce).
func zitadelRP(t *testing.T, o *op, c *rpClient) rp.RelyingParty {
	t.Helper()
	cookies := httphelper.NewCookieHandler([]byte(randomID(24)), []byte(randomID(24))[:32], httphelper.WithUnsecure())
	nonce := func(ctx context.Context) string {
		n, _ := ctx.Value(nonceKey{}).(string)
		return n
	}
	opts := []rp.Option{rp.WithHTTPClient(o.http), rp.WithPKCE(cookies), rp.WithVerifierOpts(rp.WithNonce(nonce))}
	switch c.Client.TokenEndpointAuthMethod {
	case oidc.AuthClientSecretBasic:
		opts = append(opts, rp.WithAuthStyle(oauth2.AuthStyleInHeader))
	case oidc.AuthPrivateKeyJWT:
		der, err := x509.MarshalPKCS8PrivateKey(c.Key)
		if err != nil {
			t.Fatal(err)
		}
		key := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
		opts = append(opts, rp.WithAuthStyle(oauth2.AuthStyleInParams), rp.WithJWTProfile(rp.SignerFromKeyAndKeyID(key, c.KID)))
	default:
		opts = append(opts, rp.WithAuthStyle(oauth2.AuthStyleInParams))
	}
	party, err := rp.NewRelyingPartyOIDC(o.ctx, o.issuer, c.ID, c.Secret, c.Redirect,
		[]string{"openid", "profile", "email", "offline_access"}, opts...)
	if err != nil {
		t.Fatalf("zitadel discovery: %v", err)
	}
	return party
}
