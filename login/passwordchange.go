package login

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/madfam-org/janua/mail"
	"github.com/madfam-org/janua/storage"
)

// PasswordPath changes the signed-in user's password (linked from the
// password section of the security page). It takes the current password,
// or none after a recent sign-in (the re-authentication window); the new
// one must pass the policy. Every other session of the user ends (this one
// stays) and the user is told by mail.
const PasswordPath = SecurityPath + "/password"

// passwordView is the data of password.html.
type passwordView struct {
	Email, Action, Error, ReauthURL string
	// NeedCurrent: no recent sign-in, so the current password is asked.
	// HasPassword: the account has one (else only a recent sign-in lets
	// the user set one).
	NeedCurrent, HasPassword bool
	MinLength                int
}

func (p *Pages) passwordView(ctx context.Context, a Authentication, u *storage.User) (passwordView, error) {
	v := passwordView{Email: u.Email, Action: PasswordPath, MinLength: p.o.Policy.MinLength, NeedCurrent: !p.recent(a),
		ReauthURL: p.o.LoginPath + "?" + url.Values{ReturnParam: {SecurityPath}}.Encode()}
	_, err := p.store.GetPasswordHash(ctx, u.ID)
	switch {
	case err == nil:
		v.HasPassword = true
	case !errors.Is(err, storage.ErrNotFound):
		return v, err
	}
	return v, nil
}

// showPassword is GET PasswordPath.
func (p *Pages) showPassword(c echo.Context) error {
	a, u, lang, ok, err := p.account(c)
	if !ok || err != nil {
		return err
	}
	v, err := p.passwordView(c.Request().Context(), a, u)
	if err != nil {
		return err
	}
	return p.render(c, http.StatusOK, "password", lang, "password.title", v)
}

// submitPassword is POST PasswordPath.
func (p *Pages) submitPassword(c echo.Context) error {
	a, u, lang, ok, err := p.account(c)
	if !ok || err != nil {
		return err
	}
	ctx := c.Request().Context()
	v, err := p.passwordView(ctx, a, u)
	if err != nil {
		return err
	}
	t := p.o.Templates.T
	fail := func(status int, reason, msg string) error {
		p.audit(c, auditEvent(c, auditPasswordChangeFail, storage.AuditFailure, u.ID, "", map[string]any{"reason": reason}))
		v.Error = msg
		return p.render(c, status, "password", lang, "password.title", v)
	}
	current, next := c.FormValue("current_password"), c.FormValue("new_password")
	switch {
	case current != "" && v.HasPassword:
		if wait, err := p.throttle.locked(ctx, u.Email); err != nil {
			return err
		} else if wait > 0 {
			retryAfter(c, wait)
			return fail(http.StatusTooManyRequests, "locked", p.waitMessage(lang, wait))
		}
		hash, err := p.store.GetPasswordHash(ctx, u.ID)
		if err != nil {
			return err
		}
		if _, err := p.o.Passwords.Verify(ctx, current, hash); errors.Is(err, ErrPasswordMismatch) || errors.Is(err, ErrUnknownHash) {
			if _, err := p.throttle.failed(ctx, u.Email); err != nil {
				return err
			}
			return fail(http.StatusBadRequest, "bad_password", t(lang, "password.wrong_current"))
		} else if err != nil {
			return hashFailed(c, err)
		}
	case v.NeedCurrent:
		// Neither the current password nor a recent sign-in.
		return fail(http.StatusBadRequest, "no_proof", t(lang, "password.need_current"))
	}
	if err := p.o.Policy.Check(next); err != nil || strings.EqualFold(next, u.Email) {
		return fail(http.StatusBadRequest, "policy", policyMessage(t, lang, err, p.o.Policy.MinLength))
	}
	hash, err := p.o.Passwords.Hash(ctx, next)
	if err != nil {
		return hashFailed(c, err)
	}
	here, err := p.o.Sessions.live(ctx, c)
	if err != nil || here == nil {
		return err
	}
	err = p.store.InTx(ctx, func(ctx context.Context) error {
		if err := p.store.SetPasswordHash(ctx, u.ID, hash); err != nil {
			return err
		}
		ended, err := p.store.RevokeUserBrowserSessions(ctx, u.ID, here.ID)
		if err != nil {
			return err
		}
		if err := p.enqueue(ctx, u, lang, mail.KindPasswordChanged, map[string]string{"time": mailTime(p.o.Now()), "ip": c.RealIP()}); err != nil {
			return err
		}
		return p.store.RecordAuditEvent(ctx, auditEvent(c, auditPasswordChanged, storage.AuditSuccess, u.ID, "", map[string]any{"sessions_ended": ended}))
	})
	if err != nil {
		return err
	}
	if err := p.throttle.succeeded(ctx, u.Email); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, SecurityPath+"?"+noticeParam+"=password_changed")
}
