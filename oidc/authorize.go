package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/ory/fosite"
	fositejwt "github.com/ory/fosite/token/jwt"

	"github.com/madfam-org/janua/storage"
)

// authzRequest is what Janua reads from an authorization request beyond
// what fosite validates (OIDC Core §3.1.2.1).
type authzRequest struct {
	prompt     []string
	acr        acrRequest
	maxAge     int64 // -1 when absent
	hintSub    string
	claims     claimsRequest
	scopes     []string
	responseID bool // an ID token comes from the authorization endpoint
	responseAT bool // an access token comes from the authorization endpoint
}

func (a authzRequest) has(prompt string) bool { return slices.Contains(a.prompt, prompt) }

// authorize is the authorization endpoint, GET and POST (OIDC Core
// §3.1.2.1). It answers at once when the browser's SSO session and the
// user's remembered consent suffice, and otherwise hands the browser to
// login or consent through a flow record.
func (p *Provider) authorize(c echo.Context) error {
	r := c.Request()
	ctx := r.Context()
	if err := r.ParseForm(); err != nil {
		return p.badRequestPage(c, "oidc.flow.unreadable")
	}
	// Request objects are not supported (Discovery says so). Take them out
	// before fosite sees them, so that the refusal travels to the client's
	// validated redirect URI (OIDC Core §6.1, §6.2) instead of a page.
	refusal := ""
	switch {
	case r.Form.Get("request") != "":
		refusal = "request_not_supported"
	case r.Form.Get("request_uri") != "":
		refusal = "request_uri_not_supported"
	}
	for _, k := range []string{"request", "request_uri"} {
		r.Form.Del(k)
		r.PostForm.Del(k)
	}

	ar, err := p.oauth.NewAuthorizeRequest(ctx, r)
	if err != nil {
		return p.authorizeError(c, ar, err)
	}
	timeOrderedID(ar)
	if refusal != "" {
		e := fosite.ErrRequestNotSupported
		if refusal == "request_uri_not_supported" {
			e = fosite.ErrRequestURINotSupported
		}
		return p.authorizeError(c, ar, e.WithHint("Janua does not support request objects."))
	}
	areq, err := p.parseAuthzRequest(c, ar)
	if err != nil {
		return p.authorizeError(c, ar, err)
	}
	client, err := p.clients.get(ctx, ar.GetClient().GetID())
	if err != nil {
		return p.authorizeError(c, ar, fosite.ErrServerError.WithWrap(err))
	}
	if areq.acr, err = p.requestedACR(ar.GetRequestForm(), areq.claims, client); err != nil {
		return p.authorizeError(c, ar, err)
	}
	if areq.maxAge < 0 && client.Metadata.DefaultMaxAge > 0 {
		// OIDC Registration §2: default_max_age applies unless the request
		// says max_age itself.
		areq.maxAge = client.Metadata.DefaultMaxAge
	}

	// Who is this browser, and is that good enough?
	authn, signedIn, err := p.auth.Authenticated(c)
	if err != nil {
		return p.authorizeError(c, ar, fosite.ErrServerError.WithWrap(err))
	}
	now := p.opts.Now().UTC()
	needLogin := !signedIn || areq.has("login") || areq.has("select_account") ||
		(areq.maxAge >= 0 && now.Sub(authn.AuthTime) > time.Duration(areq.maxAge)*time.Second) ||
		(areq.hintSub != "" && areq.hintSub != p.subjectFor(client, authn.Subject)) ||
		!p.satisfied(authn, areq.acr) // step-up: the session is weaker than the request demands
	if needLogin {
		if areq.has("none") {
			return p.authorizeError(c, ar, fosite.ErrLoginRequired.WithHint("The user is not signed in, or not in the way this request requires, and prompt=none forbids asking."))
		}
		return p.startFlow(c, ar, areq, storage.FlowCreated, nil, LoginPath)
	}

	covered := false
	if !areq.has("consent") {
		if covered, err = p.consent.Covered(ctx, authn.Subject, client, areq.scopes); err != nil {
			return p.authorizeError(c, ar, fosite.ErrServerError.WithWrap(err))
		}
	}
	if !covered {
		if areq.has("none") {
			return p.authorizeError(c, ar, fosite.ErrConsentRequired.WithHint("The user has not consented to this client and scopes, and prompt=none forbids asking."))
		}
		return p.startFlow(c, ar, areq, storage.FlowAuthenticated, &authn, ConsentPath)
	}
	return p.finish(c, ar, client, areq, authn, areq.scopes, now)
}

// parseAuthzRequest reads prompt, max_age, id_token_hint and claims.
func (p *Provider) parseAuthzRequest(c echo.Context, ar fosite.AuthorizeRequester) (authzRequest, error) {
	form := ar.GetRequestForm()
	a := authzRequest{maxAge: -1, scopes: ar.GetRequestedScopes()}
	a.prompt = strings.Fields(form.Get("prompt"))
	if v := form.Get("max_age"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return a, fosite.ErrInvalidRequest.WithHint("max_age must be a non-negative integer (OIDC Core §3.1.2.1).")
		}
		a.maxAge = n
	}
	if hint := form.Get("id_token_hint"); hint != "" {
		tok, err := p.signer.Decode(c.Request().Context(), hint)
		var ve *fositejwt.ValidationError
		if err != nil && !(errors.As(err, &ve) && ve.Has(fositejwt.ValidationErrorExpired)) {
			return a, fosite.ErrInvalidRequest.WithHint("id_token_hint is not an ID token issued by this provider.")
		}
		if iss, _ := tok.Claims["iss"].(string); iss != p.opts.Issuer {
			return a, fosite.ErrInvalidRequest.WithHint("id_token_hint was issued by another provider.")
		}
		a.hintSub, _ = tok.Claims["sub"].(string)
	}
	if raw := form.Get("claims"); raw != "" {
		if err := json.Unmarshal([]byte(raw), &a.claims); err != nil {
			return a, fosite.ErrInvalidRequest.WithHint("The claims parameter is not a valid JSON object (OIDC Core §5.5).")
		}
	}
	rt := ar.GetResponseTypes()
	a.responseID = rt.Has("id_token")
	a.responseAT = rt.Has("token")
	return a, nil
}

// startFlow stores the pending request bound to this browser and sends the
// browser to login or consent.
func (p *Provider) startFlow(c echo.Context, ar fosite.AuthorizeRequester, areq authzRequest, state storage.FlowState, authn *Authentication, path string) error {
	challenge, id := storage.NewFlowChallenge()
	f := &storage.Flow{
		ID:          id,
		ClientID:    ar.GetClient().GetID(),
		Browser:     p.opts.Cookies.BrowserHash(c),
		Request:     map[string][]string(ar.GetRequestForm()),
		RequiredACR: areq.acr.String(),
		ExpiresAt:   p.opts.Now().Add(p.opts.FlowTTL),
	}
	ctx := c.Request().Context()
	if err := p.store.CreateFlow(ctx, f); err != nil {
		return p.authorizeError(c, ar, fosite.ErrServerError.WithWrap(err))
	}
	if state == storage.FlowAuthenticated && authn != nil {
		at := authn.AuthTime
		f.State, f.Subject, f.SessionID, f.AuthTime, f.AMR, f.ACR = state, authn.Subject, authn.SessionID, &at, authn.AMR, authn.ACR
		if err := p.store.AdvanceFlow(ctx, f, storage.FlowCreated); err != nil {
			return p.authorizeError(c, ar, fosite.ErrServerError.WithWrap(err))
		}
	}
	writeNoStore(c.Response())
	return c.Redirect(http.StatusSeeOther, path+"?"+url.Values{FlowParam: {challenge}}.Encode())
}

// resume is where login and consent hand the browser back (see
// interaction.go). It completes the flow exactly once.
func (p *Provider) resume(c echo.Context) error {
	ctx := c.Request().Context()
	challenge := c.QueryParam(FlowParam)
	if challenge == "" {
		return p.badRequestPage(c, "oidc.flow.incomplete")
	}
	f, err := p.store.GetFlow(ctx, storage.FlowID(challenge))
	if errors.Is(err, storage.ErrNotFound) {
		return p.badRequestPage(c, "oidc.flow.expired")
	}
	if err != nil {
		return err
	}
	if f.Browser != p.opts.Cookies.BrowserHash(c) {
		return p.badRequestPage(c, "oidc.flow.other_browser")
	}
	// Rebuild and re-validate the original request (the client may have
	// changed meanwhile).
	orig, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.opts.Issuer+pathAuthorize+"?"+url.Values(f.Request).Encode(), nil)
	ar, err := p.oauth.NewAuthorizeRequest(ctx, orig)
	if err != nil {
		return p.authorizeError(c, ar, err)
	}
	timeOrderedID(ar)
	areq, err := p.parseAuthzRequest(c, ar)
	if err != nil {
		return p.authorizeError(c, ar, err)
	}
	client, err := p.clients.get(ctx, f.ClientID)
	if err != nil {
		return p.authorizeError(c, ar, fosite.ErrServerError.WithWrap(err))
	}
	if areq.acr, err = p.requestedACR(ar.GetRequestForm(), areq.claims, client); err != nil {
		return p.authorizeError(c, ar, err)
	}
	switch f.State {
	case storage.FlowRejected:
		code := f.Error
		if code == "" {
			code = "access_denied"
		}
		return p.authorizeError(c, ar, rejection(code, f.ErrorDescription))
	case storage.FlowCreated:
		return c.Redirect(http.StatusSeeOther, LoginPath+"?"+url.Values{FlowParam: {challenge}}.Encode())
	case storage.FlowCompleted:
		return p.badRequestPage(c, "oidc.flow.completed")
	}
	if f.AuthTime == nil || f.Subject == "" {
		return p.authorizeError(c, ar, fosite.ErrServerError.WithHint("The flow has no authentication."))
	}
	authn := Authentication{Subject: f.Subject, SessionID: f.SessionID, AuthTime: *f.AuthTime, AMR: f.AMR, ACR: f.ACR}
	if areq.hintSub != "" && areq.hintSub != p.subjectFor(client, authn.Subject) {
		return p.authorizeError(c, ar, fosite.ErrLoginRequired.WithHint("The signed-in user is not the one id_token_hint names."))
	}
	if !p.satisfied(authn, areq.acr) {
		return p.authorizeError(c, ar, errUnmetAuthentication.WithHint("The sign-in did not reach an authentication context class the request demands."))
	}
	granted := f.GrantedScopes
	from := f.State
	if f.State == storage.FlowAuthenticated {
		covered := false
		if !areq.has("consent") {
			if covered, err = p.consent.Covered(ctx, authn.Subject, client, areq.scopes); err != nil {
				return p.authorizeError(c, ar, fosite.ErrServerError.WithWrap(err))
			}
		}
		if !covered {
			return c.Redirect(http.StatusSeeOther, ConsentPath+"?"+url.Values{FlowParam: {challenge}}.Encode())
		}
		granted = areq.scopes
	}
	f.State = storage.FlowCompleted
	if err := p.store.AdvanceFlow(ctx, f, from); err != nil {
		if errors.Is(err, storage.ErrConflict) || errors.Is(err, storage.ErrNotFound) {
			return p.badRequestPage(c, "oidc.flow.completed")
		}
		return err
	}
	return p.finish(c, ar, client, areq, authn, granted, f.CreatedAt)
}

// rejection maps a flow's stored error code to the fosite error.
func rejection(code, description string) *fosite.RFC6749Error {
	var e *fosite.RFC6749Error
	switch code {
	case "login_required":
		e = fosite.ErrLoginRequired
	case "consent_required":
		e = fosite.ErrConsentRequired
	case "interaction_required":
		e = fosite.ErrInteractionRequired
	case "temporarily_unavailable":
		e = fosite.ErrTemporarilyUnavailable
	case errUnmetAuthentication.ErrorField:
		e = errUnmetAuthentication
	default:
		e = fosite.ErrAccessDenied
	}
	if description != "" {
		return e.WithHint(description)
	}
	return e
}

// finish grants the scopes, builds the session and writes the
// authorization response.
func (p *Provider) finish(c echo.Context, ar fosite.AuthorizeRequester, client *storage.Client, areq authzRequest,
	authn Authentication, granted []string, requestedAt time.Time) error {
	ctx := c.Request().Context()
	for _, s := range ar.GetRequestedScopes() {
		if slices.Contains(granted, s) || s == "openid" {
			ar.GrantScope(s)
		}
	}
	for _, a := range ar.GetRequestedAudience() {
		ar.GrantAudience(a)
	}
	sess, err := p.newUserSession(ctx, client, authn, ar, areq, requestedAt)
	if err != nil {
		return p.authorizeError(c, ar, fosite.ErrServerError.WithWrap(err))
	}
	// The code, its OpenID Connect request and PKCE challenge (and an
	// implicit access token) are written in one statement.
	var resp fosite.AuthorizeResponder
	var respErr error
	if err := p.store.BatchOAuth2Inserts(ctx, func(ctx context.Context) error {
		resp, respErr = p.oauth.NewAuthorizeResponse(ctx, ar, sess)
		return respErr
	}); respErr != nil {
		return p.authorizeError(c, ar, respErr)
	} else if err != nil {
		return p.authorizeError(c, ar, fosite.ErrServerError.WithWrap(err))
	}
	return p.writeAuthorizeResponse(c, ar, resp.GetParameters())
}
