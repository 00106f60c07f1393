package oidc

import (
	"errors"
	"net/http"
	"net/url"
	"slices"

	"github.com/labstack/echo/v4"
	fositejwt "github.com/ory/fosite/token/jwt"

	"github.com/madfam-org/janua/storage"
	"github.com/madfam-org/janua/web"
)

// endSession is RP-Initiated Logout 1.0 (§2, §3), GET and POST. It ends the
// browser's SSO session and then:
//
//   - redirects to post_logout_redirect_uri (with state) only when an
//     id_token_hint we issued names the client and that URI is registered
//     for it, exactly (§3: never redirect otherwise);
//   - shows "you are signed out" when there is nothing to redirect to;
//   - refuses with an error page, ending nothing, when the request is
//     malformed: a forged or foreign id_token_hint, a client_id that is not
//     the hint's audience, or an unregistered redirect URI.
func (p *Provider) endSession(c echo.Context) error {
	r := c.Request()
	ctx := r.Context()
	writeNoStore(c.Response())
	if err := r.ParseForm(); err != nil {
		return p.badRequestPage(c, "The sign-out request could not be read.")
	}
	form := r.Form
	if r.Method == http.MethodPost {
		form = r.PostForm
	}
	hint := form.Get("id_token_hint")
	redirect := form.Get("post_logout_redirect_uri")
	clientID := form.Get("client_id")

	var client *storage.Client
	if hint != "" {
		tok, err := p.signer.Decode(ctx, hint)
		var ve *fositejwt.ValidationError
		if err != nil && !(errors.As(err, &ve) && ve.Has(fositejwt.ValidationErrorExpired)) {
			return p.logoutRefused(c, "The application's sign-out request carried an ID token this service did not issue.")
		}
		if iss, _ := tok.Claims["iss"].(string); iss != p.opts.Issuer {
			return p.logoutRefused(c, "The application's sign-out request carried an ID token from another issuer.")
		}
		aud := audiences(tok.Claims["aud"])
		if clientID == "" && len(aud) > 0 {
			clientID = aud[0]
			if azp, _ := tok.Claims["azp"].(string); azp != "" {
				clientID = azp
			}
		}
		if !slices.Contains(aud, clientID) {
			return p.logoutRefused(c, "The application's sign-out request names a client the ID token was not issued to.")
		}
	}
	if clientID != "" {
		cl, err := p.clients.get(ctx, clientID)
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		client = cl
	}
	if redirect != "" && hint != "" {
		if client == nil || !slices.Contains(client.PostLogoutRedirectURIs, redirect) {
			return p.logoutRefused(c, "The application asked to be sent to an address it has not registered for after sign-out.")
		}
	}

	ended, err := p.auth.EndSession(c)
	if err != nil {
		return err
	}
	if ended != nil {
		_ = p.store.RecordAuditEvent(ctx, &storage.AuditEvent{Type: "session.ended", Actor: ended.Subject, Subject: ended.Subject,
			ClientID: clientID, IP: c.RealIP(), UserAgent: r.UserAgent(), RequestID: web.RequestID(ctx),
			Details: map[string]any{"reason": "rp_initiated_logout", "sid": ended.SessionID}})
	}
	if redirect != "" && hint != "" {
		u, err := url.Parse(redirect)
		if err != nil {
			return p.logoutRefused(c, "The application's post-logout address is not valid.")
		}
		if state := form.Get("state"); state != "" {
			q := u.Query()
			q.Set("state", state)
			u.RawQuery = q.Encode()
		}
		return c.Redirect(http.StatusSeeOther, u.String())
	}
	name := ""
	if client != nil {
		name = client.Name
	}
	return p.pages.Page(c, http.StatusOK, "signedout", "Signed out", struct{ Client string }{name})
}

func (p *Provider) logoutRefused(c echo.Context, why string) error {
	return p.errorPage(c, http.StatusBadRequest, "Sign-out request refused", why+" You are still signed in; sign out from the application again, or close the browser.")
}

// audiences reads an "aud" claim: a string or an array of strings.
func audiences(v any) []string {
	switch a := v.(type) {
	case string:
		return []string{a}
	case []any:
		out := make([]string, 0, len(a))
		for _, x := range a {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}
