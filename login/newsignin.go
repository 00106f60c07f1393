package login

import (
	"context"
	"slices"
	"strings"

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
// new sign-in alert. Browsers are known by the SHA-256 of their identity
// cookie (web.Cookies.BrowserHash), remembered as long as the cookie lives.
func (p *Pages) noteSignIn(ctx context.Context, c echo.Context, u *storage.User, lang string, amr []string) error {
	isNew, hadOthers, err := p.store.RecordBrowserSignIn(ctx, u.ID, p.o.Cookies.BrowserHash(c))
	if err != nil || !isNew || !hadOthers {
		return err
	}
	data := map[string]string{
		"time":       mailTime(p.o.Now()),
		"ip":         c.RealIP(),
		"user_agent": clean(c.Request().UserAgent(), maxUserAgent),
		"method":     p.methodNames(lang, amr),
	}
	if err := p.enqueue(ctx, u, lang, mail.KindNewSignIn, data); err != nil {
		return err
	}
	return p.store.RecordAuditEvent(ctx, auditEvent(c, auditNewBrowser, storage.AuditSuccess, u.ID, "",
		map[string]any{"alerted": p.mailEnabled()}))
}

// methodNames says in lang how the user signed in: "password + one-time
// code", from the RFC 8176 methods.
func (p *Pages) methodNames(lang string, amr []string) string {
	var names []string
	add := func(key string) {
		if n := p.o.Templates.T(lang, key); !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	for _, m := range amr {
		switch m {
		case AMRPassword:
			add("email.method.pwd")
		case AMROTP:
			add("email.method.otp")
		case AMRHardwareKey, AMRSoftwareKey, AMRProofOfKey:
			add("email.method.passkey")
		}
	}
	return strings.Join(names, " + ")
}
