package login

import (
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/madfam-org/janua/mail"
	"github.com/madfam-org/janua/storage"
	"github.com/madfam-org/janua/web"
)

// Sign-in by email: a magic link and a code in one message.
//
//	POST EmailSignInPath?flow=…   the sign-in page's "Email me a sign-in link"
//	                              (the email typed there, else a page asks for
//	                              it): one message, then "check your email"
//	                              with a form for the code
//	POST emailCodePath?flow=…     the code, in the browser that asked
//	GET  EmailLinkPath?token=…    the link: in the browser that asked, it
//	                              completes that browser's sign-in; in any
//	                              other, a page asks for confirmation
//	POST EmailLinkPath            confirmed: signs THAT browser in, without
//	                              the flow (which stays with the browser that
//	                              started it)
//
// Link and code are one row (storage.EmailToken): single use, bound to the
// flow and browser that asked, alive DefaultEmailTokenTTL, dead after
// storage.MaxEmailCodeAttempts wrong codes, and the first use of either
// kills both. Both prove control of the inbox: amr ["otp"] (RFC 8176), one
// factor (ACRPassword); a user with a second factor goes on to it.
const (
	EmailSignInPath = "/login/email"
	emailCodePath   = "/login/email/code"
	EmailLinkPath   = "/login/email/verify"
)

// emailSignInView is the data of email_signin.html (which asks for the
// address) and email_sent.html (check your email, enter the code).
type emailSignInView struct {
	Action, ClientName, Email, Error, LoginURL string
	Remember                                   bool
	// The code form: where it posts and the token row it names.
	CodeAction, ID  string
	Minutes, Digits int
}

func (p *Pages) emailSignInView(fr *flowRequest, returnTo, email string, remember bool) emailSignInView {
	v := emailSignInView{
		Action:     p.pageURL(EmailSignInPath, fr, returnTo),
		CodeAction: p.pageURL(emailCodePath, fr, returnTo),
		LoginURL:   p.pageURL(p.o.LoginPath, fr, returnTo),
		Email:      email,
		Remember:   remember,
		Minutes:    int(p.o.EmailTokenTTL.Minutes()),
		Digits:     emailCodeDigits,
	}
	if fr != nil {
		v.ClientName = fr.client.Name
	}
	return v
}

// submitEmailSignIn is POST EmailSignInPath: send the link and code. The
// page, its status and (within noise) its timing are the same whether or
// not the address has an account.
func (p *Pages) submitEmailSignIn(c echo.Context) error {
	fr, lang, err := p.loadFlow(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	returnTo := p.returnTo(c, fr)
	v := p.emailSignInView(fr, returnTo, clean(c.FormValue("email"), maxEmail), c.FormValue("remember") != "")
	fail := func(status int, msg string) error {
		v.Error = msg
		return p.render(c, status, "email_signin", lang, "email.title", v)
	}
	switch {
	case v.Email == "":
		return p.render(c, http.StatusOK, "email_signin", lang, "email.title", v)
	case !strings.Contains(v.Email, "@"):
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
	m := tokenMail{purpose: storage.EmailTokenMagicLink, user: u, browser: p.o.Cookies.BrowserHash(c), code: true,
		kind: mail.KindMagicLink, path: EmailLinkPath, lang: lang}
	ep := emailPending{Remember: v.Remember, Return: returnTo}
	if fr != nil {
		m.flowID, m.clientID, m.client, ep.Flow = fr.flow.ID, fr.client.ID, fr.client.Name, fr.challenge
	}
	row, err := p.mailToken(c, m)
	if err != nil {
		return err
	}
	if err := p.savePendingEmail(ctx, row.ID, ep); err != nil {
		return err
	}
	evenOut(c, start)
	v.ID = row.ID
	return p.render(c, http.StatusOK, "email_sent", lang, "email.sent_title", v)
}

// submitEmailCode is POST emailCodePath: the code from the message, typed
// in the browser that asked, completes its sign-in.
func (p *Pages) submitEmailCode(c echo.Context) error {
	fr, lang, err := p.loadFlow(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	returnTo := p.returnTo(c, fr)
	v := p.emailSignInView(fr, returnTo, clean(c.FormValue("email"), maxEmail), c.FormValue("remember") != "")
	v.ID = c.FormValue("id")
	fail := func(status int, msg string) error {
		v.Error = msg
		return p.render(c, status, "email_sent", lang, "email.sent_title", v)
	}
	if wait, err := p.throttle.allowIP(ctx, "email_code", c.RealIP()); err != nil {
		return err
	} else if wait > 0 {
		retryAfter(c, wait)
		return fail(http.StatusTooManyRequests, p.waitMessage(lang, wait))
	}
	code := normalizeCode(c.FormValue("code"))
	if code == "" || !validEmailTokenID(v.ID) {
		return fail(http.StatusBadRequest, p.o.Templates.T(lang, "email.code_format", emailCodeDigits))
	}
	flowID, clientID := "", ""
	if fr != nil {
		flowID, clientID = fr.flow.ID, fr.client.ID
	}
	t, left, err := p.store.ConsumeEmailCode(ctx, v.ID, code, flowID, p.o.Cookies.BrowserHash(c))
	if errors.Is(err, storage.ErrNotFound) {
		reason := "wrong_code"
		if left == 0 {
			reason = "dead"
		}
		p.audit(c, auditEvent(c, auditEmailCodeFailed, storage.AuditFailure, "", clientID, map[string]any{"reason": reason, "attempts_left": left}))
		if left > 0 {
			return fail(http.StatusBadRequest, p.o.Templates.T(lang, "email.code_wrong", left))
		}
		return p.emailDead(lang)
	}
	if err != nil {
		return err
	}
	if _, err := p.takePendingEmail(ctx, t.ID); err != nil {
		return err
	}
	u, err := p.tokenUser(ctx, lang, t)
	if err != nil {
		return err
	}
	c.Set(emailMethodKey, "email_code")
	return p.afterFirstFactor(c, fr, lang, u, v.Remember, []string{AMROTP}, auditLoginSucceeded, returnTo)
}

// emailConfirmView is the data of email_confirm.html.
type emailConfirmView struct {
	Email, Action, Token, LoginURL string
}

// openEmailLink is GET EmailLinkPath: the link from the message. In the
// browser that asked it completes that browser's sign-in (its flow, when
// the flow still waits). In any other browser it signs nobody in: a page
// asks whether to sign in on this device (mail scanners that fetch links
// stop there).
func (p *Pages) openEmailLink(c echo.Context) error {
	lang := p.lang(c)
	ctx := c.Request().Context()
	token := c.QueryParam("token")
	if !validEmailToken(token) {
		return p.emailDead(lang)
	}
	t, err := p.store.GetEmailToken(ctx, storage.EmailTokenMagicLink, token)
	if errors.Is(err, storage.ErrNotFound) {
		p.audit(c, auditEvent(c, auditEmailLinkFailed, storage.AuditFailure, "", "", map[string]any{"purpose": string(storage.EmailTokenMagicLink)}))
		return p.emailDead(lang)
	}
	if err != nil {
		return err
	}
	if t.User() == "" {
		return p.emailDead(lang)
	}
	if t.Browser == "" || subtle.ConstantTimeCompare([]byte(t.Browser), []byte(p.o.Cookies.BrowserHash(c))) != 1 {
		return p.render(c, http.StatusOK, "email_confirm", lang, "email.confirm_title",
			emailConfirmView{Email: t.Email, Action: EmailLinkPath, Token: token, LoginURL: p.o.LoginPath})
	}
	// The browser that asked: continue its flow if it still waits.
	ep, err := p.takePendingEmail(ctx, t.ID)
	if err != nil {
		return err
	}
	var fr *flowRequest
	if ep.Flow != "" && storage.FlowID(ep.Flow) == t.FlowID {
		var we *web.Error
		fr, lang, err = p.loadChallenge(c, ep.Flow)
		if errors.As(err, &we) {
			fr = nil // the flow expired or ended: sign this browser in without it
		} else if err != nil {
			return err
		}
	}
	returnTo := ""
	if fr == nil {
		returnTo = validReturn(ep.Return)
	}
	return p.useEmailLink(c, fr, lang, token, ep.Remember, returnTo)
}

// confirmEmailLink is POST EmailLinkPath: the user confirmed signing in
// on this browser. The flow, if any, stays with the browser that started
// it; this one goes to the account page.
func (p *Pages) confirmEmailLink(c echo.Context) error {
	lang := p.lang(c)
	token := c.FormValue("token")
	if !validEmailToken(token) {
		return p.emailDead(lang)
	}
	return p.useEmailLink(c, nil, lang, token, false, "")
}

// useEmailLink uses the link token and completes the first factor.
func (p *Pages) useEmailLink(c echo.Context, fr *flowRequest, lang, token string, remember bool, returnTo string) error {
	ctx := c.Request().Context()
	t, err := p.store.ConsumeEmailToken(ctx, storage.EmailTokenMagicLink, token)
	if errors.Is(err, storage.ErrNotFound) {
		return p.emailDead(lang)
	}
	if err != nil {
		return err
	}
	u, err := p.tokenUser(ctx, lang, t)
	if err != nil {
		return err
	}
	return p.afterFirstFactor(c, fr, lang, u, remember, []string{AMROTP}, auditLoginSucceeded, returnTo)
}
