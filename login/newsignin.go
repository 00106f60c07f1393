package login

import (
	"context"
	"slices"

	"github.com/labstack/echo/v4"

	"github.com/madfam-org/janua/mail"
	"github.com/madfam-org/janua/storage"
)

// noticeParam carries the message key of a notice a page shows after a
// redirect ("?done=password_reset").
const noticeParam = "done"

// noteSignIn runs in signIn's transaction: it records that u signed in
// from this browser and, when u never signed in from it before but has
// from another one (the first sign-in after sign-up is no news), queues the
// new sign-in alert and returns its audit event, for signIn to record with
// its own (nil when there is no news). Browsers are known by the SHA-256 of
// their identity cookie (web.Cookies.BrowserHash), remembered as long as
// the cookie lives.
func (p *Pages) noteSignIn(ctx context.Context, c echo.Context, u *storage.User, lang string, amr []string) (*storage.AuditEvent, error) {
	isNew, hadOthers, err := p.store.RecordBrowserSignIn(ctx, u.ID, p.o.Cookies.BrowserHash(c))
	if err != nil || !isNew || !hadOthers {
		return nil, err
	}
	data := map[string]string{
		"time":       mailTime(p.o.Now()),
		"ip":         c.RealIP(),
		"user_agent": clean(c.Request().UserAgent(), maxUserAgent),
		"method":     signInMethod(c, amr),
	}
	if err := p.enqueue(ctx, u, lang, mail.KindNewSignIn, data); err != nil {
		return nil, err
	}
	return auditEvent(c, auditNewBrowser, storage.AuditSuccess, u.ID, "", map[string]any{"alerted": p.mailEnabled()}), nil
}

// emailMethodKey is the echo context key under which the email sign-in
// pages note whether the link or the code was used, for the alert.
const emailMethodKey = "janua.login.email_method"

// signInMethod names the first factor of a sign-in for the alert, as the
// mail templates label it (mail.method.<name>): password, passkey,
// magic_link or email_code.
func signInMethod(c echo.Context, amr []string) string {
	switch {
	case slices.Contains(amr, AMRPassword):
		return "password"
	case slices.Contains(amr, AMRProofOfKey):
		return "passkey"
	}
	if m, ok := c.Get(emailMethodKey).(string); ok {
		return m
	}
	return "magic_link"
}
