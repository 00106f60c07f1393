package login

import (
	"context"
	"crypto/subtle"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/madfam-org/janua/mail"
	"github.com/madfam-org/janua/storage"
	"github.com/madfam-org/janua/templates"
	"github.com/madfam-org/janua/web"
)

// FlowParam is the query parameter carrying the flow challenge (the same
// as oidc.FlowParam; cmd/janua's tests hold them equal).
const FlowParam = "flow"

// Options configure New. cmd/janua passes oidc's paths in LoginPath and
// ResumePath: login never imports oidc.
type Options struct {
	Templates *templates.Set
	Cookies   web.Cookies
	Sessions  *Sessions
	Passwords *Passwords
	// Policy is what a new password (sign-up) must satisfy.
	Policy PasswordPolicy
	// Directory creates users; sign-up is offered when Signup is set and
	// Directory is not nil.
	Directory Directory
	Signup    bool
	HotState  storage.HotState
	Limits    Limits
	// RequireSecondFactor makes every sign-in prove a second factor; a user
	// without one enrols one on the way.
	RequireSecondFactor bool
	// ReauthWindow is how recent a sign-in must be for a sensitive change
	// (DefaultReauthWindow when zero).
	ReauthWindow time.Duration
	// Mail queues the messages sign-in sends; nil sends none.
	Mail mail.Queue
	// Email sign-in, verification and password reset (emailsignin.go,
	// verify.go, reset.go). Issuer is the public base URL mailed links
	// start with (never the request's Host header); EmailSignIn offers
	// magic links and codes when Mail is set; EmailTokenTTL is how long a
	// mailed link or code lives (DefaultEmailTokenTTL when zero).
	Issuer        string
	EmailSignIn   bool
	EmailTokenTTL time.Duration
	EmailLimits   EmailLimits
	// TOTPIssuer names Janua in authenticator apps (the otpauth:// issuer);
	// "Janua" when empty.
	TOTPIssuer string
	// Passkeys configures sign-in with passkeys (passkey.go); off when its
	// WebAuthn is nil.
	Passkeys PasskeyOptions
	// LoginPath is where the sign-in page is mounted (oidc.LoginPath);
	// ResumePath is where a browser goes back with its flow (oidc.ResumePath).
	LoginPath, ResumePath string
	Log                   *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Pages are the sign-in, sign-up and account pages.
type Pages struct {
	store    Store
	o        Options
	throttle throttle
	// factors are the second factors, in the order pages list them.
	factors []secondFactor
}

// New returns the sign-in pages over store.
func New(store Store, o Options) *Pages {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Directory == nil {
		o.Signup = false
	}
	if o.ReauthWindow <= 0 {
		o.ReauthWindow = DefaultReauthWindow
	}
	o.EmailTokenTTL, o.EmailLimits = emailDefaults(o.EmailTokenTTL, o.EmailLimits)
	p := &Pages{store: store, o: o, throttle: throttle{hot: o.HotState, l: o.Limits, now: o.Now}}
	if o.Passkeys.WebAuthn != nil {
		p.factors = append(p.factors, passkeyFactor{p})
	}
	p.factors = append(p.factors, totpFactor{p}, backupFactor{p})
	return p
}

// flowRequest is the flow a page serves: its challenge, the stored flow and
// the client it is for.
type flowRequest struct {
	challenge string
	flow      *storage.Flow
	client    *storage.Client
}

// maxChallenge bounds the flow parameter: challenges are 43 characters.
const maxChallenge = 128

// loadFlow returns the flow named by the request's flow parameter (nil when
// there is none) and the page language: the flow's ui_locales (OIDC Core
// §3.1.2.1), else Accept-Language. A flow that is unknown, expired, already
// past sign-in, or started in another browser is an error page, never a
// flow to advance.
func (p *Pages) loadFlow(c echo.Context) (*flowRequest, string, error) {
	return p.loadChallenge(c, c.QueryParam(FlowParam))
}

// loadChallenge is loadFlow for the flow named by challenge, wherever the
// request carried it ("" for none).
func (p *Pages) loadChallenge(c echo.Context, challenge string) (*flowRequest, string, error) {
	set := p.o.Templates
	accept := c.Request().Header.Get("Accept-Language")
	if challenge == "" {
		return nil, set.Language("", accept), nil
	}
	lang := set.Language("", accept)
	invalid := func(err error) (*flowRequest, string, error) {
		return nil, lang, &web.Error{Status: http.StatusBadRequest, Code: "invalid_flow", Message: set.T(lang, "flow.invalid"), Err: err}
	}
	if len(challenge) > maxChallenge {
		return invalid(nil)
	}
	ctx := c.Request().Context()
	f, err := p.store.GetFlow(ctx, storage.FlowID(challenge))
	if errors.Is(err, storage.ErrNotFound) {
		return invalid(nil)
	}
	if err != nil {
		return nil, lang, err
	}
	lang = set.Language(first(f.Request, "ui_locales"), accept)
	if f.Browser == "" || subtle.ConstantTimeCompare([]byte(f.Browser), []byte(p.o.Cookies.BrowserHash(c))) != 1 {
		return nil, lang, &web.Error{Status: http.StatusForbidden, Code: "flow_other_browser", Message: set.T(lang, "flow.other_browser")}
	}
	if f.State != storage.FlowCreated && f.State != storage.FlowAuthenticated {
		return invalid(nil)
	}
	cl, err := p.store.GetClient(ctx, f.ClientID)
	if errors.Is(err, storage.ErrNotFound) {
		return invalid(err)
	}
	if err != nil {
		return nil, lang, err
	}
	return &flowRequest{challenge: challenge, flow: f, client: cl}, lang, nil
}

// flowQuery is "?flow=<challenge>" for fr, "" without a flow.
func flowQuery(fr *flowRequest) string {
	if fr == nil {
		return ""
	}
	return "?" + url.Values{FlowParam: {fr.challenge}}.Encode()
}

// resume sends the browser back to oidc with its flow (303: the next
// request is a GET whatever this one was).
func (p *Pages) resume(c echo.Context, fr *flowRequest) error {
	return c.Redirect(http.StatusSeeOther, p.o.ResumePath+flowQuery(fr))
}

// advance moves the flow on from the state it was loaded in; a flow another
// request advanced first is an error page.
func (p *Pages) advance(ctx context.Context, fr *flowRequest, lang string, f *storage.Flow) error {
	err := p.store.AdvanceFlow(ctx, f, fr.flow.State)
	if errors.Is(err, storage.ErrConflict) || errors.Is(err, storage.ErrNotFound) {
		return &web.Error{Status: http.StatusBadRequest, Code: "invalid_flow", Message: p.o.Templates.T(lang, "flow.invalid"), Err: err}
	}
	return err
}

// render writes a page in lang.
func (p *Pages) render(c echo.Context, status int, name, lang, titleKey string, data any) error {
	return web.Render(c, p.o.Templates, status, name, templates.Page{Title: p.o.Templates.T(lang, titleKey), Lang: lang, Data: data})
}

// retryAfter sets Retry-After (RFC 9110 §10.2.3) in whole seconds.
func retryAfter(c echo.Context, d time.Duration) {
	c.Response().Header().Set("Retry-After", strconv.Itoa(int((d+time.Second-1)/time.Second)))
}
