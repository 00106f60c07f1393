package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/madfam-org/janua/oidc"
	"github.com/madfam-org/janua/storage"
)

// The authorization code flow, with coreos/go-oidc and x/oauth2, for every
// way a client authenticates and every ID token algorithm: the user signs
// in, consents once (remembered), and the RP gets a verified ID token whose
// claims say who, when and how, and a userinfo response about the same sub.
func TestE2ECodeFlow(t *testing.T) {
	t.Parallel()
	eachBackend(t, nil, func(t *testing.T, o *op) {
		for _, tc := range []struct {
			name string
			spec oidc.ClientSpec
		}{
			{"client_secret_basic", oidc.ClientSpec{}},
			{"client_secret_post", oidc.ClientSpec{TokenEndpointAuthMethod: oidc.AuthClientSecretPost}},
			{"public with PKCE", oidc.ClientSpec{Public: true}},
			{"ES256 ID tokens", oidc.ClientSpec{Metadata: storage.ClientMetadata{IDTokenSignedResponseAlg: oidc.ES256}}},
			{"EdDSA ID tokens", oidc.ClientSpec{Metadata: storage.ClientMetadata{IDTokenSignedResponseAlg: oidc.EdDSA}}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				c := o.register(t, tc.spec)
				rp := o.goRP(t, c)
				s := rp.login(o.agent())
				if !slices.Equal(s.Response.Shown, []string{"login", "consent"}) {
					t.Errorf("pages shown: %v", s.Response.Shown)
				}
				checkIDToken(t, o, c, s, o.userID)
				if s.ID.AccessTokenHash == "" {
					t.Error("no at_hash")
				}
				// Scope claims come from userinfo in the code flow (OIDC Core §5.4).
				if _, ok := s.Claims["email"]; ok {
					t.Errorf("email in the code flow's ID token: %v", s.Claims)
				}
				if s.Token.RefreshToken != "" {
					t.Error("a refresh token without offline_access")
				}
				if !strings.HasPrefix(s.Token.AccessToken, "janua_at_") || s.Token.Expiry.IsZero() {
					t.Errorf("access token %q, expiry %v", s.Token.AccessToken, s.Token.Expiry)
				}
				ui, err := o.provider.UserInfo(o.ctx, oauth2.StaticTokenSource(s.Token))
				if err != nil {
					t.Fatalf("userinfo: %v", err)
				}
				var claims map[string]any
				_ = ui.Claims(&claims)
				if ui.Subject != s.ID.Subject || ui.Email != o.email || claims["name"] != "Test "+o.email {
					t.Errorf("userinfo %v for sub %s", claims, s.ID.Subject)
				}
				// Consent is remembered: a new browser signs in and goes
				// straight back.
				again := rp.login(o.agent())
				if !slices.Equal(again.Response.Shown, []string{"login"}) {
					t.Errorf("second sign-in showed %v", again.Response.Shown)
				}
				if again.ID.Subject != s.ID.Subject || again.Claims["sid"] == s.Claims["sid"] {
					t.Errorf("second sign-in: sub %s sid %v (first %v)", again.ID.Subject, again.Claims["sid"], s.Claims["sid"])
				}
			})
		}

		// A first-party client never shows the consent page.
		t.Run("first party", func(t *testing.T) {
			c := o.register(t, oidc.ClientSpec{FirstParty: true})
			s := o.goRP(t, c).login(o.agent())
			if !slices.Equal(s.Response.Shown, []string{"login"}) {
				t.Errorf("pages shown: %v", s.Response.Shown)
			}
		})

		// The authorization request as a form POST, with an unknown
		// parameter (OIDC Core §3.1.2.1, RFC 6749 §3.1).
		t.Run("POST authorization request", func(t *testing.T) {
			c := o.register(t, oidc.ClientSpec{})
			rp := o.goRP(t, c)
			u, state, nonce, verifier := rp.authURL(oauth2.SetAuthURLParam("extra", "foobar"))
			parsed, _ := url.Parse(u)
			resp := o.agent().authorizePost(parsed.Query(), c.Redirect)
			if resp.Get("state") != state || resp.Get("code") == "" {
				t.Fatalf("response %v", resp.Params)
			}
			checkIDToken(t, o, c, rp.exchange(resp.Get("code"), nonce, verifier), o.userID)
		})

		// Consent denied: access_denied at the redirect URI, with state and iss.
		t.Run("consent denied", func(t *testing.T) {
			c := o.register(t, oidc.ClientSpec{})
			u, state, _, _ := o.goRP(t, c).authURL()
			a := o.agent()
			a.consent = "deny"
			resp := a.authorize(u, c.Redirect)
			if resp.Get("error") != "access_denied" || resp.Get("state") != state || resp.Params.Has("code") {
				t.Fatalf("deny: %v", resp.Params)
			}
		})
	})
}

// The UserInfo endpoint answers GET and POST, with the token in the
// Authorization header or (POST) the form body, never the query; the claims
// parameter releases single claims; a client that registered
// userinfo_signed_response_alg gets a JWT signed with it.
func TestE2EUserinfo(t *testing.T) {
	t.Parallel()
	eachBackend(t, nil, func(t *testing.T, o *op) {
		c := o.register(t, oidc.ClientSpec{})
		s := o.goRP(t, c, "openid").login(o.agent(),
			oauth2.SetAuthURLParam("claims", `{"userinfo":{"name":{"essential":true}},"id_token":{"email":null}}`))
		at := s.Token.AccessToken
		if s.Claims["email"] != o.email || s.Claims["name"] != nil {
			t.Errorf("claims parameter: the ID token has %v", s.Claims)
		}
		for _, tc := range []struct {
			name, method, query string
			header              bool
			body                url.Values
			status              int
		}{
			{"GET header", http.MethodGet, "", true, nil, 200},
			{"POST header", http.MethodPost, "", true, url.Values{}, 200},
			{"POST body", http.MethodPost, "", false, url.Values{"access_token": {at}}, 200},
			{"both", http.MethodPost, "", true, url.Values{"access_token": {at}}, 400},
			{"query", http.MethodGet, "?access_token=" + url.QueryEscape(at), false, nil, 401},
			{"none", http.MethodGet, "", false, nil, 401},
			{"bad token", http.MethodGet, "", false, nil, 401},
		} {
			t.Run(tc.name, func(t *testing.T) {
				var body io.Reader
				if tc.body != nil {
					body = strings.NewReader(tc.body.Encode())
				}
				req, _ := http.NewRequest(tc.method, o.issuer+pathUserinfo+tc.query, body)
				if tc.body != nil {
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				}
				switch {
				case tc.header:
					req.Header.Set("Authorization", "Bearer "+at)
				case tc.name == "bad token":
					req.Header.Set("Authorization", "Bearer janua_at_forged.forged")
				}
				res, err := o.http.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer res.Body.Close()
				if res.StatusCode != tc.status {
					t.Fatalf("status %d, want %d", res.StatusCode, tc.status)
				}
				if tc.status == 401 && !strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Bearer") {
					t.Errorf("WWW-Authenticate %q", res.Header.Get("WWW-Authenticate"))
				}
				if tc.status != 200 {
					return
				}
				if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
					t.Errorf("Content-Type %q", ct)
				}
				var claims map[string]any
				if err := json.NewDecoder(res.Body).Decode(&claims); err != nil {
					t.Fatal(err)
				}
				// scope openid only: name was asked for individually, email
				// only for the ID token.
				if claims["sub"] != s.ID.Subject || claims["name"] != "Test "+o.email || claims["email"] != nil {
					t.Errorf("claims %v", claims)
				}
			})
		}

		for _, alg := range []string{oidc.RS256, oidc.ES256, oidc.EdDSA} {
			t.Run("signed "+alg, func(t *testing.T) {
				c := o.register(t, oidc.ClientSpec{Metadata: storage.ClientMetadata{UserinfoSignedResponseAlg: alg}})
				s := o.goRP(t, c).login(o.agent())
				req, _ := http.NewRequest(http.MethodGet, o.issuer+pathUserinfo, nil)
				req.Header.Set("Authorization", "Bearer "+s.Token.AccessToken)
				res, err := o.http.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				raw, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/jwt" {
					t.Fatalf("%d %q: %s", res.StatusCode, res.Header.Get("Content-Type"), raw)
				}
				keys := gooidc.NewRemoteKeySet(o.ctx, o.issuer+pathJWKS)
				payload, err := keys.VerifySignature(o.ctx, string(raw))
				if err != nil {
					t.Fatalf("signed userinfo does not verify with the JWKS: %v", err)
				}
				var claims map[string]any
				_ = json.Unmarshal(payload, &claims)
				if h := jwtPart(t, string(raw), 0); h["alg"] != alg {
					t.Errorf("alg %v, want %s", h["alg"], alg)
				}
				// OIDC Core §5.3.2: iss and aud, the same sub, no nonce.
				if claims["iss"] != o.issuer || claims["aud"] != c.ID || claims["sub"] != s.ID.Subject ||
					claims["email"] != o.email || claims["nonce"] != nil {
					t.Errorf("signed userinfo %v", claims)
				}
			})
		}
	})
}

// Pairwise subjects (OIDC Core §8.1): two clients in different sectors see
// different, stable subs for the same user, never the internal ID; userinfo
// and introspection say the sub the ID token says.
func TestE2EPairwiseSubjects(t *testing.T) {
	t.Parallel()
	eachBackend(t, nil, func(t *testing.T, o *op) {
		pairwise := oidc.ClientSpec{Metadata: storage.ClientMetadata{SubjectType: "pairwise"}}
		a, b := o.register(t, pairwise), o.register(t, pairwise)
		pub := o.register(t, oidc.ClientSpec{})
		sa, sb := o.goRP(t, a).login(o.agent()), o.goRP(t, b).login(o.agent())
		sp := o.goRP(t, pub).login(o.agent())
		if sa.ID.Subject == sb.ID.Subject || sa.ID.Subject == o.userID || sb.ID.Subject == o.userID {
			t.Fatalf("pairwise subs: %s and %s (user %s)", sa.ID.Subject, sb.ID.Subject, o.userID)
		}
		if sp.ID.Subject != o.userID {
			t.Errorf("public sub %s, want %s", sp.ID.Subject, o.userID)
		}
		if again := o.goRP(t, a).login(o.agent()); again.ID.Subject != sa.ID.Subject {
			t.Errorf("pairwise sub not stable: %s then %s", sa.ID.Subject, again.ID.Subject)
		}
		for _, s := range []*signIn{sa, sb} {
			if _, ui := o.userinfo(t, s.Token.AccessToken); ui["sub"] != s.ID.Subject {
				t.Errorf("userinfo sub %v, ID token sub %s", ui["sub"], s.ID.Subject)
			}
		}
		if in := o.introspect(t, a, sa.Token.AccessToken); in["sub"] != sa.ID.Subject {
			t.Errorf("introspection sub %v, want %s", in["sub"], sa.ID.Subject)
		}
	})
}
