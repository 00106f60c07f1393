package login

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/labstack/echo/v4"

	"github.com/madfam-org/janua/storage"
	"github.com/madfam-org/janua/web"
)

// Passkeys are WebAuthn credentials (W3C Web Authentication Level 3):
// a key pair an authenticator (a phone, a laptop's secure enclave, a
// security key, a password manager) creates for this site only and unlocks
// with the user's fingerprint, face or PIN. They serve three ways:
//
//   - passwordless sign-in (passkey_login.go): a discoverable credential
//     names its user, so the sign-in page asks for no email at all, from a
//     button or from the email field's autofill (conditional mediation);
//     with user verification it is a whole multi-factor sign-in, amr
//     [hwk|swk user pop pin mfa], acr ACRPhishingResistant;
//   - a second factor after a password (passkey_factor.go);
//   - registration from the security page, right after sign-up, or during a
//     sign-in that requires a second factor (passkey_register.go).
//
// Each ceremony is two JSON requests from static/assets/passkey.js: its
// options (…/options), then the authenticator's answer. Between them the
// ceremony waits in the hot state for PasskeyTimeout under the SHA-256
// of a random token the page holds, bound to the browser and the flow, and
// is taken (used once) by the second request. After every assertion the
// signature counter and backup flags are stored; a counter that does not
// move forward is a cloned authenticator (§6.1.1) and the sign-in is
// refused.

// PasskeyOptions configure passkeys.
type PasskeyOptions struct {
	// WebAuthn is the relying party: its RP ID, name and origins (cmd/janua
	// derives them from the issuer). nil turns passkeys off.
	WebAuthn *webauthn.WebAuthn
	// MaxPerUser bounds a user's passkeys (DefaultMaxPasskeys when ≤ 0).
	MaxPerUser int
}

// DefaultMaxPasskeys is how many passkeys a user may have by default.
const DefaultMaxPasskeys = 10

// PasskeyTimeout is how long a ceremony may take between its options
// and the authenticator's answer (also the timeout the browser is given).
const PasskeyTimeout = 5 * time.Minute

// maxPasskeyName bounds a passkey's name, in characters.
const maxPasskeyName = 64

// The audit events of passkeys besides the second factors' own
// (auditFactorEnrolled, auditFactorEnrolFailed, auditFactorRemoved,
// auditFactorSucceeded, auditFactorFailed, with details.method "passkey")
// and a failed passwordless sign-in (auditLoginFailed, details.method
// "passkey"). Details name a passkey by our ID, never by its credential ID
// or key.
const (
	auditPasskeyRenamed = "passkey.renamed"
	auditPasskeyUsed    = "passkey.used"   // a passwordless sign-in: details.passkey, uv, sign_count
	auditPasskeyCloned  = "passkey.cloned" // the signature counter did not move forward
)

// The ceremony kinds.
const (
	ceremonyLogin    = "login"
	ceremonyFactor   = "factor"
	ceremonyRegister = "register"
)

// passkeyFactor is passkeys as a second factor (factor.go).
type passkeyFactor struct{ p *Pages }

func (passkeyFactor) id() string       { return "passkey" }
func (passkeyFactor) standalone() bool { return true }
func (passkeyFactor) reaches() string  { return ACRPhishingResistant }

func (passkeyFactor) enrolled(e storage.FactorEnrolment) bool { return e.Passkeys > 0 }

// passkeySection is the data of the passkey partials: the user's passkeys
// and the endpoints the page script and forms use.
type passkeySection struct {
	Passkeys []passkeyRow
	Max      int
	// Full: the user has Max passkeys and may add none.
	Full bool
	// The ceremonies' endpoints (the script adds the page's query) and the
	// rename and remove forms' actions.
	LoginOptions, Login, FactorOptions, Factor string
	RegisterOptions, Register, Rename, Remove  string
}

// passkeyRow is one passkey as the security page lists it.
type passkeyRow struct {
	ID, Name   string
	Synced     bool
	CreatedAt  time.Time
	LastUsedAt *time.Time
}

func (f passkeyFactor) section(ctx context.Context, userID string) (any, error) {
	p := f.p
	s := passkeySection{Max: p.maxPasskeys(),
		LoginOptions: p.passkeyLoginPath() + "/options", Login: p.passkeyLoginPath(),
		FactorOptions: passkeyFactorPath + "/options", Factor: passkeyFactorPath,
		RegisterOptions: passkeysPath + "/options", Register: passkeysPath,
		Rename: passkeysPath + "/rename", Remove: passkeysPath + "/remove"}
	if userID == "" {
		return s, nil
	}
	list, err := p.store.ListPasskeys(ctx, userID)
	if err != nil {
		return nil, err
	}
	for _, pk := range list {
		s.Passkeys = append(s.Passkeys, passkeyRow{ID: pk.ID, Name: pk.Name, Synced: pk.BackupEligible, CreatedAt: pk.CreatedAt, LastUsedAt: pk.LastUsedAt})
	}
	s.Full = len(list) >= s.Max
	return s, nil
}

// Paths of the passkey endpoints (routes.go). The sign-in ones hang off
// Options.LoginPath (passkeyLoginPath).
const (
	passkeyFactorPath = FactorPath + "/passkey"
	passkeysPath      = SecurityPath + "/passkeys"
	// PasskeyOfferPath offers a passkey right after sign-up.
	PasskeyOfferPath = SignupPath + "/passkey"
)

func (p *Pages) passkeyLoginPath() string { return p.o.LoginPath + "/passkey" }

func (p *Pages) passkeysOn() bool { return p.o.Passkeys.WebAuthn != nil }

func (p *Pages) maxPasskeys() int {
	if p.o.Passkeys.MaxPerUser > 0 {
		return p.o.Passkeys.MaxPerUser
	}
	return DefaultMaxPasskeys
}

// passkeyUser is a user as go-webauthn sees them: their random user handle
// and their passkeys.
type passkeyUser struct {
	u      *storage.User
	handle []byte
	keys   []storage.Passkey
}

func (u *passkeyUser) WebAuthnID() []byte   { return u.handle }
func (u *passkeyUser) WebAuthnName() string { return u.u.Email }

func (u *passkeyUser) WebAuthnDisplayName() string {
	if n, ok := u.u.Claims["name"].(string); ok && n != "" {
		return n
	}
	return u.u.Email
}

func (u *passkeyUser) WebAuthnCredentials() []webauthn.Credential {
	out := make([]webauthn.Credential, len(u.keys))
	for i, pk := range u.keys {
		out[i] = credentialOf(pk)
	}
	return out
}

// key returns the user's passkey with credential ID id.
func (u *passkeyUser) key(id []byte) *storage.Passkey {
	for i := range u.keys {
		if subtle.ConstantTimeCompare(u.keys[i].CredentialID, id) == 1 {
			return &u.keys[i]
		}
	}
	return nil
}

// loadPasskeyUser returns userID with their handle (created on first use)
// and passkeys.
func (p *Pages) loadPasskeyUser(ctx context.Context, userID string) (*passkeyUser, error) {
	u, err := p.store.GetUser(ctx, userID)
	if err != nil {
		return nil, err
	}
	handle, err := p.store.PasskeyUserHandle(ctx, userID)
	if err != nil {
		return nil, err
	}
	keys, err := p.store.ListPasskeys(ctx, userID)
	if err != nil {
		return nil, err
	}
	return &passkeyUser{u: u, handle: handle, keys: keys}, nil
}

// credentialOf is the credential record go-webauthn verifies against.
func credentialOf(pk storage.Passkey) webauthn.Credential {
	var flags protocol.AuthenticatorFlags
	for _, f := range []struct {
		set  bool
		flag protocol.AuthenticatorFlags
	}{{pk.UserPresent, protocol.FlagUserPresent}, {pk.UserVerified, protocol.FlagUserVerified},
		{pk.BackupEligible, protocol.FlagBackupEligible}, {pk.BackupState, protocol.FlagBackupState}} {
		if f.set {
			flags |= f.flag
		}
	}
	transports := make([]protocol.AuthenticatorTransport, len(pk.Transports))
	for i, t := range pk.Transports {
		transports[i] = protocol.AuthenticatorTransport(t)
	}
	return webauthn.Credential{
		ID: pk.CredentialID, PublicKey: pk.PublicKey,
		AttestationType: pk.AttestationType, AttestationFormat: pk.AttestationFormat,
		Transport: transports, Flags: webauthn.NewCredentialFlags(flags),
		Authenticator: webauthn.Authenticator{AAGUID: pk.AAGUID, SignCount: pk.SignCount,
			Attachment: protocol.AuthenticatorAttachment(pk.Attachment)},
		Attestation: webauthn.CredentialAttestation{ClientDataJSON: pk.Attestation.ClientDataJSON,
			ClientDataHash: pk.Attestation.ClientDataHash, AuthenticatorData: pk.Attestation.AuthenticatorData,
			PublicKeyAlgorithm: pk.Attestation.PublicKeyAlgorithm, Object: pk.Attestation.Object},
	}
}

// passkeyAMR is what an assertion with flags proves (RFC 8176 §2): a
// synced passkey is a software key, one bound to its device a hardware
// key; always presence and possession, and a PIN or biometric when the
// authenticator verified the user.
func passkeyAMR(flags protocol.AuthenticatorFlags) []string {
	kind := AMRHardwareKey
	if flags.HasBackupEligible() {
		kind = AMRSoftwareKey
	}
	amr := []string{kind, AMRUserPresence, AMRProofOfKey}
	if flags.HasUserVerified() {
		amr = append(amr, AMRPIN)
	}
	return amr
}

// passkeyCeremony is a ceremony between its two requests.
type passkeyCeremony struct {
	Kind    string               `json:"k"`
	Browser string               `json:"b"`
	Flow    string               `json:"f,omitempty"`
	UserID  string               `json:"u,omitempty"`
	Session webauthn.SessionData `json:"s"`
}

// passkeyOptions is the answer of an options request: the ceremony's
// token and the options for navigator.credentials ({"publicKey": …}).
type passkeyOptions struct {
	Ceremony string `json:"ceremony"`
	Options  any    `json:"options"`
}

// passkeyAnswer is the body of a ceremony's second request.
type passkeyAnswer struct {
	Ceremony   string          `json:"ceremony"`
	Credential json.RawMessage `json:"credential"`
	// Name (registration) is what the user calls the new passkey.
	Name string `json:"name,omitempty"`
	// Remember (passwordless sign-in) is the "keep me signed in" box.
	Remember bool `json:"remember,omitempty"`
}

// passkeyResult tells the script where to go next.
type passkeyResult struct {
	Redirect string `json:"redirect"`
}

// redirectJSON answers a script with where to go next: a fetch cannot
// follow a 303 to another origin, so the page navigates there itself (the
// sign-in helpers' redirects are caught by redirectTarget).
func redirectJSON(c echo.Context, loc string) error {
	if loc == "" {
		return errors.New("login: the sign-in ended without a redirect")
	}
	return c.JSON(http.StatusOK, passkeyResult{Redirect: loc})
}

// startCeremony stores the ceremony for this browser and flow and answers
// with its token and options.
func (p *Pages) startCeremony(c echo.Context, fr *flowRequest, kind, userID string, session *webauthn.SessionData, options any) error {
	token := randomToken(32)
	cer := passkeyCeremony{Kind: kind, Browser: p.o.Cookies.BrowserHash(c), UserID: userID, Session: *session}
	if fr != nil {
		cer.Flow = fr.challenge
	}
	raw, err := json.Marshal(cer)
	if err != nil {
		return err
	}
	if err := p.o.HotState.Put(c.Request().Context(), ceremonyKey(token), raw, PasskeyTimeout); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, passkeyOptions{Ceremony: token, Options: options})
}

// takeCeremony reads the second request of a ceremony of kind: its body,
// and the ceremony it names, taken from the hot state (once only) and
// checked against this browser and flow.
func (p *Pages) takeCeremony(c echo.Context, fr *flowRequest, lang, kind string) (*passkeyAnswer, *passkeyCeremony, error) {
	var ans passkeyAnswer
	if err := json.NewDecoder(c.Request().Body).Decode(&ans); err != nil || ans.Ceremony == "" || len(ans.Ceremony) > 64 || len(ans.Credential) == 0 {
		return nil, nil, p.passkeyError(lang, http.StatusBadRequest, "passkey_invalid", "passkey.invalid", err)
	}
	raw, err := p.o.HotState.Take(c.Request().Context(), ceremonyKey(ans.Ceremony))
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil, p.passkeyError(lang, http.StatusBadRequest, "passkey_expired", "passkey.expired", nil)
	}
	if err != nil {
		return nil, nil, err
	}
	var cer passkeyCeremony
	flow := ""
	if fr != nil {
		flow = fr.challenge
	}
	if json.Unmarshal(raw, &cer) != nil || cer.Kind != kind ||
		subtle.ConstantTimeCompare([]byte(cer.Browser), []byte(p.o.Cookies.BrowserHash(c))) != 1 ||
		subtle.ConstantTimeCompare([]byte(cer.Flow), []byte(flow)) != 1 {
		return nil, nil, p.passkeyError(lang, http.StatusBadRequest, "passkey_invalid", "passkey.invalid", nil)
	}
	return &ans, &cer, nil
}

// passkeyError is a JSON error the script shows in the page's language.
func (p *Pages) passkeyError(lang string, status int, code, key string, err error) error {
	return &web.Error{Status: status, Code: code, Message: p.o.Templates.T(lang, key), Err: err}
}

// ceremonyKey is the hot-state key of a ceremony's token.
func ceremonyKey(token string) string {
	sum := sha256.Sum256([]byte(token))
	return "login/passkey/" + hex.EncodeToString(sum[:16])
}

// protocolReason names why go-webauthn refused a ceremony, for the audit
// log: its error type ("verification_error", …) or "invalid".
func protocolReason(err error) string {
	var pe *protocol.Error
	if errors.As(err, &pe) && pe.Type != "" {
		return pe.Type
	}
	return "invalid"
}

// passkeyLocked refuses a passkey of a user whose second factors are
// locked after repeated failures.
func (p *Pages) passkeyLocked(c echo.Context, lang, userID string) error {
	wait, err := p.secondFactorLocked(c.Request().Context(), userID)
	if err != nil || wait <= 0 {
		return err
	}
	retryAfter(c, wait)
	return &web.Error{Status: http.StatusTooManyRequests, Code: "locked", Message: p.waitMessage(lang, wait)}
}

// passkeyThrottle counts an IP's begun ceremonies (action "passkey").
func (p *Pages) passkeyThrottle(c echo.Context, lang string) error {
	wait, err := p.throttle.allowIP(c.Request().Context(), "passkey", c.RealIP())
	if err != nil || wait <= 0 {
		return err
	}
	retryAfter(c, wait)
	return &web.Error{Status: http.StatusTooManyRequests, Code: "rate_limited", Message: p.waitMessage(lang, wait)}
}

// recordUse stores a verified assertion of pk (counter, backup flags, last
// use) and audits it as event, in one transaction. A counter that did not move
// forward — go-webauthn's clone warning, or another use that got there
// first — is refused with errPasskeyCloned.
func (p *Pages) recordUse(c echo.Context, pk *storage.Passkey, cred *webauthn.Credential, flags protocol.AuthenticatorFlags, event, clientID string) error {
	if cred.Authenticator.CloneWarning {
		return errPasskeyCloned
	}
	err := p.store.InTx(c.Request().Context(), func(ctx context.Context) error {
		err := p.store.UsePasskey(ctx, pk.ID, storage.PasskeyUse{SignCount: cred.Authenticator.SignCount,
			BackupEligible: flags.HasBackupEligible(), BackupState: flags.HasBackupState()})
		if errors.Is(err, storage.ErrConflict) {
			return errPasskeyCloned
		}
		if err != nil {
			return err
		}
		return p.store.RecordAuditEvent(ctx, auditEvent(c, event, storage.AuditSuccess, pk.UserID, clientID,
			map[string]any{"method": "passkey", "passkey": pk.ID, "uv": flags.HasUserVerified(), "sign_count": cred.Authenticator.SignCount}))
	})
	return err
}

// errPasskeyCloned: the assertion's signature counter did not move past
// the stored one (WebAuthn §6.1.1): two copies of the key exist.
var errPasskeyCloned = errors.New("login: passkey signature counter went back: a cloned authenticator")

// auditClone records a refused clone of pk.
func (p *Pages) auditClone(c echo.Context, pk *storage.Passkey, presented uint32, clientID string) {
	p.audit(c, auditEvent(c, auditPasskeyCloned, storage.AuditFailure, pk.UserID, clientID,
		map[string]any{"passkey": pk.ID, "stored_count": pk.SignCount, "presented_count": presented}))
}
