package login

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/madfam-org/janua/storage"
)

// maxEmail bounds the email field (RFC 5321 §4.5.3.1.3 paths are at most
// 256 octets; 320 leaves room for what users paste).
const maxEmail = 320

// loginView is the data of login.html.
type loginView struct {
	Action, ClientName, Email, Error, SignupURL string
	FocusPassword, Remember, Cancel             bool
	// Reauth is set when a signed-in user confirms who they are before a
	// sensitive change (the page says so).
	Reauth bool
	// Passkey offers passwordless sign-in with a passkey (the partial
	// login_passkey); EmailSignIn offers a magic link or code (login_email).
	Passkey, EmailSignIn bool
	RememberDays         int
	// EmailAction sends a magic link to the email typed (login_email);
	// ResetURL is "Forgot your password?"; Notice follows a redirect
	// (?done=password_reset).
	EmailAction, ResetURL, Notice string
}

func (p *Pages) loginView(fr *flowRequest, email, returnTo string) loginView {
	action := p.o.LoginPath + flowQuery(fr)
	if fr == nil && returnTo != "" {
		action = p.o.LoginPath + "?" + url.Values{ReturnParam: {returnTo}}.Encode()
	}
	v := loginView{
		Action:        action,
		Reauth:        returnTo != "",
		Passkey:       p.factorByID("passkey") != nil,
		EmailSignIn:   p.emailSignInEnabled(),
		Email:         email,
		FocusPassword: email != "",
		Cancel:        fr != nil,
		RememberDays:  int(p.o.Sessions.o.RememberTimeout / (24 * time.Hour)),
	}
	if fr != nil {
		v.ClientName = fr.client.Name
	}
	if p.o.Signup {
		v.SignupURL = SignupPath + flowQuery(fr)
	}
	if v.EmailSignIn {
		v.EmailAction = p.pageURL(EmailSignInPath, fr, returnTo)
	}
	if p.mailEnabled() {
		v.ResetURL = ResetPath + flowQuery(fr)
	}
	return v
}

// showLogin is GET /login: the form, prefilled with the flow's login_hint
// (OIDC Core §3.1.2.1).
func (p *Pages) showLogin(c echo.Context) error {
	fr, lang, err := p.loadFlow(c)
	if err != nil {
		return err
	}
	hint, returnTo := "", p.returnTo(c, fr)
	if fr != nil {
		hint = clean(first(fr.flow.Request, "login_hint"), maxEmail)
	} else if returnTo != "" {
		// Re-authentication: the signed-in user confirms who they are.
		if a, ok, err := p.o.Sessions.Authenticated(c); err != nil {
			return err
		} else if ok {
			if u, err := p.store.GetUser(c.Request().Context(), a.Subject); err == nil {
				hint = u.Email
			}
		}
	}
	v := p.loginView(fr, hint, returnTo)
	if k := c.QueryParam(noticeParam); noticeKey.MatchString(k) {
		if msg := p.o.Templates.T(lang, "login.done."+k); msg != "login.done."+k {
			v.Notice = msg
		}
	}
	return p.render(c, http.StatusOK, "login", lang, "login.title", v)
}

// submitLogin is POST /login: cancel, or check the password and sign in.
// Every failure (unknown email, wrong password, disabled account, no
// password) gets the same page, status and, within noise, time.
func (p *Pages) submitLogin(c echo.Context) error {
	fr, lang, err := p.loadFlow(c)
	if err != nil {
		return err
	}
	if c.FormValue("action") == "cancel" {
		return p.cancel(c, fr, lang)
	}
	ctx := c.Request().Context()
	email, password := clean(c.FormValue("email"), maxEmail), c.FormValue("password")
	returnTo := p.returnTo(c, fr)
	v := p.loginView(fr, email, returnTo)
	v.Remember = c.FormValue("remember") != ""
	fail := func(status int, msg string) error {
		v.Error = msg
		return p.render(c, status, "login", lang, "login.title", v)
	}
	if wait, err := p.throttle.allowIP(ctx, "login", c.RealIP()); err != nil {
		return err
	} else if wait > 0 {
		retryAfter(c, wait)
		return fail(http.StatusTooManyRequests, p.waitMessage(lang, wait))
	}
	if email == "" || password == "" {
		return fail(http.StatusBadRequest, p.o.Templates.T(lang, "login.missing"))
	}
	clientID := ""
	if fr != nil {
		clientID = fr.client.ID
	}
	if wait, err := p.throttle.locked(ctx, email); err != nil {
		return err
	} else if wait > 0 {
		p.audit(c, auditEvent(c, auditLoginFailed, storage.AuditFailure, "", clientID, map[string]any{"reason": "locked"}))
		retryAfter(c, wait)
		return fail(http.StatusTooManyRequests, p.waitMessage(lang, wait))
	}

	u, rehash, reason, err := p.verify(ctx, email, password)
	if errors.Is(err, ErrBusy) {
		retryAfter(c, time.Second)
		return fail(http.StatusServiceUnavailable, p.o.Templates.T(lang, "login.busy"))
	}
	if err != nil {
		return err
	}
	if u == nil || reason != "" {
		lockedNow, err := p.throttle.failed(ctx, email)
		if err != nil {
			return err
		}
		subject := ""
		if u != nil {
			subject = u.ID
		}
		p.audit(c, auditEvent(c, auditLoginFailed, storage.AuditFailure, subject, clientID, map[string]any{"reason": reason}))
		if lockedNow {
			p.audit(c, auditEvent(c, auditLoginLocked, storage.AuditFailure, subject, clientID,
				map[string]any{"failures": p.o.Limits.LockoutFailures, "locked_for": p.o.Limits.LockoutDuration.String()}))
		}
		return fail(http.StatusBadRequest, p.o.Templates.T(lang, "login.failed"))
	}
	if err := p.throttle.succeeded(ctx, email); err != nil {
		return err
	}
	if rehash {
		p.rehash(ctx, u.ID, password)
	}
	return p.afterFirstFactor(c, fr, lang, u, v.Remember, []string{AMRPassword}, auditLoginSucceeded, returnTo)
}

// verify checks email and password. It returns the user when they match an
// enabled account, else a reason for the audit log; every path does the
// same database read (the user and its hash in one statement) and one
// password hash.
func (p *Pages) verify(ctx context.Context, email, password string) (u *storage.User, rehash bool, reason string, err error) {
	u, hash, err := p.store.GetUserByEmailWithPassword(ctx, email)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, false, "unknown_user", p.o.Passwords.Burn(ctx, password)
	}
	if err != nil {
		return nil, false, "", err
	}
	if hash == "" {
		return u, false, "no_password", p.o.Passwords.Burn(ctx, password)
	}
	rehash, err = p.o.Passwords.Verify(ctx, password, hash)
	switch {
	case errors.Is(err, ErrPasswordMismatch):
		return u, false, "bad_password", nil
	case errors.Is(err, ErrUnknownHash):
		p.o.Log.WarnContext(ctx, "stored password hash is in no format we verify", "user", u.ID)
		return u, false, "unusable_hash", p.o.Passwords.Burn(ctx, password)
	case err != nil:
		return nil, false, "", err
	}
	if u.Disabled() {
		return u, false, "disabled", nil
	}
	return u, rehash, "", nil
}

// rehash stores a fresh hash of a password that matched an old-parameter
// hash. A failure only delays the upgrade to the next sign-in.
func (p *Pages) rehash(ctx context.Context, userID, password string) {
	h, err := p.o.Passwords.Hash(ctx, password)
	if err == nil {
		err = p.store.SetPasswordHash(ctx, userID, h)
	}
	if err != nil {
		p.o.Log.WarnContext(ctx, "password rehash failed", "user", userID, "err", err)
	}
}

// signIn starts the SSO session of u, authenticated by the methods amr,
// advances the flow to authenticated and records event, all in one
// transaction; then it sets the session cookie and sends the browser on:
// back to oidc, or (without a flow) to returnTo or the account page.
func (p *Pages) signIn(c echo.Context, fr *flowRequest, lang string, u *storage.User, remember bool, amr []string, event, returnTo string) error {
	var st *started
	clientID := ""
	if fr != nil {
		clientID = fr.client.ID
	}
	err := p.store.InTx(c.Request().Context(), func(ctx context.Context) error {
		var err error
		if st, err = p.o.Sessions.start(ctx, c, u.ID, remember, amr); err != nil {
			return err
		}
		if fr != nil {
			f := *fr.flow
			at := st.session.AuthTime
			f.State, f.Subject, f.SessionID, f.AuthTime = storage.FlowAuthenticated, u.ID, st.session.SID, &at
			f.AMR, f.ACR = append([]string(nil), st.session.AMR...), st.session.ACR
			f.Error, f.ErrorDescription = "", ""
			if err := p.advance(ctx, fr, lang, &f); err != nil {
				return err
			}
		}
		news, err := p.noteSignIn(ctx, c, u, lang, st.session.AMR)
		if err != nil {
			return err
		}
		details := map[string]any{"amr": st.session.AMR, "acr": st.session.ACR, "sid": st.session.SID, "remember": remember}
		if st.replaced != "" {
			details["replaced_sid"] = st.replaced
		}
		events := []*storage.AuditEvent{auditEvent(c, event, storage.AuditSuccess, u.ID, clientID, details)}
		if news != nil {
			events = []*storage.AuditEvent{news, events[0]}
		}
		return p.store.RecordAuditEvents(ctx, events...)
	})
	if err != nil {
		return err
	}
	p.o.Sessions.setCookie(c, st)
	if fr == nil {
		if returnTo == "" {
			returnTo = AccountPath
		}
		return c.Redirect(http.StatusSeeOther, returnTo)
	}
	return p.resume(c, fr)
}

// ReturnParam names where a sign-in without a flow goes afterwards (a
// re-authentication before a sensitive change).
const ReturnParam = "return"

// returnTo is the request's return parameter when it names one of the
// account pages (never another site: no open redirect), else "".
func (p *Pages) returnTo(c echo.Context, fr *flowRequest) string {
	if fr != nil {
		return ""
	}
	switch r := c.QueryParam(ReturnParam); r {
	case AccountPath, SecurityPath:
		return r
	}
	return ""
}

// cancel rejects the flow with access_denied (RFC 6749 §4.1.2.1) and sends
// the browser back to oidc, which tells the client.
func (p *Pages) cancel(c echo.Context, fr *flowRequest, lang string) error {
	return p.reject(c, fr, lang, "access_denied", "The user cancelled the sign-in.")
}

// reject ends the flow with an OAuth 2.0 error code the client will see.
func (p *Pages) reject(c echo.Context, fr *flowRequest, lang, code, description string) error {
	p.o.Cookies.Clear(c, pendingCookie)
	if fr == nil {
		return c.Redirect(http.StatusSeeOther, "/")
	}
	f := *fr.flow
	f.State, f.Error, f.ErrorDescription = storage.FlowRejected, code, description
	err := p.store.InTx(c.Request().Context(), func(ctx context.Context) error {
		if err := p.advance(ctx, fr, lang, &f); err != nil {
			return err
		}
		return p.store.RecordAuditEvent(ctx, auditEvent(c, auditLoginCancelled, storage.AuditFailure, fr.flow.Subject, fr.client.ID,
			map[string]any{"error": code}))
	})
	if err != nil {
		return err
	}
	return p.resume(c, fr)
}

// audit records an event outside any transaction; failing to record it is
// logged, never shown.
func (p *Pages) audit(c echo.Context, e *storage.AuditEvent) {
	if err := p.store.RecordAuditEvent(c.Request().Context(), e); err != nil {
		p.o.Log.ErrorContext(c.Request().Context(), "audit event not recorded", "type", e.Type, "err", err)
	}
}

// waitMessage tells the user to wait d (rounded up to minutes).
func (p *Pages) waitMessage(lang string, d time.Duration) string {
	if n := waitMinutes(d); n > 1 {
		return p.o.Templates.T(lang, "login.wait_many", n)
	}
	return p.o.Templates.T(lang, "login.wait_one")
}
