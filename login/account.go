package login

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// accountView is the data of account.html.
type accountView struct {
	Email, SignOutAction string
	// EmailVerified, and where to ask for a new verification link
	// (VerifyAction, "" without mail); Notice follows a redirect.
	EmailVerified        bool
	VerifyAction, Notice string
}

// showAccount is GET /account: a minimal landing for a sign-in that came
// with no flow. A browser with no session is sent to sign in.
func (p *Pages) showAccount(c echo.Context) error {
	a, ok, err := p.o.Sessions.Authenticated(c)
	if err != nil {
		return err
	}
	if !ok {
		return c.Redirect(http.StatusSeeOther, p.o.LoginPath)
	}
	u, err := p.store.GetUser(c.Request().Context(), a.Subject)
	if err != nil {
		return err
	}
	lang := p.o.Templates.Language("", c.Request().Header.Get("Accept-Language"))
	v := accountView{Email: u.Email, SignOutAction: SignOutPath, EmailVerified: u.EmailVerified}
	if p.mailEnabled() {
		v.VerifyAction = verifySendPath
	}
	if k := c.QueryParam(noticeParam); noticeKey.MatchString(k) {
		if msg := p.o.Templates.T(lang, "account.done."+k); msg != "account.done."+k {
			v.Notice = msg
		}
	}
	return p.render(c, http.StatusOK, "account", lang, "account.title", v)
}

// signOut is POST /account/signout: end the SSO session (recorded as a
// logout) and go to the sign-in page. RP-initiated logout is oidc's
// end-session endpoint, which calls Sessions.EndSession too.
func (p *Pages) signOut(c echo.Context) error {
	if _, err := p.o.Sessions.EndSession(c); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, p.o.LoginPath)
}
