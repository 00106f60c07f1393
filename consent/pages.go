package consent

import (
	"context"
	"crypto/subtle"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/madfam-org/janua/storage"
	"github.com/madfam-org/janua/templates"
	"github.com/madfam-org/janua/web"
)

// FlowParam is the query parameter carrying the flow challenge (the same
// as oidc.FlowParam; cmd/janua's tests hold them equal).
const FlowParam = "flow"

// The audit event types consent records.
const (
	auditGranted = "consent.granted"
	auditDenied  = "consent.denied"
)

// Options configure New. cmd/janua passes oidc's paths: consent never
// imports oidc.
type Options struct {
	Templates *templates.Set
	Cookies   web.Cookies
	SignedIn  SignedIn
	// ConsentPath is where the page is mounted (oidc.ConsentPath);
	// ResumePath is where the browser goes back with its flow.
	ConsentPath, ResumePath string
	Log                     *slog.Logger
}

// Pages is the consent page.
type Pages struct {
	store Store
	o     Options
}

// New returns the consent page over store.
func New(store Store, o Options) *Pages {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return &Pages{store: store, o: o}
}

// request is the flow the page serves, with its client, user and language.
type request struct {
	challenge string
	flow      *storage.Flow
	client    *storage.Client
	user      *storage.User
	scopes    []string
	lang      string
}

// consentView is the data of consent.html.
type consentView struct {
	Action, ClientName, LogoURI, PolicyURI, TosURI, Email string
	Scopes                                                []scopeView
}

// load returns the flow named by the flow parameter when this browser may
// consent to it: the flow exists, is authenticated (and not yet consented),
// was started in this browser, and its user is the one signed in here.
// Anything else is an error page.
func (p *Pages) load(c echo.Context) (*request, error) {
	set := p.o.Templates
	accept := c.Request().Header.Get("Accept-Language")
	r := &request{challenge: c.QueryParam(FlowParam), lang: set.Language("", accept)}
	invalid := func(err error) (*request, error) {
		return nil, &web.Error{Status: http.StatusBadRequest, Code: "invalid_flow", Message: set.T(r.lang, "flow.invalid"), Err: err}
	}
	if r.challenge == "" || len(r.challenge) > 128 {
		return invalid(nil)
	}
	ctx := c.Request().Context()
	f, err := p.store.GetFlow(ctx, storage.FlowID(r.challenge))
	if errors.Is(err, storage.ErrNotFound) {
		return invalid(nil)
	}
	if err != nil {
		return nil, err
	}
	r.flow = f
	if v := f.Request["ui_locales"]; len(v) > 0 {
		r.lang = set.Language(v[0], accept)
	}
	if f.Browser == "" || subtle.ConstantTimeCompare([]byte(f.Browser), []byte(p.o.Cookies.BrowserHash(c))) != 1 {
		return nil, &web.Error{Status: http.StatusForbidden, Code: "flow_other_browser", Message: set.T(r.lang, "flow.other_browser")}
	}
	if f.State != storage.FlowAuthenticated {
		return invalid(nil)
	}
	uid, ok, err := p.o.SignedIn.SignedInUser(c)
	if err != nil {
		return nil, err
	}
	if !ok || subtle.ConstantTimeCompare([]byte(uid), []byte(f.Subject)) != 1 {
		return nil, &web.Error{Status: http.StatusForbidden, Code: "flow_not_signed_in", Message: set.T(r.lang, "flow.not_signed_in")}
	}
	if r.client, err = p.store.GetClient(ctx, f.ClientID); errors.Is(err, storage.ErrNotFound) {
		return invalid(err)
	} else if err != nil {
		return nil, err
	}
	if r.user, err = p.store.GetUser(ctx, f.Subject); errors.Is(err, storage.ErrNotFound) {
		return invalid(err)
	} else if err != nil {
		return nil, err
	}
	if v := f.Request["scope"]; len(v) > 0 {
		r.scopes = requestedScopes(strings.Join(v, " "))
	}
	return r, nil
}

// show is GET /consent: the client, what it asks for, Allow and Deny.
func (p *Pages) show(c echo.Context) error {
	r, err := p.load(c)
	if err != nil {
		return err
	}
	set := p.o.Templates
	md := r.client.Metadata
	v := consentView{
		Action:     p.o.ConsentPath + "?" + url.Values{FlowParam: {r.challenge}}.Encode(),
		ClientName: r.client.Name,
		Email:      r.user.Email,
		Scopes:     describe(set.T, r.lang, r.scopes),
		// The page's CSP allows https images only; links must be web pages.
		LogoURI:   webURL(md.LogoURI, true),
		PolicyURI: webURL(md.PolicyURI, false),
		TosURI:    webURL(md.TosURI, false),
	}
	if v.ClientName == "" {
		v.ClientName = r.client.ID
	}
	return web.Render(c, set, http.StatusOK, "consent", templates.Page{Title: set.T(r.lang, "consent.title"), Lang: r.lang, Data: v})
}

// submit is POST /consent: Allow remembers the grant and advances the flow
// to consented with the requested scopes; Deny rejects it with
// access_denied (RFC 6749 §4.1.2.1). Either way the browser goes back to
// oidc.
func (p *Pages) submit(c echo.Context) error {
	r, err := p.load(c)
	if err != nil {
		return err
	}
	f := *r.flow
	var event string
	var details map[string]any
	switch c.FormValue("action") {
	case "allow":
		f.State, f.GrantedScopes = storage.FlowConsented, append([]string{}, r.scopes...)
		event, details = auditGranted, map[string]any{"scopes": r.scopes}
	case "deny":
		f.State, f.Error, f.ErrorDescription = storage.FlowRejected, "access_denied", "The user denied the request."
		event, details = auditDenied, map[string]any{"scopes": r.scopes}
	default:
		return &web.Error{Status: http.StatusBadRequest, Code: "invalid_action", Message: p.o.Templates.T(r.lang, "status.400")}
	}
	err = p.store.InTx(c.Request().Context(), func(ctx context.Context) error {
		if f.State == storage.FlowConsented {
			if _, err := remember(ctx, p.store, r.user.ID, r.client.ID, r.scopes); err != nil {
				return err
			}
		}
		if err := p.store.AdvanceFlow(ctx, &f, storage.FlowAuthenticated); err != nil {
			if errors.Is(err, storage.ErrConflict) || errors.Is(err, storage.ErrNotFound) {
				return &web.Error{Status: http.StatusBadRequest, Code: "invalid_flow", Message: p.o.Templates.T(r.lang, "flow.invalid"), Err: err}
			}
			return err
		}
		outcome := storage.AuditSuccess
		if f.State == storage.FlowRejected {
			outcome = storage.AuditFailure
		}
		return p.store.RecordAuditEvent(ctx, &storage.AuditEvent{
			Type: event, Outcome: outcome, Actor: r.user.ID, Subject: r.user.ID, ClientID: r.client.ID,
			IP: c.RealIP(), RequestID: web.RequestID(ctx), Details: details,
		})
	})
	if err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, p.o.ResumePath+"?"+url.Values{FlowParam: {r.challenge}}.Encode())
}

// webURL returns raw when it is an absolute https URL (or, unless
// httpsOnly, http), else "".
func webURL(raw string, httpsOnly bool) string {
	u, err := url.Parse(raw)
	if raw == "" || err != nil || u.Host == "" || u.User != nil {
		return ""
	}
	if u.Scheme == "https" || (!httpsOnly && u.Scheme == "http") {
		return raw
	}
	return ""
}
