package login

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/madfam-org/janua/storage"
	"github.com/madfam-org/janua/web"
)

// Registration (WebAuthn §7.1): from the security page (a recent sign-in),
// right after sign-up (the offer page), or during a sign-in that requires a
// second factor from a user who has none (enroller). The credential must
// be discoverable (a resident key), so it can later sign in without an
// email; user verification is preferred; the user's passkeys are excluded
// so one authenticator is not registered twice.

// passkeyRegisterOptions is POST /account/security/passkeys/options[?flow=…].
func (p *Pages) passkeyRegisterOptions(c echo.Context) error {
	fr, lang, err := p.loadFlow(c)
	if err != nil {
		return err
	}
	u, _, ok, err := p.passkeyEnroller(c, fr, lang)
	if !ok || err != nil {
		return err
	}
	if err := p.passkeyThrottle(c, lang); err != nil {
		return err
	}
	pu, err := p.loadPasskeyUser(c.Request().Context(), u.ID)
	if err != nil {
		return err
	}
	if len(pu.keys) >= p.maxPasskeys() {
		return p.passkeyError(lang, http.StatusConflict, "passkey_limit", "passkey.limit", nil)
	}
	creation, session, err := p.o.Passkeys.WebAuthn.BeginRegistration(pu,
		webauthn.WithAuthenticatorSelection(protocol.AuthenticatorSelection{UserVerification: protocol.VerificationPreferred}),
		webauthn.WithResidentKeyRequirement(protocol.ResidentKeyRequirementRequired),
		webauthn.WithExclusions(webauthn.Credentials(pu.WebAuthnCredentials()).CredentialDescriptors()),
		webauthn.WithConveyancePreference(protocol.PreferNoAttestation))
	if err != nil {
		return err
	}
	return p.startCeremony(c, fr, ceremonyRegister, u.ID, session, creation)
}

// passkeyRegister is POST /account/security/passkeys[?flow=…]: verify the
// new credential, store it (within the user's limit), audit it and tell
// the user by mail, in one transaction. A sign-in that enrolled it goes
// back to the second-factor step, to sign in with it: registering a key
// proves nothing about who holds it.
func (p *Pages) passkeyRegister(c echo.Context) error {
	fr, lang, err := p.loadFlow(c)
	if err != nil {
		return err
	}
	u, pa, ok, err := p.passkeyEnroller(c, fr, lang)
	if !ok || err != nil {
		return err
	}
	ans, cer, err := p.takeCeremony(c, fr, lang, ceremonyRegister)
	if err != nil {
		return err
	}
	if cer.UserID != u.ID {
		return p.passkeyError(lang, http.StatusBadRequest, "passkey_invalid", "passkey.invalid", nil)
	}
	ctx := c.Request().Context()
	fail := func(reason string, cause error) error {
		p.audit(c, auditEvent(c, auditFactorEnrolFailed, storage.AuditFailure, u.ID, "", map[string]any{"method": "passkey", "reason": reason}))
		return p.passkeyError(lang, http.StatusBadRequest, "passkey_failed", "passkey.register_failed", cause)
	}
	pu, err := p.loadPasskeyUser(ctx, u.ID)
	if err != nil {
		return err
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(ans.Credential)
	if err != nil {
		return fail("malformed", err)
	}
	cred, err := p.o.Passkeys.WebAuthn.CreateCredential(pu, cer.Session, parsed)
	if err != nil {
		return fail(protocolReason(err), err)
	}
	name := clean(ans.Name, 4*maxPasskeyName)
	for utf8.RuneCountInString(name) > maxPasskeyName {
		_, size := utf8.DecodeLastRuneInString(name)
		name = name[:len(name)-size]
	}
	if name == "" {
		name = p.defaultPasskeyName(lang, cred.Authenticator.AAGUID, pu.keys)
	}
	pk := passkeyOf(u.ID, name, cred)
	during := "account"
	if pa != nil {
		during = "sign_in"
	}
	err = p.store.InTx(ctx, func(ctx context.Context) error {
		if err := p.store.CreatePasskey(ctx, pk, p.maxPasskeys()); err != nil {
			return err
		}
		if err := p.store.RecordAuditEvent(ctx, auditEvent(c, auditFactorEnrolled, storage.AuditSuccess, u.ID, "",
			map[string]any{"method": "passkey", "passkey": pk.ID, "name": pk.Name, "aaguid": aaguidString(pk.AAGUID), "synced": pk.BackupEligible, "during": during})); err != nil {
			return err
		}
		return p.mfaMail(ctx, c, u, lang, "mail.mfa.passkey_added", pk.Name)
	})
	switch {
	case errors.Is(err, storage.ErrPasskeyLimit):
		return p.passkeyError(lang, http.StatusConflict, "passkey_limit", "passkey.limit", err)
	case errors.Is(err, storage.ErrAlreadyExists):
		return p.passkeyError(lang, http.StatusConflict, "passkey_exists", "passkey.exists", err)
	case err != nil:
		return err
	}
	switch {
	case pa != nil:
		return redirectJSON(c, FactorPath+flowQuery(fr))
	case fr != nil:
		return redirectJSON(c, p.o.ResumePath+flowQuery(fr))
	}
	return redirectJSON(c, SecurityPath+"?done=passkey_added")
}

// passkeyEnroller is enroller for a script: a browser that must confirm
// who it is first gets 401 {"error": "reauth_required", "redirect": …}
// rather than the redirect itself.
func (p *Pages) passkeyEnroller(c echo.Context, fr *flowRequest, lang string) (*storage.User, *pendingAuth, bool, error) {
	var u *storage.User
	var pa *pendingAuth
	loc, err := p.redirectTarget(c, func() error {
		var ok bool
		var err error
		if u, pa, _, ok, err = p.enroller(c, fr, passkeyFactor{}.id()); ok && err == nil {
			return errMayEnrol // nothing answered: go on
		}
		return err
	})
	if errors.Is(err, errMayEnrol) {
		return u, pa, true, nil
	}
	if err != nil {
		return nil, nil, false, err
	}
	return nil, nil, false, c.JSON(http.StatusUnauthorized, map[string]string{"error": "reauth_required",
		"message": p.o.Templates.T(lang, "passkey.reauth"), "redirect": loc})
}

// errMayEnrol stops redirectTarget in passkeyEnroller when the enroller
// answered nothing: the request goes on.
var errMayEnrol = errors.New("login: may enrol")

// passkeyOf is the record of a verified new credential.
func passkeyOf(userID, name string, cred *webauthn.Credential) *storage.Passkey {
	transports := make([]string, 0, len(cred.Transport))
	for _, t := range cred.Transport {
		// Only the transports WebAuthn defines (§5.8.4): what the browser
		// sends is stored, and PostgreSQL refuses some strings (NUL).
		switch t {
		case protocol.USB, protocol.NFC, protocol.BLE, protocol.SmartCard, protocol.Hybrid, protocol.Internal:
			transports = append(transports, string(t))
		}
	}
	return &storage.Passkey{
		UserID: userID, CredentialID: cred.ID, PublicKey: cred.PublicKey,
		AttestationType: cred.AttestationType, AttestationFormat: cred.AttestationFormat,
		Attestation: storage.PasskeyAttestation{ClientDataJSON: cred.Attestation.ClientDataJSON, ClientDataHash: cred.Attestation.ClientDataHash,
			AuthenticatorData: cred.Attestation.AuthenticatorData, PublicKeyAlgorithm: cred.Attestation.PublicKeyAlgorithm, Object: cred.Attestation.Object},
		AAGUID: cred.Authenticator.AAGUID, SignCount: cred.Authenticator.SignCount, Transports: transports,
		Attachment: string(cred.Authenticator.Attachment), UserPresent: cred.Flags.UserPresent, UserVerified: cred.Flags.UserVerified,
		BackupEligible: cred.Flags.BackupEligible, BackupState: cred.Flags.BackupState, Name: name,
	}
}

// passkeyRename is POST /account/security/passkeys/rename (id, name).
func (p *Pages) passkeyRename(c echo.Context) error {
	_, u, lang, ok, err := p.account(c)
	if !ok || err != nil {
		return err
	}
	id, name := c.FormValue("id"), clean(c.FormValue("name"), 4*maxPasskeyName)
	if name == "" || utf8.RuneCountInString(name) > maxPasskeyName {
		return &web.Error{Status: http.StatusBadRequest, Code: "invalid_name", Message: p.o.Templates.T(lang, "passkey.invalid_name")}
	}
	err = p.store.RenamePasskey(c.Request().Context(), u.ID, id, name)
	if errors.Is(err, storage.ErrNotFound) {
		return &web.Error{Status: http.StatusNotFound, Code: "passkey_not_found", Message: p.o.Templates.T(lang, "security.invalid")}
	}
	if err != nil {
		return err
	}
	p.audit(c, auditEvent(c, auditPasskeyRenamed, storage.AuditSuccess, u.ID, "", map[string]any{"passkey": id, "name": name}))
	return c.Redirect(http.StatusSeeOther, SecurityPath+"?done=passkey_renamed")
}

// passkeyRemove is POST /account/security/passkeys/remove (id): a
// sensitive change. The last standalone second factor stays when one is
// required (mayRemoveFactor), checked again under the lock of the user's
// passkeys so two removals at once cannot both pass.
func (p *Pages) passkeyRemove(c echo.Context) error {
	u, lang, ok, err := p.sensitive(c)
	if !ok || err != nil {
		return err
	}
	ctx := c.Request().Context()
	id := c.FormValue("id")
	notFound := &web.Error{Status: http.StatusNotFound, Code: "passkey_not_found", Message: p.o.Templates.T(lang, "security.invalid")}
	if _, err := uuid.Parse(id); err != nil {
		return notFound
	}
	lastRefused := &web.Error{Status: http.StatusForbidden, Code: "last_factor", Message: p.o.Templates.T(lang, "passkey.last_factor")}
	if n, err := p.store.CountPasskeys(ctx, u.ID); err != nil {
		return err
	} else if n == 1 {
		if may, err := p.mayRemoveFactor(ctx, u.ID, passkeyFactor{}.id()); err != nil {
			return err
		} else if !may {
			p.audit(c, auditEvent(c, auditFactorRemoved, storage.AuditFailure, u.ID, "", map[string]any{"method": "passkey", "passkey": id, "reason": "last_factor"}))
			return lastRefused
		}
	}
	err = p.store.InTx(ctx, func(ctx context.Context) error {
		if err := p.store.LockUser(ctx, u.ID); err != nil {
			return err
		}
		pk, err := p.store.DeletePasskey(ctx, u.ID, id)
		if err != nil {
			return err
		}
		if err := p.keepsRequiredFactor(ctx, u.ID); err != nil {
			return err
		}
		// Without a standalone factor left, the backup codes go too: they
		// only back up the others.
		dropped, err := p.dropOrphanBackupCodes(ctx, u.ID)
		if err != nil {
			return err
		}
		if err := p.store.RecordAuditEvent(ctx, auditEvent(c, auditFactorRemoved, storage.AuditSuccess, u.ID, "",
			map[string]any{"method": "passkey", "passkey": pk.ID, "name": pk.Name, "backup_codes_removed": dropped})); err != nil {
			return err
		}
		return p.mfaMail(ctx, c, u, lang, "mail.mfa.passkey_removed", pk.Name)
	})
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return notFound
	case errors.Is(err, errLastFactor):
		return lastRefused
	case err != nil:
		return err
	}
	return c.Redirect(http.StatusSeeOther, SecurityPath+"?done=passkey_removed")
}

// defaultPasskeyName names a new passkey after its authenticator when the
// AAGUID is a well-known one, else "Passkey N", unused among existing.
func (p *Pages) defaultPasskeyName(lang string, aaguid []byte, existing []storage.Passkey) string {
	names := make([]string, len(existing))
	for i, pk := range existing {
		names[i] = pk.Name
	}
	if known, ok := knownAuthenticators[aaguidString(aaguid)]; ok && !slices.Contains(names, known) {
		return known
	}
	for n := len(existing) + 1; ; n++ {
		if name := p.o.Templates.T(lang, "passkey.default_name", n); !slices.Contains(names, name) {
			return name
		}
	}
}

// aaguidString formats an AAGUID as a UUID ("" when it is not 16 bytes).
func aaguidString(b []byte) string {
	id, err := uuid.FromBytes(b)
	if err != nil {
		return ""
	}
	return id.String()
}

// knownAuthenticators names common passkey providers by AAGUID (from the
// community list github.com/passkeydeveloper/passkey-authenticator-aaguids).
var knownAuthenticators = map[string]string{
	"ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4": "Google Password Manager",
	"adce0002-35bc-c60a-648b-0b25f1f05503": "Chrome on Mac",
	"08987058-cadc-4b81-b6e1-30de50dcbe96": "Windows Hello",
	"9ddd1817-af5a-4672-a2b9-3e3dd95000a9": "Windows Hello",
	"6028b017-b1d4-4c02-b4b3-afcdafc96bb2": "Windows Hello",
	"fbfc3007-154e-4ecc-8c0b-6e020557d7bd": "iCloud Keychain",
	"dd4ec289-e01d-41c9-bb89-70fa845d4bf2": "iCloud Keychain",
	"bada5566-a7aa-401f-bd96-45619a55120d": "1Password",
	"d548826e-79b4-db40-a3d8-11116f7e8349": "Bitwarden",
	"531126d6-e717-415c-9320-3d9aa6981239": "Dashlane",
	"0ea242b4-43c4-4a1b-8b17-dd6d0b6baec6": "Keeper",
	"53414d53-554e-4700-0000-000000000000": "Samsung Pass",
	"cb69481e-8ff7-4039-93ec-0a2729a154a8": "YubiKey 5",
	"ee882879-721c-4913-9775-3dfcce97072a": "YubiKey 5",
	"fa2b99dc-9e39-4257-8f92-4a30d23c4118": "YubiKey 5 NFC",
	"2fc0579f-8113-47ea-b116-bb5a8db9202a": "YubiKey 5 NFC",
}
