package main

import (
	"bytes"
	"context"
	"encoding/base32"
	"encoding/base64"
	"html"
	"image/png"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/madfam-org/janua/login"
	"github.com/madfam-org/janua/oidc"
)

var (
	qrOnPage  = regexp.MustCompile(`id="totp-qr" src="data:image/png;base64,([^"]+)"`)
	uriOnPage = regexp.MustCompile(`id="totp-open" href="([^"]+)"`)
)

// An authenticator app end to end: set up from the security page (the QR
// code drawn by Janua, the secret for typing in, a wrong first code
// refused, backup codes shown once), then every sign-in of a real RP asks
// for a code after the password and the ID token says acr "mfa", amr pwd,
// otp, mfa; a code that was used once is refused the second time.
func TestE2ETOTP(t *testing.T) {
	t.Parallel()
	eachBackend(t, nil, func(t *testing.T, o *op) {
		ctx := context.Background()
		c := o.register(t, oidc.ClientSpec{FirstParty: true})
		rp := o.goRP(t, c)
		a := o.agent()
		checkPasswordOnly(t, rp.login(a))

		// The security page offers the app; setting it up shows a QR code
		// and the secret.
		a.get(login.SecurityPath)
		if !strings.Contains(a.page, `id="totp-setup-form"`) || !strings.Contains(a.page, "Backup codes come with") {
			t.Fatalf("security page before set-up:\n%s", a.page)
		}
		enrol := postForm(t, a, &authResponse{Page: a.page}, "totp-setup-form", nil, "")
		if enrol.Status != http.StatusOK {
			t.Fatalf("set-up page: %d", enrol.Status)
		}
		m := newMFA(t)
		m.readSecret(t, enrol.Page)
		raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(m.app.secret)
		if err != nil || len(raw) != 20 {
			t.Fatalf("secret %q: %d bytes, %v (want 160 bits)", m.app.secret, len(raw), err)
		}
		qr := qrOnPage.FindStringSubmatch(enrol.Page)
		if qr == nil {
			t.Fatalf("no QR code image on the set-up page:\n%.3000s", enrol.Page)
		}
		pngBytes, _ := base64.StdEncoding.DecodeString(html.UnescapeString(qr[1]))
		if img, err := png.Decode(bytes.NewReader(pngBytes)); err != nil || img.Bounds().Dx() != 200 {
			t.Fatalf("QR code image: %v", err)
		}
		uri := uriOnPage.FindStringSubmatch(enrol.Page)
		if uri == nil {
			t.Fatal("no otpauth link")
		}
		ou, err := url.Parse(html.UnescapeString(uri[1]))
		if err != nil {
			t.Fatal(err)
		}
		q := ou.Query()
		if ou.Scheme != "otpauth" || ou.Host != "totp" || q.Get("secret") != m.app.secret || q.Get("issuer") != "127.0.0.1" ||
			q.Get("digits") != "6" || q.Get("period") != "30" || q.Get("algorithm") != "SHA1" || !strings.HasSuffix(ou.Path, ":"+o.email) {
			t.Fatalf("otpauth URI %s", ou)
		}
		if strings.Contains(enrol.Page, "https://") && strings.Contains(enrol.Page, "chart") {
			t.Fatal("the QR code comes from a third party")
		}

		// A wrong first code: the same secret again, with an error.
		wrong := postForm(t, a, enrol, "totp-confirm-form", url.Values{"code": {m.app.wrong()}}, "")
		if wrong.Status != http.StatusBadRequest || !strings.Contains(wrong.Page, "That code is not right") || !strings.Contains(wrong.Page, groupFour(m.app.secret)) {
			t.Fatalf("wrong first code: %d\n%.1500s", wrong.Status, wrong.Page)
		}
		if at, _ := o.store.TOTPConfirmedAt(ctx, o.userID); at != nil {
			t.Fatal("a wrong code confirmed the authenticator")
		}
		// The right one: backup codes, shown once, then the security page.
		m.shown = nil
		done := m.run(a, wrong, "")
		if !slices.Equal(m.shown, []string{"totp-confirm", "backup-codes"}) || len(m.codes) != 10 {
			t.Fatalf("confirmation: %v, %d codes", m.shown, len(m.codes))
		}
		for _, code := range m.codes {
			if !regexp.MustCompile(`^[0-9a-hjkmnp-tv-z]{5}-[0-9a-hjkmnp-tv-z]{5}$`).MatchString(code) {
				t.Errorf("backup code %q", code)
			}
		}
		if !strings.Contains(done.Page, "Your authenticator app is set up") || !strings.Contains(done.Page, `id="totp-remove-form"`) ||
			!strings.Contains(done.Page, "10 unused backup codes left") {
			t.Fatalf("security page after set-up:\n%s", done.Page)
		}
		if len(o.audit("mfa.enrolled")) != 1 || auditDetail(o, "mfa.backup_codes", "reason", "enrolment") == nil {
			t.Fatal("enrolment not audited")
		}

		// Every sign-in now asks for a code after the password.
		s := m.login(rp, a, oauth2.SetAuthURLParam("prompt", "login"))
		if !slices.Equal(s.Response.Shown, []string{"login", "totp"}) {
			t.Fatalf("pages %v", s.Response.Shown)
		}
		checkMFA(t, s)
		if auditDetail(o, "login.factor_succeeded", "method", "totp") == nil {
			t.Fatal("no audit of the TOTP success")
		}

		// The same code again, in another sign-in: refused.
		used := m.app.code
		step := stopAt(t, rp, a, oauth2.SetAuthURLParam("prompt", "login"))
		replay := postForm(t, a, step, "totp-form", url.Values{"code": {used}}, rp.c.Redirect)
		if replay.Status != http.StatusBadRequest || !strings.Contains(replay.Page, "already used") {
			t.Fatalf("replayed code: %d %v\n%.1500s", replay.Status, replay.Params, replay.Page)
		}
		if auditDetail(o, "login.factor_failed", "reason", "replayed") == nil {
			t.Fatal("the replay was not audited")
		}
		// A code with spaces, as apps display it, of a fresh step.
		fresh := m.app.next()
		resp := postForm(t, a, replay, "totp-form", url.Values{"code": {fresh[:3] + " " + fresh[3:]}}, rp.c.Redirect)
		if resp.Get("code") == "" {
			t.Fatalf("a fresh code after a replay: %d %v", resp.Status, resp.Params)
		}
	})
}

// groupFour writes a secret the way the set-up page shows it.
func groupFour(s string) string {
	var parts []string
	for i := 0; i < len(s); i += 4 {
		parts = append(parts, s[i:min(i+4, len(s))])
	}
	return strings.Join(parts, " ")
}
