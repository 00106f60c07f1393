package main

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/madfam-org/janua/login"
	"github.com/madfam-org/janua/oidc"
)

// Backup codes end to end through a real RP: one signs in instead of the
// app (amr pwd, otp, mfa), once only; typed in capitals and spaces it
// still works; regenerating from the security page kills every old code;
// a sign-in that leaves few codes warns before going on to the RP.
func TestE2EBackupCodes(t *testing.T) {
	t.Parallel()
	eachBackend(t, nil, func(t *testing.T, o *op) {
		ctx := context.Background()
		rp := o.goRP(t, o.register(t, oidc.ClientSpec{FirstParty: true}))
		a := o.agent()
		rp.login(a)
		m := newMFA(t)
		m.enrolTOTP(t, a)
		codes := m.codes

		m.backup = codes[0]
		s := m.login(rp, a, oauth2.SetAuthURLParam("prompt", "login"))
		if !slices.Equal(m.shown, []string{"backup"}) {
			t.Fatalf("second-factor pages %v", m.shown)
		}
		checkMFA(t, s)
		if n, _ := o.store.CountBackupCodes(ctx, o.userID); n != 9 {
			t.Fatalf("%d codes left, want 9", n)
		}
		if e := auditDetail(o, "login.factor_succeeded", "method", "backup"); e == nil || e.Details["remaining"] != float64(9) {
			t.Fatalf("backup code sign-in audit: %+v", e)
		}

		// The same code again: refused, audited.
		step := stopAt(t, rp, a, oauth2.SetAuthURLParam("prompt", "login"))
		if !strings.Contains(step.Page, `id="backup-form"`) || !strings.Contains(step.Page, `id="totp-form"`) {
			t.Fatalf("the step offers:\n%s", step.Page)
		}
		reused := postForm(t, a, step, "backup-form", url.Values{"code": {codes[0]}}, rp.c.Redirect)
		if reused.Status != http.StatusBadRequest || !strings.Contains(reused.Page, "already used") {
			t.Fatalf("a used backup code: %d %v", reused.Status, reused.Params)
		}
		if auditDetail(o, "login.factor_failed", "method", "backup") == nil {
			t.Fatal("the refused backup code was not audited")
		}
		// Capitals, spaces and no dash: the same code.
		sloppy := strings.ToUpper(strings.ReplaceAll(codes[1], "-", " "))
		if resp := postForm(t, a, reused, "backup-form", url.Values{"code": {sloppy}}, rp.c.Redirect); resp.Get("code") == "" {
			t.Fatalf("%q: %d %v\n%.800s", sloppy, resp.Status, resp.Params, resp.Page)
		}

		// Regenerate from the security page (signed in just now): ten new
		// codes, shown once; every old one dies.
		a.get(login.SecurityPath)
		if !strings.Contains(a.page, "8 unused backup codes left") {
			t.Fatalf("security page:\n%s", a.page)
		}
		m.shown = nil
		done := m.run(a, postForm(t, a, &authResponse{Page: a.page}, "backup-regenerate-form", nil, ""), "")
		if !slices.Equal(m.shown, []string{"backup-codes"}) || len(m.codes) != 10 || slices.Contains(m.codes, codes[2]) {
			t.Fatalf("regenerated: %v %v", m.shown, m.codes)
		}
		if !strings.Contains(done.Page, "New backup codes are ready") || !strings.Contains(done.Page, "10 unused backup codes left") {
			t.Fatalf("after regenerating:\n%s", done.Page)
		}
		if auditDetail(o, "mfa.backup_codes", "reason", "regenerated") == nil {
			t.Fatal("regeneration not audited")
		}
		fresh := m.codes
		step = stopAt(t, rp, a, oauth2.SetAuthURLParam("prompt", "login"))
		if old := postForm(t, a, step, "backup-form", url.Values{"code": {codes[2]}}, rp.c.Redirect); old.Status != http.StatusBadRequest {
			t.Fatalf("an old code after regenerating: %d %v", old.Status, old.Params)
		}

		// Few left: the sign-in warns, then goes on to the RP.
		for _, c := range fresh[:6] {
			if _, err := o.store.ConsumeBackupCode(ctx, o.userID, strings.ReplaceAll(c, "-", "")); err != nil {
				t.Fatal(err)
			}
		}
		m.backup = fresh[6]
		s = m.login(rp, a, oauth2.SetAuthURLParam("prompt", "login"))
		if !slices.Equal(m.shown, []string{"backup", "backup-low"}) {
			t.Fatalf("second-factor pages %v", m.shown)
		}
		checkMFA(t, s)
	})
}

// Backup codes only back up a standalone factor: a user left with codes
// and nothing else signs in with the password alone, and when an RP
// demands mfa the step offers to enrol an authenticator, not the codes.
func TestE2EBackupCodesAlone(t *testing.T) {
	t.Parallel()
	eachBackend(t, nil, func(t *testing.T, o *op) {
		codes := []string{"0123456789", "abcdefghjk", "mnpqrstvwx", "yz01234567", "89abcdefgh", "jkmnpqrstv", "wxyz012345", "6789abcdef", "ghjkmnpqrs", "tvwxyz0123"}
		if err := o.store.ReplaceBackupCodes(context.Background(), o.userID, codes); err != nil {
			t.Fatal(err)
		}
		rp := o.goRP(t, o.register(t, oidc.ClientSpec{FirstParty: true}))
		a := o.agent()
		s := rp.login(a)
		if !slices.Equal(s.Response.Shown, []string{"login"}) {
			t.Fatalf("pages %v", s.Response.Shown)
		}
		checkPasswordOnly(t, s)
		step := stopAt(t, rp, a, oauth2.SetAuthURLParam("acr_values", "mfa"))
		if !strings.Contains(step.Page, `id="totp-enrol-form"`) || strings.Contains(step.Page, `id="backup-form"`) {
			t.Fatalf("the step for a user with only backup codes:\n%s", step.Page)
		}
	})
}
