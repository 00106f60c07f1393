package main

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/madfam-org/janua/consent"
	"github.com/madfam-org/janua/oidc"
	"github.com/madfam-org/janua/storage"
	"github.com/madfam-org/janua/storage/storagetest"
)

// authenticate signs email in on br for a new flow asking for scope and
// returns the (now authenticated) flow's challenge.
func (b *browser) authenticate(clientID, email, scope string) string {
	b.t.Helper()
	ch := b.startFlow(clientID, url.Values{"scope": {scope}})
	if res := b.signIn(ch, email, testPassword, false); res.StatusCode != http.StatusSeeOther {
		b.t.Fatalf("sign-in: %d\n%s", res.StatusCode, b.page)
	}
	return ch
}

func TestConsentAllowIsRemembered(t *testing.T) {
	for _, b := range storagetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			s := newInteractionServer(t, serverOptions{backend: b})
			cl := s.client("app", "Example App", false)
			u := s.user("ana@example.com", false)
			gate := consent.NewGate(s.store)
			br := s.browser()
			ch := br.authenticate("app", "ana@example.com", "openid email offline_access calendar:read email")
			if ok, err := gate.Covered(ctx, u.ID, cl, []string{"openid", "email"}); ok || err != nil {
				t.Fatalf("covered before any consent: %v %v", ok, err)
			}
			if res := br.get(flowURL(oidc.ConsentPath, ch)); res.StatusCode != 200 {
				t.Fatalf("consent page: %d\n%s", res.StatusCode, br.page)
			}
			for _, want := range []string{"Example App wants to access your account", `<strong>ana@example.com</strong>`,
				`data-scope="openid"`, "See your email address", "Stay connected", `data-scope="calendar:read"`,
				`<span class="scope-title">calendar:read</span>`, `id="client-logo" src="https://app.example.com/logo.png"`,
				`id="policy-link" href="https://app.example.com/privacy"`, `id="terms-link"`} {
				if !strings.Contains(br.page, want) {
					t.Errorf("consent page lacks %s", want)
				}
			}
			if strings.Count(br.page, `data-scope="email"`) != 1 {
				t.Error("a scope requested twice is listed twice")
			}
			// The first submit button of the one form is Allow (conformance
			// automation presses it), then Deny.
			buttons := regexp.MustCompile(`<button type="submit"[^>]*id="(\w+)"`).FindAllStringSubmatch(br.page, -1)
			if len(buttons) != 2 || buttons[0][1] != "allow" || buttons[1][1] != "deny" {
				t.Fatalf("buttons %v", buttons)
			}
			res := br.submit(flowURL(oidc.ConsentPath, ch), url.Values{"action": {"allow"}})
			if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != flowURL(oidc.ResumePath, ch) || res.Header.Get("Cache-Control") != "no-store" {
				t.Fatalf("allow: %d %q", res.StatusCode, res.Header.Get("Location"))
			}
			want := []string{"openid", "email", "offline_access", "calendar:read"}
			if f := s.flow(ch); f.State != storage.FlowConsented || !slices.Equal(f.GrantedScopes, want) || f.Subject != u.ID {
				t.Fatalf("flow after allow: %+v", f)
			}
			if ok, _ := gate.Covered(ctx, u.ID, cl, []string{"email", "openid"}); !ok {
				t.Fatal("a remembered grant does not cover the same scopes")
			}
			if ok, _ := gate.Covered(ctx, u.ID, cl, []string{"openid", "profile"}); ok {
				t.Fatal("a grant covers a scope never allowed")
			}
			// A later consent to more scopes adds to the grant.
			ch2 := br.authenticate("app", "ana@example.com", "openid profile")
			br.get(flowURL(oidc.ConsentPath, ch2))
			br.submit(flowURL(oidc.ConsentPath, ch2), url.Values{"action": {"allow"}})
			g, err := s.store.GetConsentGrant(ctx, u.ID, "app")
			if err != nil || !slices.Equal(g.Scopes, []string{"openid", "email", "offline_access", "calendar:read", "profile"}) {
				t.Fatalf("grant after a second consent: %+v %v", g, err)
			}
			if ok, _ := gate.Covered(ctx, u.ID, cl, []string{"openid", "profile", "email"}); !ok {
				t.Fatal("the union of grants does not cover")
			}
			if ev := s.audit("consent.granted"); len(ev) != 2 || ev[0].Subject != u.ID || ev[0].ClientID != "app" {
				t.Fatalf("audit %+v", ev)
			}
			// The flow is spent: consenting again is refused.
			br.get(oidc.LoginPath)
			if res := br.submit(flowURL(oidc.ConsentPath, ch), url.Values{"action": {"allow"}}); res.StatusCode != http.StatusBadRequest {
				t.Fatalf("second allow: %d", res.StatusCode)
			}
		})
	}
}

func TestConsentDeny(t *testing.T) {
	ctx := context.Background()
	s := newInteractionServer(t, serverOptions{})
	cl := s.client("app", "Example App", false)
	u := s.user("ana@example.com", false)
	br := s.browser()
	ch := br.authenticate("app", "ana@example.com", "openid email")
	br.get(flowURL(oidc.ConsentPath, ch))
	res := br.submit(flowURL(oidc.ConsentPath, ch), url.Values{"action": {"deny"}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != flowURL(oidc.ResumePath, ch) {
		t.Fatalf("deny: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	if f := s.flow(ch); f.State != storage.FlowRejected || f.Error != "access_denied" || len(f.GrantedScopes) != 0 {
		t.Fatalf("flow after deny: %+v", f)
	}
	if ok, _ := consent.NewGate(s.store).Covered(ctx, u.ID, cl, []string{"openid"}); ok {
		t.Fatal("a denial was remembered as a grant")
	}
	if ev := s.audit("consent.denied"); len(ev) != 1 || ev[0].Outcome != storage.AuditFailure {
		t.Fatalf("audit %+v", ev)
	}
}

// Consent is only for the browser that started the flow, signed in as the
// flow's user, for a flow that is authenticated and not yet consented.
func TestConsentRefusals(t *testing.T) {
	s := newInteractionServer(t, serverOptions{})
	s.client("app", "Example App", false)
	s.user("ana@example.com", false)
	s.user("bob@example.com", false)
	br := s.browser()
	ch := br.authenticate("app", "ana@example.com", "openid")

	// Not yet signed in: the flow is still created.
	created := br.startFlow("app", nil)
	if res := br.get(flowURL(oidc.ConsentPath, created)); res.StatusCode != http.StatusBadRequest {
		t.Fatalf("consent to a created flow: %d", res.StatusCode)
	}
	// No or unknown flow.
	for _, path := range []string{oidc.ConsentPath, flowURL(oidc.ConsentPath, "nope"), flowURL(oidc.ConsentPath, strings.Repeat("y", 300))} {
		if res := br.get(path); res.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %d", path, res.StatusCode)
		}
	}
	// Another browser.
	other := s.browser()
	other.authenticate("app", "ana@example.com", "openid")
	if res := other.get(flowURL(oidc.ConsentPath, ch)); res.StatusCode != http.StatusForbidden || !strings.Contains(other.page, "another browser") {
		t.Fatalf("another browser: %d", res.StatusCode)
	}
	// The same browser, now signed in as someone else.
	br.authenticate("app", "bob@example.com", "openid")
	if res := br.get(flowURL(oidc.ConsentPath, ch)); res.StatusCode != http.StatusForbidden || !strings.Contains(br.page, "not signed in as the person") {
		t.Fatalf("another user: %d\n%s", res.StatusCode, br.page)
	}
	// Signed out.
	br.get(oidc.LoginPath)
	br.submit("/account/signout", nil)
	if res := br.get(flowURL(oidc.ConsentPath, ch)); res.StatusCode != http.StatusForbidden {
		t.Fatalf("signed out: %d", res.StatusCode)
	}
	// A valid page, but a post without the CSRF token or with an unknown action.
	ch3 := br.authenticate("app", "ana@example.com", "openid")
	br.get(flowURL(oidc.ConsentPath, ch3))
	token := br.csrf()
	if res := br.do(http.MethodPost, flowURL(oidc.ConsentPath, ch3), url.Values{"action": {"allow"}}); res.StatusCode != http.StatusForbidden {
		t.Fatalf("allow without a token: %d", res.StatusCode)
	}
	if res := br.do(http.MethodPost, flowURL(oidc.ConsentPath, ch3), url.Values{"action": {"maybe"}, "csrf_token": {token}}); res.StatusCode != http.StatusBadRequest {
		t.Fatalf("unknown action: %d", res.StatusCode)
	}
	for _, c := range []string{ch, ch3} {
		if f := s.flow(c); f.State != storage.FlowAuthenticated {
			t.Fatalf("a refused consent advanced the flow: %+v", f)
		}
	}
}

// A first-party client never needs the page.
func TestConsentGateFirstParty(t *testing.T) {
	ctx := context.Background()
	s := newInteractionServer(t, serverOptions{})
	own := s.client("own", "Our App", true)
	u := s.user("ana@example.com", false)
	if ok, err := consent.NewGate(s.store).Covered(ctx, u.ID, own, []string{"openid", "profile", "offline_access"}); !ok || err != nil {
		t.Fatalf("first-party: %v %v", ok, err)
	}
	if ok, err := consent.NewGate(s.store).Covered(ctx, u.ID, nil, nil); ok || err != nil {
		t.Fatalf("no client: %v %v", ok, err)
	}
}
