package main

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/madfam-org/janua/login"
	"github.com/madfam-org/janua/oidc"
	"github.com/madfam-org/janua/storage"
	"github.com/madfam-org/janua/storage/storagetest"
)

// The mailed sign-in end to end: Janua's outbox delivers to a real SMTP
// server the test runs (mailcatcher_test.go); the link and the code are read
// from the received message, as the user would.

// eachMailBackend is eachBackend with Janua's mail going to a catcher of
// each backend's own.
func eachMailBackend(t *testing.T, config func(*Config), fn func(t *testing.T, o *op, mc *mailCatcher)) {
	t.Helper()
	for _, b := range storagetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			mc := newMailCatcher(t)
			o := newOP(t, b, func(c *Config) {
				mc.configure(c)
				if config != nil {
					config(c)
				}
			})
			fn(t, o, mc)
		})
	}
}

// toLogin follows an authorization request to the sign-in page and returns
// the flow challenge the page was handed.
func (a *agent) toLogin(rawURL string) string {
	a.t.Helper()
	target := rawURL
	for range 10 {
		res := a.get(target)
		if loc := res.Header.Get("Location"); res.StatusCode >= 300 && res.StatusCode < 400 && loc != "" {
			u, _ := url.Parse(target)
			target = resolve(u, loc)
			continue
		}
		if _, _, ok := pageForm(a.page, "login-form"); !ok || res.StatusCode != http.StatusOK {
			a.t.Fatalf("no sign-in page at %s: %d\n%.600s", target, res.StatusCode, a.page)
		}
		u, _ := url.Parse(target)
		return u.Query().Get(oidc.FlowParam)
	}
	a.t.Fatalf("no sign-in page after 10 redirects from %s", rawURL)
	return ""
}

// askEmailLink presses "Email me a sign-in link" on the sign-in page of
// flow ch (none when "") with email typed: the login form, posted to the
// button's formaction.
func (b *browser) askEmailLink(ch, email string) *http.Response {
	b.t.Helper()
	if !strings.Contains(b.page, `id="email-link"`) {
		b.t.Fatalf("the page offers no sign-in link:\n%.600s", b.page)
	}
	return b.submit(flowURL(login.EmailSignInPath, ch), url.Values{"email": {email}, "password": {""}, "action": {"email"}})
}

// enterCode submits the code form of the last page ("check your email").
func (b *browser) enterCode(code string) *http.Response {
	b.t.Helper()
	action, fields, ok := pageForm(b.page, "email-code-form")
	if !ok {
		b.t.Fatalf("no code form on the page:\n%.600s", b.page)
	}
	fields.Set("code", code)
	return b.do(http.MethodPost, action, fields)
}

// wrongCode is a code of the right shape that is not code.
func wrongCode(code string) string {
	b := []byte(code)
	b[0] = '0' + (b[0]-'0'+1)%10
	return string(b)
}

func wantStatus(t *testing.T, res *http.Response, status int, page string) {
	t.Helper()
	if res.StatusCode != status {
		t.Fatalf("status %d, want %d; Location %q\n%.800s", res.StatusCode, status, res.Header.Get("Location"), page)
	}
}

// checkOTP asserts an ID token of a sign-in by email: amr ["otp"] (RFC 8176
// §2), acr "1": one factor.
func checkOTP(t *testing.T, s *signIn) {
	t.Helper()
	if amr, _ := s.Claims["amr"].([]any); !slices.Equal(amr, []any{"otp"}) || s.Claims["acr"] != login.ACRPassword {
		t.Fatalf("ID token amr %v acr %v, want [otp] and %q", s.Claims["amr"], s.Claims["acr"], login.ACRPassword)
	}
}

func TestEmailMagicLinkEndToEnd(t *testing.T) {
	many := func(c *Config) { c.Login.EmailSendLimit = 100 }
	eachMailBackend(t, many, func(t *testing.T, o *op, mc *mailCatcher) {
		c := o.register(t, oidc.ClientSpec{})
		rp := o.goRP(t, c)

		t.Run("LinkInTheSameBrowserCompletesTheFlow", func(t *testing.T) {
			a := o.agent()
			authURL, state, nonce, verifier := rp.authURL()
			ch := a.toLogin(authURL)
			if !strings.Contains(a.page, `id="forgot-link"`) {
				t.Error("the sign-in page lacks Forgot your password?")
			}
			wantStatus(t, a.askEmailLink(ch, o.email), http.StatusOK, a.page)
			if !strings.Contains(a.page, `id="email-code-form"`) || !strings.Contains(a.page, o.email) {
				t.Fatalf("check-your-email page:\n%s", a.page)
			}
			m := mc.next(t, o.email, kindMagicLink)
			link := m.link(t)
			m.code(t) // the message carries the code too
			if !strings.HasPrefix(link, o.issuer+login.EmailLinkPath+"?token=") || !strings.Contains(m.Subject, "sign-in link") ||
				!strings.Contains(m.Text, c.Client.Name) {
				t.Fatalf("message %q with link %s:\n%s", m.Subject, link, m.Text)
			}
			resp := a.navigate(http.MethodGet, link, nil, c.Redirect)
			if resp.Get("code") == "" || resp.Get("state") != state || resp.Get("iss") != o.issuer {
				t.Fatalf("after the link: %+v\n%.600s", resp.Params, resp.Page)
			}
			s := rp.exchange(resp.Get("code"), nonce, verifier)
			checkOTP(t, s)
			if s.Claims["sub"] != o.userID {
				t.Fatalf("ID token sub %v, want %s", s.Claims["sub"], o.userID)
			}
			// Single use: the link again, and the code it came with, are dead.
			wantStatus(t, a.get(link), http.StatusBadRequest, a.page)
			if !strings.Contains(a.page, "already used") {
				t.Fatalf("reused link page:\n%s", a.page)
			}
		})

		t.Run("LinkInAnotherBrowserAsksAndTheCodeFinishesHere", func(t *testing.T) {
			a := o.agent()
			authURL, _, nonce, verifier := rp.authURL()
			ch := a.toLogin(authURL)
			a.askEmailLink(ch, o.email)
			m := mc.next(t, o.email, kindMagicLink)
			other := o.agent()
			res := other.get(m.link(t))
			wantStatus(t, res, http.StatusOK, other.page)
			if sessionCookie(res) != nil || !strings.Contains(other.page, `id="email-confirm-form"`) ||
				!strings.Contains(other.page, "type the code") || !strings.Contains(other.page, o.email) {
				t.Fatalf("another browser: session cookie %v, page:\n%s", sessionCookie(res), other.page)
			}
			if f := o.flow(ch); f.State != storage.FlowCreated {
				t.Fatalf("the flow moved on in another browser: %s", f.State)
			}
			// The original tab types the code instead.
			res = a.enterCode(m.code(t))
			wantStatus(t, res, http.StatusSeeOther, a.page)
			resp := a.navigate(http.MethodGet, o.issuer+res.Header.Get("Location"), nil, c.Redirect)
			checkOTP(t, rp.exchange(resp.Get("code"), nonce, verifier))
			// Link and code die together: confirming now fails.
			_, fields, _ := pageForm(other.page, "email-confirm-form")
			wantStatus(t, other.do(http.MethodPost, login.EmailLinkPath, fields), http.StatusBadRequest, other.page)
		})

		t.Run("ConfirmedInAnotherBrowserSignsThatOneIn", func(t *testing.T) {
			a := o.agent()
			ch := a.toLogin(rpURL(rp))
			a.askEmailLink(ch, o.email)
			m := mc.next(t, o.email, kindMagicLink)
			other := o.browser()
			other.get(m.link(t))
			_, fields, _ := pageForm(other.page, "email-confirm-form")
			res := other.do(http.MethodPost, login.EmailLinkPath, fields)
			wantStatus(t, res, http.StatusSeeOther, other.page)
			if loc := res.Header.Get("Location"); loc != login.AccountPath || sessionCookie(res) == nil {
				t.Fatalf("confirmed: to %q, cookie %v", loc, sessionCookie(res))
			}
			wantStatus(t, other.get(login.AccountPath), http.StatusOK, other.page)
			if !strings.Contains(other.page, o.email) {
				t.Fatalf("account page:\n%s", other.page)
			}
			// The flow stayed with its browser, and its code died with the link.
			if f := o.flow(ch); f.State != storage.FlowCreated {
				t.Fatalf("flow %s", f.State)
			}
			wantStatus(t, a.enterCode(m.code(t)), http.StatusBadRequest, a.page)
		})

		t.Run("FiveWrongCodesKillCodeAndLink", func(t *testing.T) {
			failedBefore := len(o.audit("login.email_code_failed"))
			a := o.agent()
			ch := a.toLogin(rpURL(rp))
			a.askEmailLink(ch, o.email)
			m := mc.next(t, o.email, kindMagicLink)
			code := m.code(t)
			_, saved, _ := pageForm(a.page, "email-code-form")
			for left := 4; left >= 1; left-- {
				wantStatus(t, a.enterCode(wrongCode(code)), http.StatusBadRequest, a.page)
				if !strings.Contains(a.page, "Tries left: "+string(rune('0'+left))) {
					t.Fatalf("after a wrong code:\n%s", a.page)
				}
			}
			wantStatus(t, a.enterCode(wrongCode(code)), http.StatusBadRequest, a.page)
			if !strings.Contains(a.page, "too many wrong tries") {
				t.Fatalf("fifth wrong code:\n%s", a.page)
			}
			saved.Set("code", code) // the sixth try, right this time
			wantStatus(t, a.do(http.MethodPost, flowURL("/login/email/code", ch), saved), http.StatusBadRequest, a.page)
			wantStatus(t, a.get(m.link(t)), http.StatusBadRequest, a.page)
			if f := o.flow(ch); f.State != storage.FlowCreated {
				t.Fatalf("flow %s", f.State)
			}
			if n := len(o.audit("login.email_code_failed")) - failedBefore; n != 6 {
				t.Fatalf("%d failed codes audited, want 6", n)
			}
		})

		// One factor: a flow that demands mfa goes on to the second step.
		t.Run("LinkAloneDoesNotMeetMFA", func(t *testing.T) {
			a := o.agent()
			authURL, _, _, _ := rp.authURL(oauth2.SetAuthURLParam("acr_values", login.ACRMFA))
			ch := a.toLogin(authURL)
			a.askEmailLink(ch, o.email)
			res := a.get(mc.next(t, o.email, kindMagicLink).link(t))
			wantStatus(t, res, http.StatusSeeOther, a.page)
			if loc := res.Header.Get("Location"); !strings.HasPrefix(loc, login.FactorPath) {
				t.Fatalf("a magic link met acr mfa: to %q", loc)
			}
			if f := o.flow(ch); f.State != storage.FlowCreated {
				t.Fatalf("flow %s", f.State)
			}
		})

		t.Run("UnknownAddressGetsTheSamePageAndNoMail", func(t *testing.T) {
			a := o.agent()
			ch := a.toLogin(rpURL(rp))
			before := mc.count(kindMagicLink)
			wantStatus(t, a.askEmailLink(ch, "nobody@example.com"), http.StatusOK, a.page)
			if !strings.Contains(a.page, `id="email-code-form"`) {
				t.Fatalf("unknown address page:\n%s", a.page)
			}
			wantStatus(t, a.enterCode("12345678"), http.StatusBadRequest, a.page)
			// A known address's message arrives next: none went to nobody@.
			b := o.agent()
			b.askEmailLink(b.toLogin(rpURL(rp)), o.email)
			if m := mc.next(t, o.email, kindMagicLink); m.To != o.email || mc.count(kindMagicLink) != before+1 {
				t.Fatalf("messages: %d more, last to %s", mc.count(kindMagicLink)-before, m.To)
			}
		})
	})
}

// Expiry on the store's clock: a link lives 15 minutes.
func TestEmailLinkExpires(t *testing.T) {
	mc := newMailCatcher(t)
	clock := storagetest.NewClockAt(time.Now())
	s := newInteractionServer(t, serverOptions{config: mc.configure, now: clock.Now})
	s.user("ana@example.com", false)
	first, second := s.browser(), s.browser()
	var links [2]string
	for i, b := range []*browser{first, second} {
		b.get(oidc.LoginPath)
		wantStatus(t, b.askEmailLink("", "ana@example.com"), http.StatusOK, b.page)
		links[i] = mc.next(t, "ana@example.com", kindMagicLink).link(t)
	}
	clock.Advance(14 * time.Minute)
	res := first.get(links[0])
	wantStatus(t, res, http.StatusSeeOther, first.page)
	if loc := res.Header.Get("Location"); loc != login.AccountPath {
		t.Fatalf("a link without a flow goes to %q", loc)
	}
	clock.Advance(2 * time.Minute)
	wantStatus(t, second.get(links[1]), http.StatusBadRequest, second.page)
	if !strings.Contains(second.page, "expired") {
		t.Fatalf("expired link page:\n%s", second.page)
	}
	// Malformed and unknown tokens are the same clear 400.
	for _, bad := range []string{"x", strings.Repeat("A", 43), "%00", strings.Repeat("é", 43)} {
		wantStatus(t, second.get(login.EmailLinkPath+"?token="+url.QueryEscape(bad)), http.StatusBadRequest, second.page)
	}
}

func TestEmailSendLimits(t *testing.T) {
	for _, b := range storagetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			mc := newMailCatcher(t)
			s := newInteractionServer(t, serverOptions{backend: b, hot: redisHot(t, b), config: func(c *Config) {
				mc.configure(c)
				c.Login.EmailSendLimit, c.Login.EmailIPSendLimit = 2, 4
			}})
			s.user("ana@example.com", false)
			br := s.browser()
			br.get(oidc.LoginPath)
			send := func(email string, want int) {
				t.Helper()
				br.get(oidc.LoginPath)
				res := br.askEmailLink("", email)
				wantStatus(t, res, want, br.page)
				if want == http.StatusTooManyRequests && (res.Header.Get("Retry-After") == "" || !strings.Contains(br.page, `id="form-error"`)) {
					t.Fatalf("429 without Retry-After or message: %v\n%s", res.Header, br.page)
				}
			}
			// Per address (counted for an unknown address too).
			send("ana@example.com", http.StatusOK)
			send("ANA@example.com ", http.StatusOK)
			send("ana@example.com", http.StatusTooManyRequests)
			// The reset form shares the address's count.
			br.get(login.ResetPath)
			wantStatus(t, br.submit(login.ResetPath, url.Values{"email": {"ana@example.com"}}), http.StatusTooManyRequests, br.page)
			// Per IP: the fifth message caused from this address is refused.
			send("bob@example.com", http.StatusTooManyRequests)
			for range 2 {
				mc.next(t, "ana@example.com", kindMagicLink)
			}
			if n, sent := mc.count(""), len(s.audit("login.email_sent")); n != 2 || sent != 2 {
				t.Fatalf("%d messages delivered and %d sends audited, want 2", n, sent)
			}
		})
	}
}

// redisHot is the hot state newOP gives backend b: Redis with PostgreSQL
// when JANUA_TEST_REDIS_ADDR is set, else memory (nil).
func redisHot(t *testing.T, b storagetest.Backend) storage.HotState {
	t.Helper()
	if b.Name == "sqlite" {
		return nil
	}
	addr := storagetest.RedisAddr(t)
	if addr == "" {
		return nil
	}
	h, err := storage.NewRedisHotState(t.Context(), storage.RedisHotStateOptions{URL: addr, Prefix: "janua-email-" + randomID(6) + ":"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close() })
	return h
}

// rpURL is a fresh authorization request of rp.
func rpURL(rp *goRP) string {
	u, _, _, _ := rp.authURL()
	return u
}

// A user with a second factor goes on to it after the link: the ID token
// then says mfa (the mailbox and the authenticator app are two factors).
func TestEmailLinkThenSecondFactor(t *testing.T) {
	eachMailBackend(t, nil, func(t *testing.T, o *op, mc *mailCatcher) {
		c := o.register(t, oidc.ClientSpec{FirstParty: true})
		rp := o.goRP(t, c)
		m := newMFA(t)
		first := o.agent()
		rp.login(first)
		m.enrolTOTP(t, first)

		a := o.agent()
		authURL, _, nonce, verifier := rp.authURL()
		a.askEmailLink(a.toLogin(authURL), o.email)
		resp := a.navigate(http.MethodGet, mc.next(t, o.email, kindMagicLink).link(t), nil, c.Redirect)
		if _, _, ok := pageForm(resp.Page, "totp-form"); !ok {
			t.Fatalf("after the link of a user with an authenticator app: %d\n%.800s", resp.Status, resp.Page)
		}
		resp = m.run(a, resp, c.Redirect)
		s := rp.exchange(resp.Get("code"), nonce, verifier)
		if amr, _ := s.Claims["amr"].([]any); !slices.Equal(amr, []any{"otp", "mfa"}) || s.Claims["acr"] != login.ACRMFA {
			t.Fatalf("amr %v acr %v, want [otp mfa] and mfa", s.Claims["amr"], s.Claims["acr"])
		}
	})
}
