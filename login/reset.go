package login

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/madfam-org/janua/mail"
	"github.com/madfam-org/janua/storage"
)

// Password reset ("Forgot your password?" on the sign-in page).
//
//	GET/POST ResetPath?flow=…          ask for the address; the same answer
//	                                   whether or not it has an account
//	GET/POST ResetPasswordPath?token=… choose a new password
//
// A reset sets the password and ends everything the old one may have let
// someone start: every session of the user (this browser's too), their
// OAuth 2.0 grants, their other mailed links. It notifies them, and sends
// the browser to the sign-in page: a reset never signs anyone in, so never
// past a second factor.
const (
	ResetPath         = "/login/reset"
	ResetPasswordPath = "/login/reset/password"
)

// resetRequestView is the data of reset_request.html.
type resetRequestView struct {
	Action, Email, Error, LoginURL string
	// Sent: the message went (if the address has an account).
	Sent    bool
	Minutes int
}

func (p *Pages) resetRequestView(fr *flowRequest, email string) resetRequestView {
	return resetRequestView{Action: ResetPath + flowQuery(fr), Email: email, LoginURL: p.o.LoginPath + flowQuery(fr),
		Minutes: int(p.o.EmailTokenTTL.Minutes())}
}

// showReset is GET ResetPath: the address form.
func (p *Pages) showReset(c echo.Context) error {
	fr, lang, err := p.loadFlow(c)
	if err != nil {
		return err
	}
	email := ""
	if fr != nil {
		email = clean(first(fr.flow.Request, "login_hint"), maxEmail)
	}
	return p.render(c, http.StatusOK, "reset_request", lang, "reset.title", p.resetRequestView(fr, email))
}

// submitReset is POST ResetPath: mail a reset link.
func (p *Pages) submitReset(c echo.Context) error {
	fr, lang, err := p.loadFlow(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	v := p.resetRequestView(fr, clean(c.FormValue("email"), maxEmail))
	fail := func(status int, msg string) error {
		v.Error = msg
		return p.render(c, status, "reset_request", lang, "reset.title", v)
	}
	if v.Email == "" || !strings.Contains(v.Email, "@") {
		return fail(http.StatusBadRequest, p.o.Templates.T(lang, "signup.invalid_email"))
	}
	if wait, err := p.mailAllowed(ctx, v.Email, c.RealIP()); err != nil {
		return err
	} else if wait > 0 {
		retryAfter(c, wait)
		return fail(http.StatusTooManyRequests, p.waitMessage(lang, wait))
	}
	start := time.Now()
	u, err := p.mailRecipient(ctx, v.Email)
	if err != nil {
		return err
	}
	m := tokenMail{purpose: storage.EmailTokenPasswordReset, user: u, browser: p.o.Cookies.BrowserHash(c),
		kind: mail.KindPasswordReset, path: ResetPasswordPath, lang: lang}
	ep := emailPending{}
	if fr != nil {
		m.flowID, m.clientID, ep.Flow = fr.flow.ID, fr.client.ID, fr.challenge
	}
	row, err := p.mailToken(c, m)
	if err != nil {
		return err
	}
	if err := p.savePendingEmail(ctx, row.ID, ep); err != nil {
		return err
	}
	evenOut(c, start)
	v.Sent = true
	return p.render(c, http.StatusOK, "reset_request", lang, "reset.title", v)
}

// resetView is the data of reset.html.
type resetView struct {
	Action, Token, Email, Error string
	MinLength                   int
}

// showResetPassword is GET ResetPasswordPath: the new-password form (the
// token is checked, not used: a mail scanner's visit changes nothing).
func (p *Pages) showResetPassword(c echo.Context) error {
	lang := p.lang(c)
	token := c.QueryParam("token")
	t, err := p.liveResetToken(c, lang, token)
	if err != nil {
		return err
	}
	return p.render(c, http.StatusOK, "reset", lang, "reset.new_title",
		resetView{Action: ResetPasswordPath, Token: token, Email: t.Email, MinLength: p.o.Policy.MinLength})
}

func (p *Pages) liveResetToken(c echo.Context, lang, token string) (*storage.EmailToken, error) {
	if !validEmailToken(token) {
		return nil, p.emailDead(lang)
	}
	t, err := p.store.GetEmailToken(c.Request().Context(), storage.EmailTokenPasswordReset, token)
	if errors.Is(err, storage.ErrNotFound) {
		p.audit(c, auditEvent(c, auditEmailLinkFailed, storage.AuditFailure, "", "", map[string]any{"purpose": string(storage.EmailTokenPasswordReset)}))
		return nil, p.emailDead(lang)
	}
	return t, err
}

// submitResetPassword is POST ResetPasswordPath: set the new password.
func (p *Pages) submitResetPassword(c echo.Context) error {
	lang := p.lang(c)
	ctx := c.Request().Context()
	token, password := c.FormValue("token"), c.FormValue("password")
	t, err := p.liveResetToken(c, lang, token)
	if err != nil {
		return err
	}
	u, err := p.tokenUser(ctx, lang, t)
	if err != nil {
		return err
	}
	if err := p.o.Policy.Check(password); err != nil || strings.EqualFold(password, u.Email) {
		return p.render(c, http.StatusBadRequest, "reset", lang, "reset.new_title", resetView{Action: ResetPasswordPath, Token: token,
			Email: t.Email, MinLength: p.o.Policy.MinLength, Error: policyMessage(p.o.Templates.T, lang, err, p.o.Policy.MinLength)})
	}
	hash, err := p.o.Passwords.Hash(ctx, password)
	if err != nil {
		return hashFailed(c, err)
	}
	err = p.store.InTx(ctx, func(ctx context.Context) error {
		if _, err := p.store.ConsumeEmailToken(ctx, storage.EmailTokenPasswordReset, token); err != nil {
			return err
		}
		if err := p.store.SetPasswordHash(ctx, u.ID, hash); err != nil {
			return err
		}
		sessions, err := p.store.RevokeUserBrowserSessions(ctx, u.ID, "")
		if err != nil {
			return err
		}
		grants, err := p.store.RevokeUserOAuth2Tokens(ctx, u.ID)
		if err != nil {
			return err
		}
		if _, err := p.store.InvalidateEmailTokens(ctx, u.ID, storage.EmailTokenPasswordReset, storage.EmailTokenMagicLink, storage.EmailTokenCode); err != nil {
			return err
		}
		if err := p.enqueue(ctx, u, lang, mail.KindPasswordChanged, map[string]string{"time": mailTime(p.o.Now()), "ip": c.RealIP()}); err != nil {
			return err
		}
		return p.store.RecordAuditEvent(ctx, auditEvent(c, auditPasswordReset, storage.AuditSuccess, u.ID, "",
			map[string]any{"sessions_ended": sessions, "grants_revoked": grants}))
	})
	if errors.Is(err, storage.ErrNotFound) {
		return p.emailDead(lang)
	}
	if err != nil {
		return err
	}
	// The old password's failures no longer count against the new one.
	if err := p.throttle.succeeded(ctx, u.Email); err != nil {
		return err
	}
	p.o.Cookies.Clear(c, SessionCookie)
	q := url.Values{noticeParam: {"password_reset"}}
	// Back to the sign-in of the flow that asked, in the browser that asked.
	if ep, err := p.takePendingEmail(ctx, t.ID); err != nil {
		return err
	} else if ep.Flow != "" && storage.FlowID(ep.Flow) == t.FlowID &&
		subtle.ConstantTimeCompare([]byte(t.Browser), []byte(p.o.Cookies.BrowserHash(c))) == 1 {
		q.Set(FlowParam, ep.Flow)
	}
	return c.Redirect(http.StatusSeeOther, p.o.LoginPath+"?"+q.Encode())
}
