package login

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/madfam-org/janua/mail"
	"github.com/madfam-org/janua/storage"
)

// DefaultEmailTokenTTL is how long a mailed link or code lives.
const DefaultEmailTokenTTL = 15 * time.Minute

// emailCodeDigits is the length of a mailed sign-in code. Eight digits
// (10⁸) with at most storage.MaxEmailCodeAttempts tries per code and
// EmailLimits.PerAddress codes per window leave a guesser about 2·10⁻³ a
// year against one address at the default limits.
const emailCodeDigits = 8

// EmailLimits bound the messages one address and one IP address may cause
// (magic links, password resets, verification links together), so the
// pages cannot be used to flood an inbox or to guess codes at scale.
// They are counted whether or not the address has an account.
type EmailLimits struct {
	PerAddress int
	PerIP      int
	Window     time.Duration
}

// evenTime is the least time the account-dependent part of the forms that
// must not tell whether an address has an account (sign-in link, password
// reset) takes. Both paths do the same database work but one also queues a
// message, and the outbox wakes its worker on commit: a few hundred
// microseconds apart, which a timing attacker could average out. Waiting
// until evenTime has passed since that part began makes both answers leave
// at the same moment (the work stays well under it: a few milliseconds).
const evenTime = 50 * time.Millisecond

// evenOut waits until evenTime has passed since start (real time: the
// wait is the point), or the request ends.
func evenOut(c echo.Context, start time.Time) {
	if d := evenTime - time.Since(start); d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-c.Request().Context().Done():
		}
	}
}

// DefaultEmailLimits: 5 messages an hour to one address, 20 an hour caused
// by one IP address.
func DefaultEmailLimits() EmailLimits {
	return EmailLimits{PerAddress: 5, PerIP: 20, Window: time.Hour}
}

func emailDefaults(ttl time.Duration, l EmailLimits) (time.Duration, EmailLimits) {
	if ttl <= 0 {
		ttl = DefaultEmailTokenTTL
	}
	d := DefaultEmailLimits()
	if l.PerAddress <= 0 {
		l.PerAddress = d.PerAddress
	}
	if l.PerIP <= 0 {
		l.PerIP = d.PerIP
	}
	if l.Window <= 0 {
		l.Window = d.Window
	}
	return ttl, l
}

// The audit events of mailed tokens and passwords. Details never hold a
// token, a code or a password.
const (
	auditEmailSent          = "login.email_sent"        // details.purpose, details.account (whether one exists)
	auditEmailLinkFailed    = "login.email_link_failed" // details.purpose
	auditEmailCodeFailed    = "login.email_code_failed" // details.reason: wrong_code, dead
	auditEmailVerified      = "user.email_verified"
	auditPasswordReset      = "password.reset" // details.sessions_ended, details.grants_revoked
	auditPasswordChanged    = "password.changed"
	auditPasswordChangeFail = "password.change_failed" // details.reason
	auditNewBrowser         = "login.new_browser"      // details.alerted
)

// mailEnabled reports whether Janua can send mail at all.
func (p *Pages) mailEnabled() bool { return p.o.Mail != nil }

// emailSignInEnabled reports whether the sign-in page offers magic links.
func (p *Pages) emailSignInEnabled() bool { return p.o.EmailSignIn && p.o.Mail != nil }

// mailAllowed counts one message to email caused by ip and returns how long
// to wait when either is over its limit (nothing is sent then).
func (p *Pages) mailAllowed(ctx context.Context, email, ip string) (time.Duration, error) {
	l := p.o.EmailLimits
	for _, k := range []struct {
		key   string
		limit int
	}{{"login/mail/ip/" + ip, l.PerIP}, {"login/mail/addr/" + accountKey(email), l.PerAddress}} {
		d, err := p.o.HotState.Allow(ctx, k.key, k.limit, l.Window)
		if err != nil {
			return 0, err
		}
		if !d.Allowed {
			return max(d.RetryAfter, time.Second), nil
		}
	}
	return 0, nil
}

// link is the absolute URL of path with the token, on the configured
// issuer.
func (p *Pages) link(path, token string) string {
	return strings.TrimSuffix(p.o.Issuer, "/") + path + "?" + url.Values{"token": {token}}.Encode()
}

// enqueue queues a message of kind to u in lang, inside the transaction of
// ctx; name and the token lifetime join data.
func (p *Pages) enqueue(ctx context.Context, u *storage.User, lang, kind string, data map[string]string) error {
	if p.o.Mail == nil {
		return nil
	}
	if data == nil {
		data = map[string]string{}
	}
	if name, ok := u.Claims["name"].(string); ok {
		data["name"] = name
	}
	return p.o.Mail.Enqueue(ctx, mail.Message{To: u.Email, Lang: lang, Kind: kind, Data: data})
}

// expiresMinutes is the token lifetime as the mails state it.
func (p *Pages) expiresMinutes() string {
	return strconv.Itoa(int(p.o.EmailTokenTTL / time.Minute))
}

// mailTime formats an instant for a message.
func mailTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

// newEmailCode returns a uniformly random code of emailCodeDigits digits.
func newEmailCode() string {
	n, err := rand.Int(rand.Reader, big.NewInt(100_000_000))
	if err != nil {
		panic(fmt.Sprintf("login: random code: %v", err)) // crypto/rand never fails on Linux
	}
	return fmt.Sprintf("%0*d", emailCodeDigits, n.Int64())
}

// normalizeCode strips what people type around a code (spaces, dashes)
// and returns "" unless emailCodeDigits digits remain.
func normalizeCode(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '\u00a0' {
			return -1
		}
		return r
	}, s)
	if len(s) != emailCodeDigits {
		return ""
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return ""
		}
	}
	return s
}

// validEmailToken is the shape of a link token (256 bits, base64url):
// anything else is refused before the database.
func validEmailToken(s string) bool {
	return len(s) == 43 && base64URL(s)
}

// validEmailTokenID reports whether s has the shape of an email token's
// public id (22 base64url characters): anything else, such as invalid
// UTF-8 that PostgreSQL would refuse, never reaches the database.
func validEmailTokenID(s string) bool {
	return len(s) == 22 && base64URL(s)
}

// base64URL reports whether s holds only base64url characters.
func base64URL(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// emailPending is what the browser that asked for a mailed link was doing,
// kept in the hot state under the token row's ID for the token's
// lifetime: the link opened in that browser continues there.
type emailPending struct {
	Flow     string `json:"flow,omitempty"` // the flow challenge
	Remember bool   `json:"rem,omitempty"`
	Return   string `json:"ret,omitempty"`
}

func emailPendingKey(rowID string) string { return "login/email/" + rowID }

// savePendingEmail remembers ep for the token row id.
func (p *Pages) savePendingEmail(ctx context.Context, id string, ep emailPending) error {
	raw, err := json.Marshal(ep)
	if err != nil {
		return err
	}
	return p.o.HotState.Put(ctx, emailPendingKey(id), raw, p.o.EmailTokenTTL)
}

// takePendingEmail returns and forgets what the token row id was asked
// for (the zero value when it is gone).
func (p *Pages) takePendingEmail(ctx context.Context, id string) (emailPending, error) {
	var ep emailPending
	raw, err := p.o.HotState.Take(ctx, emailPendingKey(id))
	if errors.Is(err, storage.ErrNotFound) {
		return ep, nil
	}
	if err != nil {
		return ep, err
	}
	_ = json.Unmarshal(raw, &ep)
	return ep, nil
}

// lang is the page language of a request without a flow.
func (p *Pages) lang(c echo.Context) string {
	return p.o.Templates.Language("", c.Request().Header.Get("Accept-Language"))
}
