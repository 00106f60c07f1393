package login

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"html/template"
	"image/png"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/madfam-org/janua/storage"
	"github.com/madfam-org/janua/web"
)

// Paths of TOTP enrolment and removal. During a sign-in that must enrol a
// second factor the step posts to totpEnrolPath/totpConfirmPath (with the
// flow); the security page posts to its own paths.
const (
	totpPath               = FactorPath + "/totp"
	totpEnrolPath          = FactorPath + "/totp/enrol"
	totpConfirmPath        = FactorPath + "/totp/confirm"
	securityTOTPPath       = SecurityPath + "/totp"
	securityTOTPConfirm    = SecurityPath + "/totp/confirm"
	securityTOTPRemovePath = SecurityPath + "/totp/remove"
)

// totpEnrolTTL is how long a new secret waits for its first code.
const totpEnrolTTL = 15 * time.Minute

// qrSize is the QR code's width and height in pixels.
const qrSize = 200

// enrolment is a user setting up a second factor: during a sign-in that
// requires one (pa set: the sign-in completes with it) or from the
// security page.
type enrolment struct {
	u    *storage.User
	pa   *pendingAuth
	fr   *flowRequest
	lang string
}

// signInEnrolment is who enrols through the second-factor step: a pending
// sign-in without a standalone factor, else a recent sign-in (p.enroller).
func (p *Pages) signInEnrolment(c echo.Context) (e enrolment, ok bool, err error) {
	if e.fr, e.lang, err = p.loadFlow(c); err != nil {
		return e, false, err
	}
	e.u, e.pa, e.lang, ok, err = p.enroller(c, e.fr, totpFactor{}.id())
	return e, ok, err
}

// securityEnrolment is who enrols from the security page: the signed-in
// user after a recent sign-in.
func (p *Pages) securityEnrolment(c echo.Context) (e enrolment, ok bool, err error) {
	e.u, e.lang, ok, err = p.sensitive(c)
	return e, ok, err
}

// confirmAction is where the enrolment page posts its code.
func (e enrolment) confirmAction() string {
	if e.pa != nil {
		return totpConfirmPath + flowQuery(e.fr)
	}
	return securityTOTPConfirm
}

// cancelURL leaves the enrolment: back to the second-factor step or to the
// security page.
func (e enrolment) cancelURL() string {
	if e.pa != nil {
		return FactorPath + flowQuery(e.fr)
	}
	return SecurityPath
}

// totpEnrolView is the data of totp_enrol.html.
type totpEnrolView struct {
	// QR is the otpauth:// URI as a PNG data: URI, drawn here (no
	// third-party service sees the secret); URI opens an authenticator
	// app on the same device.
	QR, URI template.URL
	// Secret is the base32 secret in groups of four, for typing in.
	Secret          string
	Issuer, Account string
	Action, Cancel  string
	ClientName      string
	Error           string
}

// startTOTP is POST /login/factor/totp/enrol (during a sign-in) and POST
// /account/security/totp: a fresh secret, held until a first code confirms
// it, and the page to scan it from.
func (p *Pages) startTOTP(who func(echo.Context) (enrolment, bool, error)) echo.HandlerFunc {
	return func(c echo.Context) error {
		e, ok, err := who(c)
		if !ok || err != nil {
			return err
		}
		return p.newTOTPSecret(c, e, "")
	}
}

// newTOTPSecret stores a new pending secret for e and shows it, with msg
// as the error when set.
func (p *Pages) newTOTPSecret(c echo.Context, e enrolment, msg string) error {
	secret := make([]byte, totpSecretSize)
	if _, err := rand.Read(secret); err != nil {
		return err
	}
	_, err := p.store.BeginTOTP(c.Request().Context(), e.u.ID, secret)
	if errors.Is(err, storage.ErrAlreadyExists) {
		return &web.Error{Status: http.StatusConflict, Code: "totp_exists", Message: p.o.Templates.T(e.lang, "totp.exists")}
	}
	if err != nil {
		return err
	}
	return p.showTOTPEnrol(c, e, secret, http.StatusOK, msg)
}

// showTOTPEnrol renders the enrolment page of secret.
func (p *Pages) showTOTPEnrol(c echo.Context, e enrolment, secret []byte, status int, msg string) error {
	issuer := p.o.TOTPIssuer
	if issuer == "" {
		issuer = "Janua"
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: issuer, AccountName: e.u.Email, Secret: secret,
		Period: totpPeriod, Digits: totpDigits, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		return err
	}
	img, err := key.Image(qrSize, qrSize)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return err
	}
	v := totpEnrolView{
		QR:      template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes())),
		URI:     template.URL(key.URL()),
		Secret:  groupSecret(key.Secret()),
		Issuer:  issuer,
		Account: e.u.Email,
		Action:  e.confirmAction(),
		Cancel:  e.cancelURL(),
		Error:   msg,
	}
	if e.fr != nil && e.pa != nil {
		v.ClientName = e.fr.client.Name
	}
	return p.render(c, status, "totp_enrol", e.lang, "totp.enrol_title", v)
}

// groupSecret writes a base32 secret in groups of four for reading aloud
// or typing.
func groupSecret(s string) string {
	var b strings.Builder
	for i, r := range s {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// confirmTOTP is POST /login/factor/totp/confirm and POST
// /account/security/totp/confirm: the first code. Right, the authenticator
// is in use (its step used), backup codes are made if the user has none
// (shown once), the change is audited and mailed; during a sign-in the
// code is its second factor.
func (p *Pages) confirmTOTP(who func(echo.Context) (enrolment, bool, error)) echo.HandlerFunc {
	return func(c echo.Context) error {
		e, ok, err := who(c)
		if !ok || err != nil {
			return err
		}
		ctx := c.Request().Context()
		clientID := ""
		if e.fr != nil {
			clientID = e.fr.client.ID
		}
		if wait, err := p.throttle.allowIP(ctx, "factor", c.RealIP()); err != nil {
			return err
		} else if wait > 0 {
			retryAfter(c, wait)
			return &web.Error{Status: http.StatusTooManyRequests, Code: "rate_limited", Message: p.waitMessage(e.lang, wait)}
		}
		if e.pa != nil {
			if wait, err := p.secondFactorAttempt(ctx, e.u.ID); err != nil {
				return err
			} else if wait > 0 {
				retryAfter(c, wait)
				return &web.Error{Status: http.StatusTooManyRequests, Code: "locked", Message: p.waitMessage(e.lang, wait)}
			}
		}
		a, err := p.store.GetTOTP(ctx, e.u.ID)
		if errors.Is(err, storage.ErrNotFound) || (err == nil && a.Confirmed()) {
			return c.Redirect(http.StatusSeeOther, e.cancelURL())
		}
		if err != nil {
			return err
		}
		if p.o.Now().Sub(a.CreatedAt) > totpEnrolTTL {
			return p.newTOTPSecret(c, e, p.o.Templates.T(e.lang, "totp.enrol_expired"))
		}
		step, verdict := totpMatch(a.Secret, c.FormValue("code"), p.o.Now(), 0)
		if verdict != totpFresh {
			p.audit(c, auditEvent(c, auditFactorEnrolFailed, storage.AuditFailure, e.u.ID, clientID, map[string]any{"method": "totp", "reason": "bad_code"}))
			if e.pa != nil {
				if locked, err := p.secondFactorFailed(c, e.pa, "totp", clientID, "bad_enrolment_code", true); err != nil {
					return err
				} else if locked {
					retryAfter(c, p.o.Limits.LockoutDuration)
					return &web.Error{Status: http.StatusTooManyRequests, Code: "locked", Message: p.waitMessage(e.lang, p.o.Limits.LockoutDuration)}
				}
			}
			return p.showTOTPEnrol(c, e, a.Secret, http.StatusBadRequest, p.o.Templates.T(e.lang, "totp.confirm_failed"))
		}
		var codes []string
		err = p.store.InTx(ctx, func(ctx context.Context) error {
			if err := p.store.ConfirmTOTP(ctx, e.u.ID, a.ID, step); err != nil {
				return err
			}
			if codes, err = p.ensureBackupCodes(ctx, c, e.u, clientID); err != nil {
				return err
			}
			if err := p.store.RecordAuditEvent(ctx, auditEvent(c, auditFactorEnrolled, storage.AuditSuccess, e.u.ID, clientID, map[string]any{"method": "totp"})); err != nil {
				return err
			}
			return p.mfaMail(ctx, c, e.u, e.lang, "mail.mfa.totp_added", "")
		})
		if errors.Is(err, storage.ErrNotFound) {
			// Another enrolment replaced this secret meanwhile.
			return p.newTOTPSecret(c, e, p.o.Templates.T(e.lang, "totp.enrol_expired"))
		}
		if err != nil {
			return err
		}
		next := SecurityPath + "?done=totp_added"
		if e.pa != nil {
			// The code that confirmed the authenticator is this sign-in's
			// second factor.
			if next, err = p.redirectTarget(c, func() error {
				return p.secondFactorPassed(c, e.fr, e.lang, e.pa, []string{AMROTP})
			}); err != nil {
				return err
			}
		}
		if codes != nil {
			return p.showBackupCodes(c, e.lang, codes, next)
		}
		return c.Redirect(http.StatusSeeOther, next)
	}
}

// removeTOTP is POST /account/security/totp/remove. Sensitive; refused for
// the last standalone factor while a second factor is required. Without
// another standalone factor the backup codes go too: they only back up
// the others.
func (p *Pages) removeTOTP(c echo.Context) error {
	u, lang, ok, err := p.sensitive(c)
	if !ok || err != nil {
		return err
	}
	ctx := c.Request().Context()
	if may, err := p.mayRemoveFactor(ctx, u.ID, "totp"); err != nil {
		return err
	} else if !may {
		p.audit(c, auditEvent(c, auditFactorRemoved, storage.AuditFailure, u.ID, "", map[string]any{"method": "totp", "reason": "last_factor"}))
		return &web.Error{Status: http.StatusForbidden, Code: "last_factor", Message: p.o.Templates.T(lang, "totp.remove_refused")}
	}
	err = p.store.InTx(ctx, func(ctx context.Context) error {
		if err := p.store.LockUser(ctx, u.ID); err != nil {
			return err
		}
		if err := p.store.DeleteTOTP(ctx, u.ID); err != nil {
			return err
		}
		if err := p.keepsRequiredFactor(ctx, u.ID); err != nil {
			return err
		}
		dropped, err := p.dropOrphanBackupCodes(ctx, u.ID)
		if err != nil {
			return err
		}
		details := map[string]any{"method": "totp", "backup_codes_removed": dropped}
		if err := p.store.RecordAuditEvent(ctx, auditEvent(c, auditFactorRemoved, storage.AuditSuccess, u.ID, "", details)); err != nil {
			return err
		}
		return p.mfaMail(ctx, c, u, lang, "mail.mfa.totp_removed", "")
	})
	if errors.Is(err, errLastFactor) {
		p.audit(c, auditEvent(c, auditFactorRemoved, storage.AuditFailure, u.ID, "", map[string]any{"method": "totp", "reason": "last_factor"}))
		return &web.Error{Status: http.StatusForbidden, Code: "last_factor", Message: p.o.Templates.T(lang, "totp.remove_refused")}
	}
	if errors.Is(err, storage.ErrNotFound) {
		return c.Redirect(http.StatusSeeOther, SecurityPath)
	}
	if err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, SecurityPath+"?done=totp_removed")
}
