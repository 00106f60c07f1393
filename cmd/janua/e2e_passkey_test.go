package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/descope/virtualwebauthn"
	"golang.org/x/oauth2"

	"github.com/madfam-org/janua/login"
	"github.com/madfam-org/janua/mail"
	"github.com/madfam-org/janua/oidc"
	"github.com/madfam-org/janua/storage"
)

// The passkey harness: Janua end to end (eachBackend) on an issuer a
// passkey can belong to — the test listener named "localhost", since an IP
// address cannot be a WebAuthn RP ID — and a virtual authenticator
// (descope/virtualwebauthn) that answers the ceremonies as a browser and
// an authenticator would, through Janua's real JSON endpoints with the
// page's CSRF token in X-CSRF-Token, as static/assets/passkey.js does.

// Passkey endpoint paths (login/routes.go).
const (
	pathPasskeyLogin   = "/login/passkey"
	pathPasskeyFactor  = "/login/factor/passkey"
	pathPasskeys       = "/account/security/passkeys"
	pathPasskeyOptions = "/options"
	pathPasskeyOffer   = "/signup/passkey"
	pathSecurity       = "/account/security"
	pathPasskeyRename  = pathPasskeys + "/rename"
	pathPasskeyRemove  = pathPasskeys + "/remove"
	passkeyRPIDLocal   = "localhost"
	// Audit event types (login/audit.go, login/passkey.go).
	passkeyUsedAudit    = "passkey.used"
	passkeyClonedAudit  = "passkey.cloned"
	passkeyRegAudit     = "mfa.enrolled"
	passkeyRemovedAudit = "mfa.removed"
	factorUsedAudit     = "login.factor_succeeded"
)

// localhostIssuer names the test listener "localhost" in the issuer.
func localhostIssuer(c *Config) {
	c.Issuer = strings.Replace(c.Issuer, "://127.0.0.1:", "://localhost:", 1)
}

// eachPasskeyBackend is eachBackend on a localhost issuer, with the
// browser talking to the issuer's name (cookies and origins agree).
func eachPasskeyBackend(t *testing.T, config func(*Config), fn func(t *testing.T, o *op)) {
	t.Helper()
	eachBackend(t, func(c *Config) {
		localhostIssuer(c)
		if config != nil {
			config(c)
		}
	}, func(t *testing.T, o *op) {
		o.URL = o.issuer
		fn(t, o)
	})
}

// passkeyDevice is one authenticator holding one passkey.
type passkeyDevice struct {
	t    testing.TB
	rp   virtualwebauthn.RelyingParty
	auth virtualwebauthn.Authenticator
	cred virtualwebauthn.Credential
}

// newPasskeyDevice is an authenticator for o's origin; a synced one sets
// the backup flags (a passkey in a password manager or platform keychain).
func newPasskeyDevice(t *testing.T, o *op, synced bool) *passkeyDevice {
	return &passkeyDevice{t: t, rp: virtualwebauthn.RelyingParty{ID: passkeyRPIDLocal, Name: "Janua", Origin: o.issuer},
		auth: virtualwebauthn.NewAuthenticatorWithOptions(virtualwebauthn.AuthenticatorOptions{BackupEligible: synced, BackupState: synced}),
		cred: newEC2Credential(t)}
}

// newEC2Credential is a P-256 credential whose public key coordinates are
// both 32 bytes long. virtualwebauthn encodes them with big.Int.Bytes,
// which drops leading zero octets that COSE requires be kept (RFC 9053
// §7.1.1), so about one key in 128 would be refused: such keys are drawn
// again.
func newEC2Credential(t testing.TB) virtualwebauthn.Credential {
	t.Helper()
	for {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if len(key.X.Bytes()) != 32 || len(key.Y.Bytes()) != 32 {
			continue
		}
		data, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		return virtualwebauthn.NewCredentialWithImportedKey(virtualwebauthn.KeyTypeEC2, data)
	}
}

// postJSON posts body as JSON with the CSRF token in the header and
// decodes the JSON answer.
func (b *browser) postJSON(path, csrf string, body any) (int, map[string]any) {
	b.t.Helper()
	raw, err := json.Marshal(body)
	if err != nil {
		b.t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, b.s.URL+path, bytes.NewReader(raw))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-CSRF-Token", csrf)
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	got, _ := io.ReadAll(res.Body)
	out := map[string]any{}
	if err := json.Unmarshal(got, &out); err != nil {
		b.t.Fatalf("%s: %d %q is not JSON", path, res.StatusCode, got)
	}
	if res.Header.Get("Cache-Control") != "no-store" {
		b.t.Errorf("%s: Cache-Control %q", path, res.Header.Get("Cache-Control"))
	}
	return res.StatusCode, out
}

// options returns the publicKey options of an options answer.
func options(t *testing.T, begun map[string]any) map[string]any {
	t.Helper()
	o, _ := begun["options"].(map[string]any)
	pk, _ := o["publicKey"].(map[string]any)
	if pk == nil {
		t.Fatalf("no publicKey options in %v", begun)
	}
	return pk
}

func rawOptions(t testing.TB, begun map[string]any) string {
	t.Helper()
	raw, err := json.Marshal(begun["options"])
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

// register runs a registration from the page whose query is query: the
// options, the authenticator's attestation, the answer.
func (d *passkeyDevice) register(b *browser, csrf, query, name string) (status int, begun, done map[string]any) {
	d.t.Helper()
	status, begun = b.postJSON(pathPasskeys+pathPasskeyOptions+query, csrf, map[string]any{})
	if status != http.StatusOK {
		return status, begun, nil
	}
	opts, err := virtualwebauthn.ParseAttestationOptions(rawOptions(d.t, begun))
	if err != nil {
		d.t.Fatal(err)
	}
	d.auth.Options.UserHandle = []byte(opts.UserID) // kept with the discoverable credential
	att := virtualwebauthn.CreateAttestationResponse(d.rp, d.auth, d.cred, *opts)
	status, done = b.postJSON(pathPasskeys+query, csrf, map[string]any{"ceremony": begun["ceremony"], "credential": json.RawMessage(att), "name": name})
	if status == http.StatusOK {
		d.auth.AddCredential(d.cred)
	}
	return status, begun, done
}

// assert answers a sign-in ceremony's options, the signature counter
// advanced by one first (as an authenticator with a counter does).
func (d *passkeyDevice) assert(begun map[string]any) json.RawMessage {
	d.t.Helper()
	opts, err := virtualwebauthn.ParseAssertionOptions(rawOptions(d.t, begun))
	if err != nil {
		d.t.Fatal(err)
	}
	d.cred.Counter++
	return json.RawMessage(virtualwebauthn.CreateAssertionResponse(d.rp, d.auth, d.cred, *opts))
}

// ceremony runs a sign-in ceremony at base (passwordless or second
// factor) and returns the options answer and the final answer.
func (d *passkeyDevice) ceremony(b *browser, base, csrf, query string) (status int, begun, done map[string]any, body map[string]any) {
	d.t.Helper()
	status, begun = b.postJSON(base+pathPasskeyOptions+query, csrf, map[string]any{})
	if status != http.StatusOK {
		return status, begun, nil, nil
	}
	body = map[string]any{"ceremony": begun["ceremony"], "credential": d.assert(begun)}
	status, done = b.postJSON(base+query, csrf, body)
	return status, begun, done, body
}

func (d *passkeyDevice) signIn(b *browser, csrf, query string) (int, map[string]any, map[string]any) {
	d.t.Helper()
	status, begun, done, _ := d.ceremony(b, pathPasskeyLogin, csrf, query)
	return status, begun, done
}

// toSignInPage follows the RP's authorization request to Janua's sign-in
// page and returns the page's query (?flow=…) and what the RP checks the
// response with.
func toSignInPage(t *testing.T, a *agent, rp *goRP, opts ...oauth2.AuthCodeOption) (query, state, nonce, verifier string) {
	t.Helper()
	target, state, nonce, verifier := rp.authURL(opts...)
	for i := 0; i < 8; i++ {
		res := a.get(target)
		loc := res.Header.Get("Location")
		if res.StatusCode/100 != 3 || loc == "" {
			break
		}
		base, _ := url.Parse(target)
		target = resolve(base, loc)
	}
	u, _ := url.Parse(target)
	if u.Path != oidc.LoginPath || !strings.Contains(a.page, `id="login-form"`) {
		t.Fatalf("the authorization request did not reach the sign-in page: %s\n%.400s", target, a.page)
	}
	return "?" + u.RawQuery, state, nonce, verifier
}

// finish follows a ceremony's redirect to the RP and redeems the code.
func finish(t *testing.T, a *agent, rp *goRP, done map[string]any, state, nonce, verifier string) *signIn {
	t.Helper()
	next, _ := done["redirect"].(string)
	if !strings.HasPrefix(next, oidc.ResumePath+"?") {
		t.Fatalf("the ceremony sent the browser to %q, not back to the authorization", next)
	}
	resp := a.checkIss(a.navigate(http.MethodGet, a.o.issuer+next, nil, rp.c.Redirect))
	if resp.Get("code") == "" || resp.Get("state") != state {
		t.Fatalf("authorization response %v (status %d)\n%.400s", resp.Params, resp.Status, resp.Page)
	}
	return rp.exchange(resp.Get("code"), nonce, verifier)
}

// passwordSignIn signs b in with the password outside any flow, so the
// security page accepts sensitive changes.
func passwordSignIn(t *testing.T, o *op, b *browser, email string) {
	t.Helper()
	b.get(oidc.LoginPath)
	if res := b.signIn("", email, testPassword, false); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != login.AccountPath {
		t.Fatalf("password sign-in: %d %q\n%.400s", res.StatusCode, res.Header.Get("Location"), b.page)
	}
}

// passkeys lists the user's stored passkeys.
func (o *op) passkeys(t *testing.T, userID string) []storage.Passkey {
	t.Helper()
	list, err := o.store.ListPasskeys(context.Background(), userID)
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// ageSignIns moves the user's sign-ins back by d, out of the
// re-authentication window (the server's clock is the real one).
func (o *op) ageSignIns(t *testing.T, userID string, d time.Duration) {
	t.Helper()
	u, err := storage.ParseDatabaseURL(o.cfg.Database.URL)
	if err != nil {
		t.Fatal(err)
	}
	driver := "pgx"
	if u.Dialect == storage.SQLite {
		driver = "sqlite"
	}
	db, err := sql.Open(driver, u.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	q := u.Dialect.Rebind(`UPDATE browser_sessions SET auth_time = ? WHERE user_id = ?`)
	if _, err := db.Exec(q, time.Now().Add(-d).UTC(), userID); err != nil {
		t.Fatal(err)
	}
}

// mfaMail waits for the development mailbox to hold the notice of change
// (a "mail.mfa.…" key) sent to to, and returns it.
func (o *op) mfaMail(t *testing.T, to, change string) mail.MailboxMessage {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		_, body := httpGet(t, o.issuer+mail.MailboxPath+"?format=json")
		var list struct{ Messages []mail.MailboxMessage }
		_ = json.Unmarshal([]byte(body), &list)
		for _, m := range list.Messages {
			if m.To == to && m.Kind == mail.KindMFAChanged && m.Data["change"] == change {
				return m
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s mail to %s in the mailbox: %s", change, to, body)
		}
	}
}

func amrOf(s *signIn) []string {
	var out []string
	list, _ := s.Claims["amr"].([]any)
	for _, v := range list {
		out = append(out, v.(string))
	}
	return out
}

var dataCSRF = regexp.MustCompile(`data-passkey="[a-z]+"[^>]*data-csrf="([^"]+)"`)

// scriptCSRF is the CSRF token the last page hands its passkey script.
func (b *browser) scriptCSRF() string {
	b.t.Helper()
	m := dataCSRF.FindStringSubmatch(b.page)
	if m == nil {
		b.t.Fatalf("the last page gives its passkey script no CSRF token:\n%.600s", b.page)
	}
	return m[1]
}

func b64url(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A passkey registered from the security page signs in without a password
// or an email (a discoverable credential), through the authorization of a
// real RP that demands acr "phr": amr tells what happened, and the use is
// stored (counter, backup flags, last use).
func TestE2EPasskeyRegisterAndSignInUsernameless(t *testing.T) {
	eachPasskeyBackend(t, nil, func(t *testing.T, o *op) {
		ctx := context.Background()
		rp := o.goRP(t, o.register(t, oidc.ClientSpec{Name: "Passkey App"}))
		b := o.browser()
		passwordSignIn(t, o, b, o.email)
		b.get(pathSecurity)
		for _, want := range []string{`id="passkeys"`, `id="passkey-none"`, `data-passkey="register"`, `id="passkey-register"`, `/static/passkey.`} {
			if !strings.Contains(b.page, want) {
				t.Errorf("security page lacks %s", want)
			}
		}
		dev := newPasskeyDevice(t, o, false)
		status, begun, done := dev.register(b, b.scriptCSRF(), "", "")
		if status != http.StatusOK || done["redirect"] != pathSecurity+"?done=passkey_added" {
			t.Fatalf("registration: %d %v", status, done)
		}
		// The options: this RP, a discoverable credential, user verification
		// preferred, and a user handle that is 32 random bytes, not the user.
		pk := options(t, begun)
		rpEnt, _ := pk["rp"].(map[string]any)
		user, _ := pk["user"].(map[string]any)
		sel, _ := pk["authenticatorSelection"].(map[string]any)
		handle := b64url(t, user["id"].(string))
		if rpEnt["id"] != passkeyRPIDLocal || rpEnt["name"] != "Janua" || user["name"] != o.email || len(handle) != 32 ||
			bytes.Contains(handle, []byte(o.userID)) || sel["residentKey"] != "required" || sel["requireResidentKey"] != true ||
			sel["userVerification"] != "preferred" || pk["excludeCredentials"] != nil {
			t.Fatalf("creation options %v", pk)
		}
		keys := o.passkeys(t, o.userID)
		if len(keys) != 1 || keys[0].Name != "Passkey 1" || keys[0].BackupEligible || !keys[0].UserVerified ||
			!bytes.Equal(keys[0].CredentialID, dev.cred.ID) || len(keys[0].Attestation.Object) == 0 {
			t.Fatalf("stored %+v", keys)
		}
		if evs := o.audit(passkeyRegAudit); len(evs) != 1 || evs[0].Subject != o.userID || evs[0].Details["method"] != "passkey" || evs[0].Details["during"] != "account" {
			t.Fatalf("registration audit %+v", evs)
		}
		if m := o.mfaMail(t, o.email, "mail.mfa.passkey_added"); m.Data["detail"] != "Passkey 1" || !strings.Contains(m.Text, "A passkey was added") {
			t.Fatalf("the user was told %+v", m)
		}
		b.get(pathSecurity + "?done=passkey_added")
		for _, want := range []string{"The passkey was added.", ">Passkey 1<", `id="passkey-remove-` + keys[0].ID + `"`, "On one device"} {
			if !strings.Contains(b.page, want) {
				t.Errorf("security page after adding lacks %s", want)
			}
		}
		// The same authenticator is excluded next time, and refused if it
		// registers again anyway.
		status, begun, done = dev.register(b, b.scriptCSRF(), "", "again")
		if ex, _ := options(t, begun)["excludeCredentials"].([]any); len(ex) != 1 || status != http.StatusConflict || done["error"] != "passkey_exists" {
			t.Fatalf("second registration of one authenticator: %d %v (excluded %v)", status, done, ex)
		}

		// A new browser signs in with the passkey alone.
		a := o.agent()
		query, state, nonce, verifier := toSignInPage(t, a, rp, oauth2.SetAuthURLParam("acr_values", "phr"))
		for _, want := range []string{`autocomplete="username webauthn"`, `data-passkey="login"`, `id="passkey-signin"`} {
			if !strings.Contains(a.page, want) {
				t.Errorf("sign-in page lacks %s", want)
			}
		}
		status, begun, done = dev.signIn(a.browser, a.scriptCSRF(), query)
		if status != http.StatusOK {
			t.Fatalf("passwordless sign-in: %d %v", status, done)
		}
		if req := options(t, begun); req["userVerification"] != "required" || req["allowCredentials"] != nil || req["rpId"] != passkeyRPIDLocal {
			t.Fatalf("request options %v", req)
		}
		s := finish(t, a, rp, done, state, nonce, verifier)
		if s.Claims["sub"] != o.userID || s.Claims["acr"] != login.ACRPhishingResistant ||
			strings.Join(amrOf(s), " ") != "hwk user pop pin mfa" {
			t.Fatalf("ID token sub %v acr %v amr %v", s.Claims["sub"], s.Claims["acr"], s.Claims["amr"])
		}
		used := o.passkeys(t, o.userID)[0]
		if used.SignCount != 1 || used.LastUsedAt == nil {
			t.Fatalf("after use: %+v", used)
		}
		if evs := o.audit(passkeyUsedAudit); len(evs) != 1 || evs[0].Details["passkey"] != used.ID || evs[0].ClientID != rp.c.ID {
			t.Fatalf("use audit %+v", evs)
		}

		// A synced passkey (backup eligible) is a software key: swk.
		synced := newPasskeyDevice(t, o, true)
		if status, _, done := synced.register(b, b.scriptCSRF(), "", "Phone"); status != http.StatusOK {
			t.Fatalf("second passkey: %d %v", status, done)
		}
		b2 := o.browser()
		b2.get(oidc.LoginPath)
		status, _, done = synced.signIn(b2, b2.scriptCSRF(), "")
		if status != http.StatusOK || done["redirect"] != login.AccountPath {
			t.Fatalf("passwordless sign-in without a flow: %d %v", status, done)
		}
		sessions, err := o.store.ListUserBrowserSessions(ctx, o.userID)
		if err != nil || len(sessions) != 3 || strings.Join(sessions[0].AMR, " ") != "swk user pop pin mfa" || sessions[0].ACR != login.ACRPhishingResistant {
			t.Fatalf("sessions %+v %v", sessions, err)
		}
		if keys := o.passkeys(t, o.userID); keys[1].Name != "Phone" || !keys[1].BackupEligible || !keys[1].BackupState {
			t.Fatalf("synced passkey %+v", keys[1])
		}
	})
}

// After a password, a passkey is the second factor: amr pwd + the
// passkey's methods + mfa. A passkey that is not the user's fails and
// counts against their second factor.
func TestE2EPasskeyAsSecondFactor(t *testing.T) {
	eachPasskeyBackend(t, nil, func(t *testing.T, o *op) {
		rp := o.goRP(t, o.register(t, oidc.ClientSpec{Name: "Second Factor App"}))
		b := o.browser()
		passwordSignIn(t, o, b, o.email)
		b.get(pathSecurity)
		dev := newPasskeyDevice(t, o, false)
		if status, _, done := dev.register(b, b.scriptCSRF(), "", "Key"); status != http.StatusOK {
			t.Fatalf("registration: %d %v", status, done)
		}

		a := o.agent()
		query, state, nonce, verifier := toSignInPage(t, a, rp)
		ch := strings.TrimPrefix(query, "?flow=")
		res := a.signIn(ch, o.email, testPassword, false)
		if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || loc != login.FactorPath+query {
			t.Fatalf("password: %d to %q", res.StatusCode, loc)
		}
		a.get(login.FactorPath + query)
		if !strings.Contains(a.page, `data-passkey="factor"`) || !strings.Contains(a.page, `id="passkey-factor-use"`) {
			t.Fatalf("the second-factor step offers no passkey:\n%.600s", a.page)
		}
		csrf := a.scriptCSRF()
		// Another authenticator's passkey is not this user's.
		stranger := newPasskeyDevice(t, o, false)
		if status, _, done, _ := stranger.ceremony(a.browser, pathPasskeyFactor, csrf, query); status != http.StatusBadRequest || done["error"] != "passkey_failed" {
			t.Fatalf("a stranger's passkey: %d %v", status, done)
		}
		if evs := o.audit("login.factor_failed"); len(evs) != 1 || evs[0].Details["method"] != "passkey" || evs[0].Subject != o.userID {
			t.Fatalf("factor failure audit %+v", evs)
		}
		status, begun, done, _ := dev.ceremony(a.browser, pathPasskeyFactor, csrf, query)
		if status != http.StatusOK {
			t.Fatalf("second factor: %d %v", status, done)
		}
		req := options(t, begun)
		allow, _ := req["allowCredentials"].([]any)
		if req["userVerification"] != "preferred" || len(allow) != 1 ||
			!bytes.Equal(b64url(t, allow[0].(map[string]any)["id"].(string)), dev.cred.ID) {
			t.Fatalf("request options %v", req)
		}
		s := finish(t, a, rp, done, state, nonce, verifier)
		if got := strings.Join(amrOf(s), " "); got != "pwd hwk user pop pin mfa" || s.Claims["acr"] != login.ACRPhishingResistant {
			t.Fatalf("ID token acr %v amr %v", s.Claims["acr"], got)
		}
		if evs := o.audit(factorUsedAudit); len(evs) != 1 || evs[0].Details["method"] != "passkey" || len(o.audit(passkeyUsedAudit)) != 0 {
			t.Fatalf("use audit %+v", evs)
		}
	})
}

// A cloned authenticator — an assertion whose signature counter does not
// move past the stored one — is refused, audited and counted against the
// user, whose passkeys lock after login.lockout_failures; a replayed
// answer finds its ceremony used.
func TestE2EPasskeyCloneRefused(t *testing.T) {
	eachPasskeyBackend(t, func(c *Config) { c.Login.LockoutFailures = 2 }, func(t *testing.T, o *op) {
		b := o.browser()
		passwordSignIn(t, o, b, o.email)
		b.get(pathSecurity)
		dev := newPasskeyDevice(t, o, false)
		if status, _, done := dev.register(b, b.scriptCSRF(), "", ""); status != http.StatusOK {
			t.Fatalf("registration: %d %v", status, done)
		}
		dev.cred.Counter = 4
		a := o.browser()
		a.get(oidc.LoginPath)
		csrf := a.scriptCSRF()
		status, _, done, body := dev.ceremony(a, pathPasskeyLogin, csrf, "")
		if status != http.StatusOK || o.passkeys(t, o.userID)[0].SignCount != 5 {
			t.Fatalf("sign-in with counter 5: %d %v", status, done)
		}
		// The same answer again: its ceremony was used.
		if status, again := a.postJSON(pathPasskeyLogin, csrf, body); status != http.StatusBadRequest || again["error"] != "passkey_expired" {
			t.Fatalf("replayed answer: %d %v", status, again)
		}
		// A copy of the key, behind (3) or level with (5) the original.
		for _, count := range []uint32{2, 4} {
			clone := *dev
			clone.cred.Counter = count
			c := o.browser()
			c.get(oidc.LoginPath)
			if status, _, done := clone.signIn(c, c.scriptCSRF(), ""); status != http.StatusBadRequest || done["error"] != "passkey_cloned" {
				t.Fatalf("clone with counter %d: %d %v", count+1, status, done)
			}
		}
		if got := o.passkeys(t, o.userID)[0].SignCount; got != 5 {
			t.Fatalf("a clone moved the stored counter to %d", got)
		}
		evs := o.audit(passkeyClonedAudit)
		if len(evs) != 2 || evs[0].Subject != o.userID || evs[0].Outcome != storage.AuditFailure {
			t.Fatalf("clone audit %+v", evs)
		}
		// Two failures lock the user's passkeys, the genuine one included.
		c := o.browser()
		c.get(oidc.LoginPath)
		if status, _, done := dev.signIn(c, c.scriptCSRF(), ""); status != http.StatusTooManyRequests || done["error"] != "locked" {
			t.Fatalf("after two clones: %d %v", status, done)
		}
	})
}
