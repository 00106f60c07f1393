package login

import (
	"context"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/madfam-org/janua/mail"
	"github.com/madfam-org/janua/storage"
)

// Email verification: a link mailed at sign-up, and again on request from
// the account page, that marks the account's address verified (the
// email_verified claim of ID tokens and userinfo follows the user record).
const (
	VerifyEmailPath = "/account/verify"
	verifySendPath  = "/account/verify/send"
)

// sendVerification mails u a verification link, inside the transaction of
// ctx (sign-up's, or the resend's). Without mail it does nothing.
func (p *Pages) sendVerification(ctx context.Context, c echo.Context, u *storage.User, lang string) error {
	if !p.mailEnabled() {
		return nil
	}
	token := storage.NewEmailSecret()
	row := &storage.EmailToken{Purpose: storage.EmailTokenVerifyEmail, UserID: &u.ID, Email: u.Email}
	if err := p.store.CreateEmailToken(ctx, row, token, "", p.o.EmailTokenTTL); err != nil {
		return err
	}
	if err := p.store.RecordAuditEvent(ctx, auditEvent(c, auditEmailSent, storage.AuditSuccess, u.ID, "",
		map[string]any{"purpose": string(storage.EmailTokenVerifyEmail), "account": true})); err != nil {
		return err
	}
	return p.enqueue(ctx, u, lang, mail.KindVerifyEmail,
		map[string]string{"url": p.link(VerifyEmailPath, token), "expires_minutes": p.expiresMinutes()})
}

// resendVerification is POST verifySendPath from the account page.
func (p *Pages) resendVerification(c echo.Context) error {
	_, u, lang, ok, err := p.account(c)
	if !ok || err != nil {
		return err
	}
	ctx := c.Request().Context()
	if u.EmailVerified || !p.mailEnabled() {
		return c.Redirect(http.StatusSeeOther, AccountPath)
	}
	if wait, err := p.mailAllowed(ctx, u.Email, c.RealIP()); err != nil {
		return err
	} else if wait > 0 {
		retryAfter(c, wait)
		return c.Redirect(http.StatusSeeOther, AccountPath+"?"+noticeParam+"=verification_wait")
	}
	if err := p.store.InTx(ctx, func(ctx context.Context) error { return p.sendVerification(ctx, c, u, lang) }); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, AccountPath+"?"+noticeParam+"=verification_sent")
}

// verifiedView is the data of email_verified.html.
type verifiedView struct {
	Email, AccountURL string
}

// verifyEmail is GET VerifyEmailPath: the link from the message marks the
// address verified — if it is still the account's address.
func (p *Pages) verifyEmail(c echo.Context) error {
	lang := p.lang(c)
	token := c.QueryParam("token")
	if !validEmailToken(token) {
		return p.emailDead(lang)
	}
	var t *storage.EmailToken
	err := p.store.InTx(c.Request().Context(), func(ctx context.Context) error {
		var err error
		if t, err = p.store.ConsumeEmailToken(ctx, storage.EmailTokenVerifyEmail, token); err != nil {
			return err
		}
		if err := p.store.MarkEmailVerified(ctx, t.User(), t.Email); err != nil {
			return err
		}
		return p.store.RecordAuditEvent(ctx, auditEvent(c, auditEmailVerified, storage.AuditSuccess, t.User(), "", nil))
	})
	if errors.Is(err, storage.ErrNotFound) {
		p.audit(c, auditEvent(c, auditEmailLinkFailed, storage.AuditFailure, "", "", map[string]any{"purpose": string(storage.EmailTokenVerifyEmail)}))
		return p.emailDead(lang)
	}
	if err != nil {
		return err
	}
	return p.render(c, http.StatusOK, "email_verified", lang, "verify.title", verifiedView{Email: t.Email, AccountURL: AccountPath})
}
