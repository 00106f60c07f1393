package login

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"

	"github.com/madfam-org/janua/storage"
	"github.com/madfam-org/janua/web"
)

// tokenMail is one mailed one-time secret: a link (and, for sign-in, a
// code) of purpose to the address of user.
type tokenMail struct {
	purpose storage.EmailTokenPurpose
	// user is nil for an address without an account: a row is still made,
	// so asking costs the same either way, and nothing is mailed.
	user *storage.User
	// flowID and browser bind a sign-in token (see storage.EmailToken).
	flowID, browser string
	// code adds a short code to the link.
	code bool
	// kind is the message; path the page the link opens.
	kind, path string
	// clientID and client name the application being signed in to.
	clientID, client string
	lang             string
}

// mailToken creates the token m describes and queues its message in one
// transaction, with an audit event: the message exists iff the token
// does. It does the same database work for an address without an account
// (but queues nothing), so neither the response nor its timing tells
// whether one exists.
func (p *Pages) mailToken(c echo.Context, m tokenMail) (*storage.EmailToken, error) {
	token, code := storage.NewEmailSecret(), ""
	if m.code {
		code = newEmailCode()
	}
	row := &storage.EmailToken{Purpose: m.purpose, FlowID: m.flowID, Browser: m.browser}
	subject := ""
	if m.user != nil {
		row.UserID, row.Email, subject = &m.user.ID, m.user.Email, m.user.ID
	}
	data := map[string]string{"url": p.link(m.path, token), "expires_minutes": p.expiresMinutes()}
	if m.code {
		data["code"], data["client"] = code, m.client
	}
	err := p.store.InTx(c.Request().Context(), func(ctx context.Context) error {
		if err := p.store.CreateEmailToken(ctx, row, token, code, p.o.EmailTokenTTL); err != nil {
			return err
		}
		e := auditEvent(c, auditEmailSent, storage.AuditSuccess, subject, m.clientID,
			map[string]any{"purpose": string(m.purpose), "account": m.user != nil})
		if err := p.store.RecordAuditEvent(ctx, e); err != nil {
			return err
		}
		if m.user == nil {
			return nil
		}
		return p.enqueue(ctx, m.user, m.lang, m.kind, data)
	})
	return row, err
}

// mailRecipient returns the account that mail for email goes to, or nil
// when there is none (or it is disabled: it gets no mail either).
func (p *Pages) mailRecipient(ctx context.Context, email string) (*storage.User, error) {
	u, err := p.store.GetUserByEmail(ctx, email)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if u.Disabled() {
		return nil, nil
	}
	return u, nil
}

// tokenUser returns the live, enabled user a used token belongs to, or
// the dead-link error page.
func (p *Pages) tokenUser(ctx context.Context, lang string, t *storage.EmailToken) (*storage.User, error) {
	if t.User() == "" {
		return nil, p.emailDead(lang)
	}
	u, err := p.store.GetUser(ctx, t.User())
	if errors.Is(err, storage.ErrNotFound) || err == nil && u.Disabled() {
		return nil, p.emailDead(lang)
	}
	return u, err
}

// emailDead is the page of a link or code that is unknown, expired, used
// or dead from wrong tries: a 400, never a 500.
func (p *Pages) emailDead(lang string) error {
	return &web.Error{Status: http.StatusBadRequest, Code: "email_token_invalid", Message: p.o.Templates.T(lang, "email.dead")}
}

// pageURL is path with the flow, or else the return page, as its query.
func (p *Pages) pageURL(path string, fr *flowRequest, returnTo string) string {
	if fr == nil && returnTo != "" {
		return path + "?" + url.Values{ReturnParam: {returnTo}}.Encode()
	}
	return path + flowQuery(fr)
}

// validReturn keeps a stored return page only when returnTo would accept it.
func validReturn(r string) string {
	if r == AccountPath || r == SecurityPath {
		return r
	}
	return ""
}
