package login

import (
	"errors"
	"net/http"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/labstack/echo/v4"

	"github.com/madfam-org/janua/web"
)

// A passkey as the second step of a sign-in whose first factor passed
// (factor.go): the pending user's passkeys are the allowed credentials,
// user verification is preferred, and the step reaches
// ACRPhishingResistant: pwd + [hwk|swk user pop (pin)] + mfa.

// passkeyFactorOptions is POST /login/factor/passkey/options?flow=….
func (p *Pages) passkeyFactorOptions(c echo.Context) error {
	fr, lang, pa, err := p.passkeyPending(c)
	if err != nil {
		return err
	}
	if err := p.passkeyThrottle(c, lang); err != nil {
		return err
	}
	if err := p.passkeyLocked(c, lang, pa.UserID); err != nil {
		return err
	}
	pu, err := p.loadPasskeyUser(c.Request().Context(), pa.UserID)
	if err != nil {
		return err
	}
	if len(pu.keys) == 0 {
		return p.passkeyError(lang, http.StatusBadRequest, "passkey_none", "passkey.failed", nil)
	}
	assertion, session, err := p.o.Passkeys.WebAuthn.BeginLogin(pu, webauthn.WithUserVerification(protocol.VerificationPreferred))
	if err != nil {
		return err
	}
	return p.startCeremony(c, fr, ceremonyFactor, pa.UserID, session, assertion)
}

// passkeyFactor is POST /login/factor/passkey?flow=…: verify the assertion
// against the pending user's passkeys and complete the sign-in.
func (p *Pages) passkeyFactor(c echo.Context) error {
	fr, lang, pa, err := p.passkeyPending(c)
	if err != nil {
		return err
	}
	ans, cer, err := p.takeCeremony(c, fr, lang, ceremonyFactor)
	if err != nil {
		return err
	}
	if cer.UserID != pa.UserID {
		return p.passkeyError(lang, http.StatusBadRequest, "passkey_invalid", "passkey.invalid", nil)
	}
	clientID := ""
	if fr != nil {
		clientID = fr.client.ID
	}
	if err := p.passkeyLocked(c, lang, pa.UserID); err != nil {
		return err
	}
	// fail counts the failure against the user's second factors.
	fail := func(status int, code, key, reason string, cause error) error {
		locked, err := p.secondFactorFailed(c, pa, "passkey", clientID, reason, false)
		if err != nil {
			return err
		}
		if locked {
			retryAfter(c, p.o.Limits.LockoutDuration)
			return &web.Error{Status: http.StatusTooManyRequests, Code: "locked", Message: p.waitMessage(lang, p.o.Limits.LockoutDuration)}
		}
		return p.passkeyError(lang, status, code, key, cause)
	}
	pu, err := p.loadPasskeyUser(c.Request().Context(), pa.UserID)
	if err != nil {
		return err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(ans.Credential)
	if err != nil {
		return fail(http.StatusBadRequest, "passkey_failed", "passkey.failed", "malformed", err)
	}
	cred, err := p.o.Passkeys.WebAuthn.ValidateLogin(pu, cer.Session, parsed)
	if err != nil {
		return fail(http.StatusBadRequest, "passkey_failed", "passkey.failed", protocolReason(err), err)
	}
	pk := pu.key(parsed.RawID)
	if pk == nil { // go-webauthn found it among the user's; never trust less
		return fail(http.StatusBadRequest, "passkey_failed", "passkey.failed", "unknown_credential", nil)
	}
	flags := parsed.Response.AuthenticatorData.Flags
	if err := p.recordUse(c, pk, cred, flags, auditFactorSucceeded, clientID); errors.Is(err, errPasskeyCloned) {
		p.auditClone(c, pk, parsed.Response.AuthenticatorData.Counter, clientID)
		return fail(http.StatusBadRequest, "passkey_cloned", "passkey.cloned", "cloned", err)
	} else if err != nil {
		return err
	}
	loc, err := p.redirectTarget(c, func() error { return p.secondFactorPassed(c, fr, lang, pa, passkeyAMR(flags)) })
	if err != nil {
		return err
	}
	return redirectJSON(c, loc)
}

// passkeyPending returns the flow and the sign-in halfway through that a
// second-factor request is for; without one the sign-in has expired.
func (p *Pages) passkeyPending(c echo.Context) (*flowRequest, string, *pendingAuth, error) {
	fr, lang, err := p.loadFlow(c)
	if err != nil {
		return nil, lang, nil, err
	}
	pa, err := p.pending(c, fr)
	if err != nil {
		return nil, lang, nil, err
	}
	if pa == nil {
		return nil, lang, nil, p.factorExpired(lang)
	}
	return fr, lang, pa, nil
}
