package login

import (
	"context"
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"

	"github.com/madfam-org/janua/storage"
	"github.com/madfam-org/janua/web"
)

// TOTP (RFC 6238) as every authenticator app does it: HMAC-SHA1, six
// digits, a 30-second step, a 160-bit secret (RFC 4226 §4 R6), and codes
// of one step either side of now accepted for clock drift (RFC 6238 §5.2).
// Each step is accepted once, ever: a code that signed in cannot sign in
// again, even within its 30 seconds.
const (
	totpPeriod     = 30
	totpSkew       = 1
	totpSecretSize = 20
	totpDigits     = otp.DigitsSix
)

// TOTPStore is the persistence of authenticator apps (storage/totp.go).
type TOTPStore interface {
	BeginTOTP(ctx context.Context, userID string, secret []byte) (string, error)
	GetTOTP(ctx context.Context, userID string) (*storage.TOTPAuthenticator, error)
	TOTPConfirmedAt(ctx context.Context, userID string) (*time.Time, error)
	ConfirmTOTP(ctx context.Context, userID, id string, step int64) error
	UseTOTPStep(ctx context.Context, userID string, step int64) error
	DeleteTOTP(ctx context.Context, userID string) error
}

// totpFactor is the authenticator app as a second factor.
type totpFactor struct{ p *Pages }

func (totpFactor) id() string       { return "totp" }
func (totpFactor) standalone() bool { return true }
func (totpFactor) reaches() string  { return ACRMFA }

func (totpFactor) enrolled(e storage.FactorEnrolment) bool { return e.TOTP }

// totpSection is the data of the security_totp partial.
type totpSection struct {
	// Since is when the authenticator was set up; nil when there is none.
	Since *time.Time
	// MayRemove: removing it is allowed (not the last factor while one is
	// required). RemovesBackup: removing it also removes the backup codes,
	// as no other factor they could back up remains.
	MayRemove, RemovesBackup  bool
	SetupAction, RemoveAction string
}

func (f totpFactor) section(ctx context.Context, userID string) (any, error) {
	s := totpSection{SetupAction: securityTOTPPath, RemoveAction: securityTOTPRemovePath}
	at, err := f.p.store.TOTPConfirmedAt(ctx, userID)
	if err != nil || at == nil {
		return s, err
	}
	s.Since = at
	if s.MayRemove, err = f.p.mayRemoveFactor(ctx, userID, f.id()); err != nil {
		return s, err
	}
	others, err := f.p.otherStandaloneFactors(ctx, userID, f.id())
	s.RemovesBackup = !others
	return s, err
}

// otherStandaloneFactors reports whether userID has a standalone second
// factor besides method id.
func (p *Pages) otherStandaloneFactors(ctx context.Context, userID, id string) (bool, error) {
	ids, err := p.enrolledFactors(ctx, userID)
	if err != nil {
		return false, err
	}
	for _, other := range ids {
		if f := p.factorByID(other); other != id && f != nil && f.standalone() {
			return true, nil
		}
	}
	return false, nil
}

// totpVerdict is what a code says about an authenticator.
type totpVerdict int

const (
	totpWrong    totpVerdict = iota // no step in the window has this code
	totpReplayed                    // only a step already used has it
	totpFresh                       // a step after the last one used has it
)

// totpMatch checks code against secret for the steps around now and
// returns the earliest step after lastUsed whose code it is. Every step of
// the window is computed and compared in constant time, whatever matches.
func totpMatch(secret []byte, code string, now time.Time, lastUsed int64) (int64, totpVerdict) {
	code = normalizeTOTPCode(code)
	if len(code) != totpDigits.Length() {
		return 0, totpWrong
	}
	key := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(secret)
	opts := hotp.ValidateOpts{Digits: totpDigits, Algorithm: otp.AlgorithmSHA1}
	cur := now.Unix() / totpPeriod
	step, verdict := int64(0), totpWrong
	for s := cur - totpSkew; s <= cur+totpSkew; s++ {
		want, err := hotp.GenerateCodeCustom(key, uint64(s), opts)
		if err != nil {
			return 0, totpWrong
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) != 1 {
			continue
		}
		switch {
		case s > lastUsed && verdict != totpFresh:
			step, verdict = s, totpFresh
		case s <= lastUsed && verdict == totpWrong:
			verdict = totpReplayed
		}
	}
	return step, verdict
}

// normalizeTOTPCode drops the spaces and dashes people type or paste
// ("123 456"); anything else that is not a digit makes it invalid.
func normalizeTOTPCode(s string) string {
	if len(s) > 16 {
		return ""
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == ' ' || r == '-':
		default:
			return ""
		}
	}
	return b.String()
}

// submitTOTP is POST /login/factor/totp: the authenticator's code as the
// second factor of a pending sign-in.
func (p *Pages) submitTOTP(c echo.Context) error {
	at, ok, err := p.beginFactorAttempt(c, totpFactor{}.id())
	if !ok || err != nil {
		return err
	}
	ctx := c.Request().Context()
	a, err := p.store.GetTOTP(ctx, at.pa.UserID)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && !a.Confirmed()) {
		return p.factorFailed(c, at, "totp", "not_enrolled", "")
	}
	if err != nil {
		return err
	}
	step, verdict := totpMatch(a.Secret, c.FormValue("code"), p.o.Now(), a.LastUsedStep)
	switch verdict {
	case totpWrong:
		return p.factorFailed(c, at, "totp", "bad_code", "")
	case totpReplayed:
		return p.factorFailed(c, at, "totp", "replayed", "totp.replayed")
	}
	// Another request (or instance) may have taken this step meanwhile:
	// one conditional update decides.
	if err := p.store.UseTOTPStep(ctx, a.UserID, step); errors.Is(err, storage.ErrConflict) {
		return p.factorFailed(c, at, "totp", "replayed", "totp.replayed")
	} else if err != nil {
		return err
	}
	p.audit(c, auditEvent(c, auditFactorSucceeded, storage.AuditSuccess, a.UserID, at.clientID, map[string]any{"method": "totp"}))
	return p.secondFactorPassed(c, at.fr, at.lang, at.pa, []string{AMROTP})
}

// factorAttempt is a post of the second-factor step that may go on: its
// flow, page language and pending sign-in.
type factorAttempt struct {
	fr       *flowRequest
	lang     string
	pa       *pendingAuth
	clientID string
}

// beginFactorAttempt loads a second-factor post's pending sign-in and
// applies the per-IP limit and the user's second-factor lockout, both
// before any code is checked. ok=false means a response was written (or
// err is the page to show).
func (p *Pages) beginFactorAttempt(c echo.Context, method string) (at *factorAttempt, ok bool, err error) {
	fr, lang, err := p.loadFlow(c)
	if err != nil {
		return nil, false, err
	}
	pa, err := p.pending(c, fr)
	if err != nil {
		return nil, false, err
	}
	if pa == nil {
		return nil, false, p.factorExpired(lang)
	}
	// Only a method the step offers: one that reaches what the flow demands.
	if f := p.factorByID(method); f == nil || (fr != nil && !SatisfiesACR(f.reaches(), fr.flow.RequiredACR)) {
		return nil, false, &web.Error{Status: http.StatusBadRequest, Code: "method_not_offered", Message: p.o.Templates.T(lang, "factor.unavailable")}
	}
	at = &factorAttempt{fr: fr, lang: lang, pa: pa}
	if fr != nil {
		at.clientID = fr.client.ID
	}
	ctx := c.Request().Context()
	if wait, err := p.throttle.allowIP(ctx, "factor", c.RealIP()); err != nil {
		return nil, false, err
	} else if wait > 0 {
		retryAfter(c, wait)
		return nil, false, p.factorPage(c, at, http.StatusTooManyRequests, p.waitMessage(lang, wait))
	}
	if wait, err := p.secondFactorAttempt(ctx, pa.UserID); err != nil {
		return nil, false, err
	} else if wait > 0 {
		p.audit(c, auditEvent(c, auditFactorFailed, storage.AuditFailure, pa.UserID, at.clientID, map[string]any{"reason": "locked"}))
		retryAfter(c, wait)
		return nil, false, p.factorPage(c, at, http.StatusTooManyRequests, p.waitMessage(lang, wait))
	}
	return at, true, nil
}

// factorFailed counts a wrong second factor and shows the step again with
// msgKey's message ("factor.failed" when empty), or the lockout it caused.
func (p *Pages) factorFailed(c echo.Context, at *factorAttempt, method, reason, msgKey string) error {
	locked, err := p.secondFactorFailed(c, at.pa, method, at.clientID, reason, true)
	if err != nil {
		return err
	}
	if locked {
		retryAfter(c, p.o.Limits.LockoutDuration)
		return p.factorPage(c, at, http.StatusTooManyRequests, p.waitMessage(at.lang, p.o.Limits.LockoutDuration))
	}
	if msgKey == "" {
		msgKey = "factor.failed"
	}
	return p.factorPage(c, at, http.StatusBadRequest, p.o.Templates.T(at.lang, msgKey))
}

// factorPage shows the second-factor step again with an error.
func (p *Pages) factorPage(c echo.Context, at *factorAttempt, status int, msg string) error {
	v, err := p.factorView(c.Request().Context(), at.fr, at.pa)
	if err != nil {
		return err
	}
	v.Error = msg
	return p.render(c, status, "factor", at.lang, "factor.title", v)
}
