package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/madfam-org/janua/consent"
	"github.com/madfam-org/janua/directory"
	"github.com/madfam-org/janua/login"
	"github.com/madfam-org/janua/mail"
	"github.com/madfam-org/janua/oidc"
	"github.com/madfam-org/janua/storage"
	"github.com/madfam-org/janua/templates"
	"github.com/madfam-org/janua/web"
)

// interaction is the side of the hand-off that oidc sends browsers to
// (oidc/interaction.go): the sign-in and consent pages, the SSO sessions
// (oidc's Authenticator) and remembered consent (oidc's ConsentGate).
type interaction struct {
	sessions *login.Sessions
	login    *login.Pages
	consent  *consent.Pages
	gate     *consent.Gate
	csrf     *web.CSRF
}

// The compile-time guards of the structural contract: login and consent
// never import oidc, so it is checked here.
var (
	_ oidc.Authenticator = ssoSessions{}
	_ oidc.ConsentGate   = (*consent.Gate)(nil)
	_ consent.SignedIn   = (*login.Sessions)(nil)
)

// newInteraction builds login and consent from the configuration; queue
// takes the mail sign-in sends.
func newInteraction(c Config, log *slog.Logger, store *storage.Store, hot storage.HotState, set *templates.Set, queue mail.Queue) (*interaction, error) {
	sec, err := secret(c, log)
	if err != nil {
		return nil, err
	}
	cookies := web.Cookies{Secure: strings.HasPrefix(c.Issuer, "https://")}
	sessions := login.NewSessions(store, login.SessionOptions{
		Cookies:         cookies,
		IdleTimeout:     c.Sessions.IdleTimeout,
		AbsoluteTimeout: c.Sessions.AbsoluteTimeout,
		RememberTimeout: c.Sessions.RememberTimeout,
	})
	rp, err := passkeyRP(c)
	if err != nil {
		return nil, err
	}
	if rp == nil {
		log.Warn("passkeys are off: the issuer's host is an IP address, which cannot be a WebAuthn RP ID (set passkeys.rp_id)")
	}
	a2 := c.Passwords.Argon2
	passwords := login.NewPasswords(a2.params(), a2.limits())
	ia := &interaction{
		sessions: sessions,
		gate:     consent.NewGate(store),
		csrf: web.NewCSRF(web.CSRFOptions{
			Key:     csrfKey(sec),
			Cookies: cookies,
			Reject: func(ctx echo.Context) error {
				lang := set.Language("", ctx.Request().Header.Get("Accept-Language"))
				return &web.Error{Status: http.StatusForbidden, Code: "csrf_failed", Message: set.T(lang, "csrf.failed")}
			},
		}),
	}
	ia.login = login.New(store, login.Options{
		Templates:           set,
		Cookies:             cookies,
		Sessions:            sessions,
		Passwords:           passwords,
		Policy:              login.PasswordPolicy{MinLength: c.Passwords.MinLength, Common: login.NewCommonPasswords()},
		Directory:           directory.NewUsers(store),
		Signup:              c.Signup.Enabled,
		HotState:            hot,
		Limits:              loginLimits(c.Login),
		RequireSecondFactor: c.Login.RequireSecondFactor,
		ReauthWindow:        c.Login.ReauthWindow,
		Issuer:              c.Issuer,
		EmailSignIn:         c.Login.EmailSignIn,
		EmailTokenTTL:       c.Login.EmailTokenTTL,
		EmailLimits:         emailLimits(c.Login),
		TOTPIssuer:          totpIssuer(c),
		Passkeys:            login.PasskeyOptions{WebAuthn: rp, MaxPerUser: c.Passkeys.MaxPerUser},
		LoginPath:           oidc.LoginPath,
		ResumePath:          oidc.ResumePath,
		Mail:                queue,
		Log:                 log,
	})
	ia.consent = consent.New(store, consent.Options{
		Templates:   set,
		Cookies:     cookies,
		SignedIn:    sessions,
		ConsentPath: oidc.ConsentPath,
		ResumePath:  oidc.ResumePath,
		Log:         log,
	})
	return ia, nil
}

// mount adds the pages' routes, each behind the CSRF check.
func (ia *interaction) mount(e *echo.Echo) {
	csrf := ia.csrf.Middleware()
	ia.login.Routes(e, csrf)
	ia.consent.Routes(e, csrf)
}

// authenticator is the SSO session as oidc consumes it.
func (ia *interaction) authenticator() oidc.Authenticator { return ssoSessions{ia.sessions} }

// consentGate is remembered consent as oidc consumes it.
func (ia *interaction) consentGate() oidc.ConsentGate { return ia.gate }

// mountInteraction builds login and consent and mounts their pages on e.
func mountInteraction(e *echo.Echo, c Config, log *slog.Logger, store *storage.Store, hot storage.HotState, set *templates.Set, queue mail.Queue) (*interaction, error) {
	ia, err := newInteraction(c, log, store, hot, set, queue)
	if err != nil {
		return nil, err
	}
	ia.mount(e)
	return ia, nil
}

// ssoSessions adapts login.Sessions to oidc.Authenticator: the two
// Authentication types have the same fields, so one converts to the other.
type ssoSessions struct{ s *login.Sessions }

func (a ssoSessions) Authenticated(c echo.Context) (oidc.Authentication, bool, error) {
	auth, ok, err := a.s.Authenticated(c)
	return oidc.Authentication(auth), ok, err
}

func (ssoSessions) ACRValues() []string                 { return login.ACRValues() }
func (ssoSessions) SatisfiesACR(have, want string) bool { return login.SatisfiesACR(have, want) }

func (a ssoSessions) EndSession(c echo.Context) (*oidc.Authentication, error) {
	auth, err := a.s.EndSession(c)
	if auth == nil {
		return nil, err
	}
	ended := oidc.Authentication(*auth)
	return &ended, err
}

// csrfKey derives the CSRF HMAC key from the key-encryption secret, so every
// instance of a deployment accepts the others' forms.
func csrfKey(secret []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("janua/csrf-key/v1"))
	return m.Sum(nil)
}

func loginLimits(l LoginConfig) login.Limits {
	return login.Limits{
		IPRate: l.IPRateLimit, IPWindow: l.IPRateWindow,
		LockoutFailures: l.LockoutFailures, LockoutWindow: l.LockoutWindow, LockoutDuration: l.LockoutDuration,
	}
}

// emailLimits are the send limits of mailed sign-in, reset and verification.
func emailLimits(l LoginConfig) login.EmailLimits {
	return login.EmailLimits{PerAddress: l.EmailSendLimit, PerIP: l.EmailIPSendLimit, Window: l.EmailSendWindow}
}

// totpIssuer is the name authenticator apps show for Janua's codes:
// login.totp_issuer, else the issuer's host (without a port: a colon
// would split the otpauth:// label).
func totpIssuer(c Config) string {
	if c.Login.TOTPIssuer != "" {
		return c.Login.TOTPIssuer
	}
	if u, err := url.Parse(c.Issuer); err == nil && u.Hostname() != "" {
		return u.Hostname()
	}
	return "Janua"
}
