package main

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
	"github.com/labstack/echo/v4"

	"github.com/madfam-org/janua/login"
	"github.com/madfam-org/janua/oidc"
	"github.com/madfam-org/janua/storage"
)

// Passkeys in Chromium through the real page script (static/assets/
// passkey.js), with the DevTools virtual authenticator (the CDP WebAuthn
// domain) standing in for a platform authenticator with a resident key
// and user verification: register from the security page, then sign in
// without a password or an email from the sign-in page of a real
// authorization request, ending at the client's redirect URI with a code.
func TestBrowserPasskeys(t *testing.T) {
	chromiumPath(t)
	s := newInteractionServer(t, serverOptions{config: localhostIssuer, routes: func(e *echo.Echo) {
		e.GET(browserCallback, callbackResult)
	}})
	s.URL = s.cfg.Issuer // a passkey's origin must be a name (localhost), never an IP address
	if err := s.store.CreateClient(context.Background(), &storage.Client{ID: "own", Name: "Our Dashboard", FirstParty: true, Public: true,
		TokenEndpointAuthMethod: "none", RedirectURIs: []string{s.URL + browserCallback},
		GrantTypes: []string{"authorization_code"}, ResponseTypes: []string{"code"}, Scopes: []string{"openid"}}); err != nil {
		t.Fatal(err)
	}
	u := s.user("ana@example.com", false)
	bt := newBrowserTest(t, s)
	tb := bt.tab(t)
	// The tab's authenticator: CTAP2 on the platform ("internal"), holding
	// discoverable credentials, verifying its user, and touched at once.
	var authenticator webauthn.AuthenticatorID
	tb.do(chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		off := false
		if _, err := cdp.Call(ctx, tg, webauthn.Enable, webauthn.EnableParams{EnableUI: &off}); err != nil {
			return err
		}
		res, err := cdp.Call(ctx, tg, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{Options: &webauthn.VirtualAuthenticatorOptions{
			Protocol: webauthn.AuthenticatorProtocolCtap2, Ctap2version: webauthn.Ctap2versionCtap21, Transport: webauthn.AuthenticatorTransportInternal,
			HasResidentKey: true, HasUserVerification: true, IsUserVerified: true, AutomaticPresenceSimulation: true}})
		authenticator = res.AuthenticatorID
		return err
	}))
	// cdpDo runs one DevTools command on the tab.
	cdpDo := func(fn func(ctx context.Context, tg *chromedp.Target) error) chromedp.Action[chromedp.Void] {
		return chromedp.Func(fn)
	}
	verifies := func(ok bool) chromedp.Action[chromedp.Void] {
		return cdpDo(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, webauthn.SetUserVerified, webauthn.SetUserVerifiedParams{AuthenticatorID: authenticator, IsUserVerified: ok})
			return err
		})
	}
	// present switches the simulated touch: off, a ceremony waits.
	present := func(on bool) chromedp.Action[chromedp.Void] {
		return cdpDo(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, webauthn.SetAutomaticPresenceSimulation, webauthn.SetAutomaticPresenceSimulationParams{AuthenticatorID: authenticator, Enabled: on})
			return err
		})
	}
	signOut := func() {
		t.Helper()
		tb.do(present(false)) // the sign-in page's autofill request waits
		tb.open(login.AccountPath, "#signout")
		tb.do(chromedp.Click(chromedp.CSS("#signout")), chromedp.WaitVisible(chromedp.CSS("#login-form")))
	}
	// noAutofill makes the pages report no conditional mediation, so only
	// the button starts a ceremony; the returned action undoes it.
	noAutofill := func() chromedp.Action[chromedp.Void] {
		var id page.ScriptIdentifier
		tb.do(cdpDo(func(ctx context.Context, tg *chromedp.Target) error {
			res, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
				Source: `PublicKeyCredential.isConditionalMediationAvailable = () => Promise.resolve(false)`})
			id = res.Identifier
			return err
		}))
		return cdpDo(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, page.RemoveScriptToEvaluateOnNewDocument, page.RemoveScriptToEvaluateOnNewDocumentParams{Identifier: id})
			return err
		})
	}
	used := func() int {
		t.Helper()
		n := len(s.audit("passkey.used"))
		return n
	}

	t.Run("RegisterFromTheSecurityPage", func(t *testing.T) {
		tb.t = t
		tb.open(oidc.LoginPath, "#login-form")
		tb.do(chromedp.SendKeys(chromedp.CSS("#email"), u.Email), chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
			chromedp.Click(chromedp.CSS("#submit")), chromedp.WaitVisible(chromedp.CSS("#account-email")))
		tb.open(login.SecurityPath, "#passkey-register") // revealed by the script
		tb.shoot("security-passkeys-empty")
		tb.do(chromedp.SendKeys(chromedp.CSS("#passkey-new-name"), "Chromium"), chromedp.Click(chromedp.CSS("#passkey-register")),
			chromedp.WaitVisible(chromedp.CSS("#notice")))
		if n := tb.text("#notice"); n != "The passkey was added." {
			t.Fatalf("notice %q", n)
		}
		if names := tb.text("#passkey-list"); !strings.Contains(names, "Chromium") {
			t.Fatalf("passkey list %q", names)
		}
		keys, err := s.store.ListPasskeys(context.Background(), u.ID)
		if err != nil || len(keys) != 1 || keys[0].Name != "Chromium" || !keys[0].UserVerified || !slices.Contains(keys[0].Transports, "internal") {
			t.Fatalf("stored %+v %v", keys, err)
		}
		tb.shoot("security-passkeys")
		signOut()
	})

	t.Run("SignInWithTheButton", func(t *testing.T) {
		tb.t = t
		undo := noAutofill()
		defer tb.do(undo)
		tb.do(present(true))
		ch := tb.startFlow("own", url.Values{"scope": {"openid"}})
		if ac := eval(tb, chromedp.AttributeValue(chromedp.CSS("#email"), "autocomplete")); ac.Value != "username webauthn" {
			t.Errorf("the email field's autocomplete is %q", ac.Value)
		}
		tb.do(chromedp.WaitVisible(chromedp.CSS("#passkey-signin")))
		tb.shoot("login-passkey")
		tb.do(chromedp.Click(chromedp.CSS("#passkey-signin")), chromedp.WaitVisible(chromedp.CSS("#result")))
		if r := tb.text("#result"); r != "completed" {
			t.Fatalf("after the passkey: %q", r)
		}
		f := s.flow(ch)
		if f.State != storage.FlowCompleted || f.Subject != u.ID || f.ACR != login.ACRPhishingResistant ||
			strings.Join(f.AMR, " ") != "hwk user pop pin mfa" {
			t.Fatalf("flow %+v", f)
		}
		keys, _ := s.store.ListPasskeys(context.Background(), u.ID)
		if len(keys) != 1 || keys[0].LastUsedAt == nil || keys[0].SignCount == 0 || used() != 1 {
			t.Fatalf("the use was not recorded: %+v", keys)
		}
		signOut()
	})

	// Conditional mediation: the sign-in page asks for a passkey as it
	// loads, for the email field's autofill; the virtual authenticator
	// answers at once, as a user picking their passkey there would.
	t.Run("SignInFromTheAutofill", func(t *testing.T) {
		tb.t = t
		tb.do(present(true))
		q := url.Values{"client_id": {"own"}, "response_type": {"code"}, "redirect_uri": {s.URL + browserCallback}, "scope": {"openid"},
			"state": {"autofill-state-1234"}, "code_challenge": {strings.Repeat("A", 43)}, "code_challenge_method": {"S256"}}
		tb.do(chromedp.Navigate(s.URL+"/oauth2/authorize?"+q.Encode()), chromedp.WaitVisible(chromedp.CSS("#result")))
		if r := tb.text("#result"); r != "completed" || used() != 2 {
			t.Fatalf("after the autofill: %q, %d uses", r, used())
		}
	})
	// An authenticator that cannot verify its user fails the ceremony: the
	// page says so in its alert region and stays usable.
	t.Run("FailureIsAnnounced", func(t *testing.T) {
		tb.t = t
		tb.do(verifies(false))
		tb.open(oidc.LoginPath, "#passkey-signin")
		tb.do(chromedp.Click(chromedp.CSS("#passkey-signin")), chromedp.WaitVisible(chromedp.CSS("#passkey-error")))
		if msg := tb.text("#passkey-error"); !strings.Contains(msg, "cancelled or timed out") {
			t.Fatalf("error shown: %q", msg)
		}
		if role := eval(tb, chromedp.AttributeValue(chromedp.CSS("#passkey-error"), "role")); role.Value != "alert" {
			t.Errorf("the error region's role is %q", role.Value)
		}
		tb.shoot("login-passkey-error")
		tb.do(verifies(true))
		if disabled := eval(tb, chromedp.Evaluate[bool](`document.getElementById('passkey-signin').disabled`)); disabled {
			t.Fatal("the button stays disabled after a failure")
		}
		if used() != 2 {
			t.Fatalf("%d uses after a failed ceremony", used())
		}
	})
}
