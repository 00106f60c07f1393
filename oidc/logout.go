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
		return p.logoutRefused(c, "oidc.logout.unreadable")
	}
	form := r.Form
	if r.Method == http.MethodPost {
		form = r.PostForm
	}
	hint := form.Get("id_token_hint")
	redirect := form.Get("post_logout_redirect_uri")
	clientID := form.Get("client_id")

	var client *storage.Client
	hintSID := ""
	if hint != "" {
		tok, err := p.signer.Decode(ctx, hint)
		var ve *fositejwt.ValidationError
		if err != nil && !(errors.As(err, &ve) && ve.Has(fositejwt.ValidationErrorExpired)) {
			return p.logoutRefused(c, "oidc.logout.foreign_hint")
		}
		if iss, _ := tok.Claims["iss"].(string); iss != p.opts.Issuer {
			return p.logoutRefused(c, "oidc.logout.foreign_hint")
		}
		hintSID, _ = tok.Claims["sid"].(string)
		aud := audiences(tok.Claims["aud"])
		if clientID == "" && len(aud) > 0 {
			clientID = aud[0]
			if azp, _ := tok.Claims["azp"].(string); azp != "" {
				clientID = azp
			}
		}
		if !slices.Contains(aud, clientID) {
			return p.logoutRefused(c, "oidc.logout.wrong_client")
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
			return p.logoutRefused(c, "oidc.logout.unregistered")
		}
	}

	ended, err := p.auth.EndSession(c)
	if err != nil {
		return err
	}
	// The session the ID token was issued in ends too, even when the
	// request carries no browser cookie: an RP's server-side logout call
	// (RP-Initiated Logout §2 allows any user agent).
	if hintSID != "" && (ended == nil || ended.SessionID != hintSID) {
		userID, err := p.store.RevokeBrowserSessionBySID(ctx, hintSID)
		if err != nil {
			return err
		}
		if userID != "" && ended == nil {
			ended = &Authentication{SessionID: hintSID, Subject: userID}
		}
	}
	if ended != nil {
		_ = p.store.RecordAuditEvent(ctx, &storage.AuditEvent{Type: "session.ended", Actor: ended.Subject, Subject: ended.Subject,
			ClientID: clientID, IP: c.RealIP(), UserAgent: r.UserAgent(), RequestID: web.RequestID(ctx),
			Details: map[string]any{"reason": "rp_initiated_logout", "sid": ended.SessionID}})
	}
	if redirect != "" && hint != "" {
		u, err := url.Parse(redirect)
		if err != nil {
			return p.logoutRefused(c, "oidc.logout.unregistered")
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
	return p.pages.Page(c, http.StatusOK, "signedout", "signedout.title", struct{ Client string }{name})
}

// logoutRefused explains a refused sign-out (why: a catalogue key).
func (p *Provider) logoutRefused(c echo.Context, why string) error {
	return p.errorPage(c, http.StatusBadRequest, "oidc.logout.title", why, "")
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
