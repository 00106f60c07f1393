package oracle

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/zitadel/oidc/v3/pkg/client/rp"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"golang.org/x/oauth2"

	"github.com/madfam-org/janua/conformance"
)

// zitadel runs zitadel/oidc's certified Go relying party (pkg/client/rp).
func zitadel(ctx context.Context, b *conformance.Browser) conformance.OracleRun {
	o := &outcome{}
	cfg := b.Config()
	issuer, _ := b.Discovery()["issuer"].(string)
	// Authenticate exactly as the client is registered (RFC 6749 §2.3.1):
	// zitadel's RP otherwise sends client_secret_post on refresh, which an
	// OP that enforces token_endpoint_auth_method rightly refuses.
	style := oauth2.AuthStyleInHeader
	if cfg.Client.AuthMethod == "client_secret_post" {
		style = oauth2.AuthStyleInParams
	}
	party, err := rp.NewRelyingPartyOIDC(ctx, issuer, cfg.Client.ClientID, cfg.Client.ClientSecret, cfg.Runner.RedirectURI,
		[]string{oidc.ScopeOpenID, oidc.ScopeOfflineAccess, oidc.ScopeProfile, oidc.ScopeEmail}, rp.WithHTTPClient(b.HTTPClient()),
		rp.WithAuthStyle(style))
	if err != nil {
		o.fail("authorize", fmt.Errorf("discovery: %w", err))
		return compare(b, o)
	}
	ua := b.NewUserAgent()
	verifier := strings.Repeat("v", 20) + randomish()
	sum := sha256.Sum256([]byte(verifier))
	state := "zitadel-" + randomish()
	authURL := rp.AuthURL(state, party, rp.WithCodeChallenge(base64.RawURLEncoding.EncodeToString(sum[:])),
		rp.AuthURLOpt(rp.WithPromptURLParam("consent")))
	v, err := ua.Get(ctx, authURL, conformance.NavOptions{})
	if err == nil && v.Callback == nil {
		err = errors.New("the OP did not redirect back to the client")
	}
	if err == nil && v.Callback.Query.Get("state") != state {
		err = fmt.Errorf("state %q != %q", v.Callback.Query.Get("state"), state)
	}
	if err != nil {
		o.fail("authorize", err)
		return compare(b, o)
	}
	o.ok("authorize")
	tokens, err := rp.CodeExchange[*oidc.IDTokenClaims](ctx, v.Callback.Query.Get("code"), party, rp.WithCodeVerifier(verifier))
	if err != nil {
		o.fail("token", err)
		return compare(b, o)
	}
	o.ok("token")
	sub := tokens.IDTokenClaims.Subject
	info, err := rp.Userinfo[*oidc.UserInfo](ctx, tokens.AccessToken, tokens.TokenType, sub, party)
	if err == nil && info.Subject != sub {
		err = fmt.Errorf("userinfo sub %q != id_token sub %q", info.Subject, sub)
	}
	if err != nil {
		o.fail("userinfo", err)
		return compare(b, o)
	}
	o.ok("userinfo")
	if tokens.RefreshToken == "" {
		o.fail("refresh", errors.New("no refresh_token issued with offline_access and prompt=consent"))
		return compare(b, o)
	}
	refreshed, err := rp.RefreshTokens[*oidc.IDTokenClaims](ctx, party, tokens.RefreshToken, "", "")
	if err == nil && refreshed.IDTokenClaims != nil && refreshed.IDTokenClaims.Subject != sub {
		err = fmt.Errorf("refreshed id_token sub %q != %q", refreshed.IDTokenClaims.Subject, sub)
	}
	if err != nil {
		o.fail("refresh", err)
		return compare(b, o)
	}
	o.ok("refresh")
	logoutState := "zitadel-logout-" + randomish()
	// zitadel's rp.EndSession POSTs from the RP's back channel (no browser session) and
	// expects a redirect, which fits zitadel's own OP only; RP-Initiated Logout 1.0 §2
	// sends the user agent, so build that request from zitadel's discovered endpoint.
	var endURL *url.URL
	if ep := party.GetEndSessionEndpoint(); ep == "" {
		err = errors.New("zitadel's discovery found no end_session_endpoint")
	} else if endURL, err = url.Parse(ep); err == nil {
		q := endURL.Query()
		q.Set("id_token_hint", tokens.IDToken)
		q.Set("client_id", cfg.Client.ClientID)
		q.Set("post_logout_redirect_uri", cfg.Runner.PostLogoutRedirectURI)
		q.Set("state", logoutState)
		endURL.RawQuery = q.Encode()
	}
	if err == nil {
		var lv *conformance.Visit
		lv, err = ua.Get(ctx, endURL.String(), conformance.NavOptions{})
		switch {
		case err != nil:
		case lv.Callback == nil:
			err = errors.New("the OP did not redirect to the post_logout_redirect_uri")
		case lv.Callback.Query.Get("state") != logoutState:
			err = fmt.Errorf("post-logout state %q != %q", lv.Callback.Query.Get("state"), logoutState)
		}
	}
	if err != nil {
		o.fail("logout", err)
		return compare(b, o)
	}
	o.ok("logout")
	loggedOut(ctx, b, ua, o)
	return compare(b, o)
}

func loggedOut(ctx context.Context, b *conformance.Browser, ua *conformance.UserAgent, o *outcome) {
	e, err := b.LoggedOut(ctx, ua)
	if err == nil {
		switch e {
		case "login_required", "interaction_required", "consent_required", "account_selection_required":
		default:
			err = fmt.Errorf("after logout prompt=none answered %q, not a login-required error", e)
		}
	}
	if err != nil {
		o.fail("logged-out", err)
		return
	}
	o.ok("logged-out")
}
