package login

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/madfam-org/janua/directory"
	"github.com/madfam-org/janua/storage"
)

// signupActor is the audit actor of a self-service sign-up.
const signupActor = "signup"

// maxName bounds the name field, in characters.
const maxName = 200

// signupView is the data of signup.html.
type signupView struct {
	Action, ClientName, Name, Email, Error, LoginURL string
	// Invalid names the field the error is about ("name", "email",
	// "password"), so the page marks and focuses it.
	Invalid   string
	MinLength int
}

func (p *Pages) signupView(fr *flowRequest) signupView {
	v := signupView{Action: SignupPath + flowQuery(fr), LoginURL: p.o.LoginPath + flowQuery(fr), MinLength: p.o.Policy.MinLength}
	if fr != nil {
		v.ClientName = fr.client.Name
	}
	return v
}

// showSignup is GET /signup: the account creation form.
func (p *Pages) showSignup(c echo.Context) error {
	fr, lang, err := p.loadFlow(c)
	if err != nil {
		return err
	}
	v := p.signupView(fr)
	if fr != nil {
		v.Email = clean(first(fr.flow.Request, "login_hint"), maxEmail)
	}
	return p.render(c, http.StatusOK, "signup", lang, "signup.title", v)
}

// submitSignup is POST /signup: check the password policy, create the user
// through the directory, sign them in and continue the flow.
//
// Sign-up cannot hide that an address is taken (creating it would succeed
// otherwise); like Auth0 and Keycloak we say so generically — "could not
// create an account with that email; if you have one, sign in" — without
// confirming an account exists, and rate-limit the form per IP.
func (p *Pages) submitSignup(c echo.Context) error {
	fr, lang, err := p.loadFlow(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	set := p.o.Templates
	v := p.signupView(fr)
	v.Name, v.Email = clean(c.FormValue("name"), 4*maxName+4), clean(c.FormValue("email"), maxEmail)
	password := c.FormValue("password")
	fail := func(status int, field, msg string) error {
		v.Invalid, v.Error = field, msg
		return p.render(c, status, "signup", lang, "signup.title", v)
	}
	if wait, err := p.throttle.allowIP(ctx, "signup", c.RealIP()); err != nil {
		return err
	} else if wait > 0 {
		retryAfter(c, wait)
		return fail(http.StatusTooManyRequests, "", p.waitMessage(lang, wait))
	}
	if utf8.RuneCountInString(v.Name) > maxName {
		return fail(http.StatusBadRequest, "name", set.T(lang, "signup.invalid_name"))
	}
	if v.Email == "" || !strings.Contains(v.Email, "@") {
		return fail(http.StatusBadRequest, "email", set.T(lang, "signup.invalid_email"))
	}
	if err := p.o.Policy.Check(password); err != nil || strings.EqualFold(password, v.Email) {
		return fail(http.StatusBadRequest, "password", policyMessage(set.T, lang, err, p.o.Policy.MinLength))
	}
	hash, err := p.o.Passwords.Hash(ctx, password)
	if err != nil {
		return hashFailed(c, err)
	}
	claims := map[string]any{}
	if v.Name != "" {
		claims["name"] = v.Name
	}
	var u *storage.User
	err = p.store.InTx(ctx, func(ctx context.Context) error {
		var err error
		u, err = p.o.Directory.Create(ctx, directory.UserSpec{Email: v.Email, Claims: claims, PasswordHash: hash}, signupActor)
		if err != nil {
			return err
		}
		return p.sendVerification(ctx, c, u, lang)
	})
	switch {
	case errors.Is(err, storage.ErrAlreadyExists):
		clientID := ""
		if fr != nil {
			clientID = fr.client.ID
		}
		p.audit(c, auditEvent(c, auditSignupFailed, storage.AuditFailure, "", clientID, map[string]any{"reason": "email_taken"}))
		return fail(http.StatusBadRequest, "email", set.T(lang, "signup.failed"))
	case errors.Is(err, directory.ErrInvalidUser):
		return fail(http.StatusBadRequest, "email", set.T(lang, "signup.invalid_email"))
	case err != nil:
		return err
	}
	return p.afterSignup(c, fr, lang, u)
}

// policyMessage is the page's words for a password the policy refused (a
// password equal to the email is "too common": it is the first guess).
func policyMessage(t func(lang, key string, args ...any) string, lang string, err error, minLength int) string {
	var pe *PolicyError
	if !errors.As(err, &pe) {
		return t(lang, "signup.password_common")
	}
	switch pe.Reason {
	case PolicyTooShort:
		return t(lang, "signup.password_short", minLength)
	case PolicyTooLong:
		return t(lang, "signup.password_long")
	case PolicyInvalid:
		return t(lang, "signup.password_invalid")
	}
	return t(lang, "signup.password_common")
}
