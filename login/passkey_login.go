package login

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/labstack/echo/v4"

	"github.com/madfam-org/janua/storage"
	"github.com/madfam-org/janua/web"
)

// Passwordless sign-in with a discoverable credential (WebAuthn §7.2 with
// an empty allowCredentials): the authenticator offers the user the
// passkeys it holds for this site, and its answer names the user by their
// user handle. User verification is required, so the passkey alone is a
// multi-factor authentication (something you have, unlocked by something
// you know or are).

// passkeyLoginOptions is POST <LoginPath>/passkey/options?flow=…: begin a
// passwordless sign-in. The page asks both when the button is pressed and,
// for the email field's autofill, on load (conditional mediation); the
// options are the same.
func (p *Pages) passkeyLoginOptions(c echo.Context) error {
	fr, lang, err := p.loadFlow(c)
	if err != nil {
		return err
	}
	if err := p.passkeyIPBlocked(c, lang); err != nil {
		return err
	}
	if err := p.passkeyThrottle(c, lang); err != nil {
		return err
	}
	assertion, session, err := p.o.Passkeys.WebAuthn.BeginDiscoverableLogin(
		webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return err
	}
	return p.startCeremony(c, fr, ceremonyLogin, "", session, assertion)
}

// passkeyLogin is POST <LoginPath>/passkey?flow=…: verify the assertion,
// record its use and sign the user in (answering {"redirect": …}).
func (p *Pages) passkeyLogin(c echo.Context) error {
	fr, lang, err := p.loadFlow(c)
	if err != nil {
		return err
	}
	ans, cer, err := p.takeCeremony(c, fr, lang, ceremonyLogin)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	clientID := ""
	if fr != nil {
		clientID = fr.client.ID
	}
	// fail counts a refused assertion against the IP and audits it.
	fail := func(userID, reason string, cause error) error {
		if _, err := p.passkeyIPThrottle().failedKey(ctx, passkeyIPKey(c.RealIP())); err != nil {
			return err
		}
		p.audit(c, auditEvent(c, auditLoginFailed, storage.AuditFailure, userID, clientID, map[string]any{"method": "passkey", "reason": reason}))
		return p.passkeyError(lang, http.StatusBadRequest, "passkey_failed", "passkey.failed", cause)
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(ans.Credential)
	if err != nil {
		return fail("", "malformed", err)
	}
	var pu *passkeyUser
	var pk *storage.Passkey
	var lookupErr error
	// The credential names the passkey; go-webauthn then checks that the
	// user handle is its user's.
	lookup := func(rawID, _ []byte) (webauthn.User, error) {
		found, err := p.store.GetPasskeyByCredentialID(ctx, rawID)
		if err == nil {
			pu, err = p.loadPasskeyUser(ctx, found.UserID)
		}
		if err == nil {
			if pk = pu.key(rawID); pk == nil {
				err = storage.ErrNotFound
			}
		}
		lookupErr = err
		return pu, err
	}
	_, cred, err := p.o.Passkeys.WebAuthn.ValidatePasskeyLogin(lookup, cer.Session, parsed)
	switch {
	case errors.Is(lookupErr, storage.ErrNotFound):
		// Unknown here (removed, or another site's): the script may tell
		// the authenticator to forget it.
		err := fail("", "unknown_credential", lookupErr)
		if we, ok := err.(*web.Error); ok {
			we.Code = "passkey_unknown"
		}
		return err
	case lookupErr != nil:
		return lookupErr // the store failed, not the user
	case err != nil:
		userID := ""
		if pu != nil {
			userID = pu.u.ID
		}
		return fail(userID, protocolReason(err), err)
	}
	if pu.u.Disabled() {
		return fail(pu.u.ID, "disabled", nil)
	}
	if err := p.passkeyLocked(c, lang, pu.u.ID); err != nil {
		return err
	}
	flags := parsed.Response.AuthenticatorData.Flags
	if !flags.HasUserVerified() { // go-webauthn enforces it; never sign in without
		return fail(pu.u.ID, "no_user_verification", nil)
	}
	if err := p.recordUse(c, pk, cred, flags, auditPasskeyUsed, clientID); errors.Is(err, errPasskeyCloned) {
		p.auditClone(c, pk, parsed.Response.AuthenticatorData.Counter, clientID)
		if _, err := p.throttle.failedKey(ctx, secondFactorKey(pu.u.ID)); err != nil {
			return err
		}
		if _, err := p.passkeyIPThrottle().failedKey(ctx, passkeyIPKey(c.RealIP())); err != nil {
			return err
		}
		return p.passkeyError(lang, http.StatusBadRequest, "passkey_cloned", "passkey.cloned", err)
	} else if err != nil {
		return err
	}
	if err := p.passkeyIPThrottle().succeededKey(ctx, passkeyIPKey(c.RealIP())); err != nil {
		return err
	}
	amr := append(passkeyAMR(flags), AMRMultiFactor)
	loc, err := p.redirectTarget(c, func() error {
		return p.afterFirstFactor(c, fr, lang, pu.u, ans.Remember, amr, auditLoginSucceeded, p.returnTo(c, fr))
	})
	if err != nil {
		return err
	}
	return redirectJSON(c, loc)
}

// passkeyIPThrottle counts failed passwordless sign-ins per IP address: a
// discoverable sign-in names no account to lock, so the address is what
// is held back. Its threshold is the per-IP post rate (login.ip_rate_limit)
// within the lockout window, then the address waits the lockout duration.
func (p *Pages) passkeyIPThrottle() throttle {
	l := p.o.Limits
	return throttle{hot: p.o.HotState, now: p.o.Now,
		l: Limits{LockoutFailures: l.IPRate, LockoutWindow: l.LockoutWindow, LockoutDuration: l.LockoutDuration}}
}

// passkeyIPBlocked refuses a new passwordless sign-in from an address with
// too many failures.
func (p *Pages) passkeyIPBlocked(c echo.Context, lang string) error {
	wait, err := p.passkeyIPThrottle().lockedKey(c.Request().Context(), passkeyIPKey(c.RealIP()))
	if err != nil || wait <= 0 {
		return err
	}
	retryAfter(c, wait)
	return &web.Error{Status: http.StatusTooManyRequests, Code: "locked", Message: p.waitMessage(lang, wait)}
}

// passkeyIPKey names an address's passwordless failures (hashed: the
// address itself never reaches Redis).
func passkeyIPKey(ip string) string {
	sum := sha256.Sum256([]byte(ip))
	return "passkey-ip/" + hex.EncodeToString(sum[:16])
}
