package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/madfam-org/janua/login"
	"github.com/madfam-org/janua/oidc"
	"github.com/madfam-org/janua/storage"
	"github.com/madfam-org/janua/storage/storagetest"
)

// sessionCookie returns the session cookie a response set, or nil.
func sessionCookie(res *http.Response) *http.Cookie {
	for _, c := range res.Cookies() {
		if c.Name == login.SessionCookie {
			return c
		}
	}
	return nil
}

func hashHex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func TestSignInHandsTheFlowBack(t *testing.T) {
	for _, b := range storagetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			s := newInteractionServer(t, serverOptions{backend: b})
			s.client("app", "Example App", false)
			u := s.user("ana@example.com", false)
			br := s.browser()
			ch := br.startFlow("app", url.Values{"scope": {"openid email"}, "login_hint": {"ana@example.com"}})
			for _, want := range []string{`id="client-name">Example App</strong>`, `id="email" name="email" value="ana@example.com"`,
				`id="password"`, `id="submit"`, `id="cancel"`, `id="remember"`, `name="csrf_token"`} {
				if !strings.Contains(br.page, want) {
					t.Errorf("sign-in page lacks %s", want)
				}
			}
			// The password field has the focus when the hint filled the email.
			if !regexp.MustCompile(`id="password"[^>]*autofocus`).MatchString(br.page) {
				t.Error("password field not focused after a login_hint")
			}

			before := time.Now().Truncate(time.Second)
			res := br.signIn(ch, "  ANA@example.com ", testPassword, false)
			after := time.Now()
			if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != oidc.ResumePath+"?flow="+url.QueryEscape(ch) {
				t.Fatalf("sign-in: %d to %q\n%s", res.StatusCode, res.Header.Get("Location"), br.page)
			}
			if res.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("redirect Cache-Control %q", res.Header.Get("Cache-Control"))
			}
			ck := sessionCookie(res)
			if ck == nil || len(ck.Value) != 43 || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" ||
				ck.MaxAge != 0 || !ck.Expires.IsZero() || ck.Domain != "" || ck.Secure {
				t.Fatalf("session cookie %+v: want a 256-bit HttpOnly, SameSite=Lax browser-session cookie", ck)
			}
			f := s.flow(ch)
			if f.State != storage.FlowAuthenticated || f.Subject != u.ID || f.SessionID == "" || !slices.Equal(f.AMR, []string{"pwd"}) ||
				f.ACR != login.ACRPassword || f.AuthTime == nil || f.AuthTime.Before(before) || f.AuthTime.After(after) ||
				!f.AuthTime.Equal(f.AuthTime.Truncate(time.Second)) {
				t.Fatalf("flow after sign-in: %+v", f)
			}
			// The database keeps the cookie's SHA-256, and a separate public sid.
			bs, err := s.store.GetBrowserSession(ctx, hashHex(ck.Value))
			if err != nil {
				t.Fatal(err)
			}
			if bs.SID != f.SessionID || bs.SID == ck.Value || bs.UserID != u.ID || bs.Remember ||
				bs.IdleExpiresAt.Sub(after) > 30*time.Minute || bs.IdleExpiresAt.Sub(before) < 29*time.Minute ||
				bs.ExpiresAt.Sub(before) < 11*time.Hour || bs.ExpiresAt.Sub(after) > 12*time.Hour {
				t.Fatalf("session row %+v", bs)
			}
			evs := s.audit("login.succeeded")
			if len(evs) != 1 || evs[0].Subject != u.ID || evs[0].ClientID != "app" || evs[0].Details["sid"] != f.SessionID ||
				evs[0].IP == "" || evs[0].RequestID == "" {
				t.Fatalf("audit %+v", evs)
			}

			// "Keep me signed in": a persistent cookie and a 30-day session.
			br2 := s.browser()
			ch2 := br2.startFlow("app", nil)
			res = br2.signIn(ch2, "ana@example.com", testPassword, true)
			ck = sessionCookie(res)
			if res.StatusCode != http.StatusSeeOther || ck == nil || ck.MaxAge != int((30*24*time.Hour)/time.Second) {
				t.Fatalf("remembered sign-in: %d, cookie %+v", res.StatusCode, ck)
			}
			bs, err = s.store.GetBrowserSession(ctx, hashHex(ck.Value))
			if err != nil || !bs.Remember || time.Until(bs.ExpiresAt) < 29*24*time.Hour || !bs.IdleExpiresAt.Equal(bs.ExpiresAt) {
				t.Fatalf("remembered session %+v %v", bs, err)
			}
		})
	}
}

// requestID removes what differs between two otherwise identical answers.
var requestIDs = regexp.MustCompile(`[0-9a-f]{24}`)

// Wrong password, unknown email, disabled account: one status, one message,
// one page (nothing tells which it was).
func TestSignInFailuresLookAlike(t *testing.T) {
	s := newInteractionServer(t, serverOptions{})
	s.client("app", "Example App", false)
	known := s.user("known@example.com", false)
	off := s.user("off@example.com", true)
	br := s.browser()
	var pages []string
	for _, tc := range []struct{ email, password, reason, subject string }{
		{"known@example.com", "wrong password, long enough", "bad_password", known.ID},
		{"nobody@example.com", "wrong password, long enough", "unknown_user", ""},
		{"off@example.com", testPassword, "disabled", off.ID},
	} {
		ch := br.startFlow("app", nil)
		res := br.signIn(ch, tc.email, tc.password, false)
		if res.StatusCode != http.StatusBadRequest || !strings.Contains(br.page, `role="alert" id="form-error">The email or password is incorrect.</p>`) ||
			sessionCookie(res) != nil || s.flow(ch).State != storage.FlowCreated {
			t.Fatalf("%s: %d\n%s", tc.email, res.StatusCode, br.page)
		}
		page := strings.ReplaceAll(strings.ReplaceAll(br.page, url.QueryEscape(ch), "CHALLENGE"), tc.email, "EMAIL")
		pages = append(pages, requestIDs.ReplaceAllString(page, "ID"))
		ev := s.audit("login.failed")[0]
		if ev.Details["reason"] != tc.reason || ev.Subject != tc.subject || ev.Outcome != storage.AuditFailure {
			t.Errorf("%s: audit %+v", tc.email, ev)
		}
	}
	if pages[0] != pages[1] || pages[1] != pages[2] {
		t.Fatalf("failure pages differ:\n%s\n---\n%s\n---\n%s", pages[0], pages[1], pages[2])
	}
	for _, ev := range s.audit("login.failed") {
		if strings.Contains(ev.UserAgent+ev.Actor+ev.Subject, "wrong password") || ev.Details["password"] != nil {
			t.Fatalf("a password reached the audit log: %+v", ev)
		}
	}
}

// Missing CSRF token, another browser, an unknown, expired or used flow, a
// malformed form: each a clear 4xx page, never a 500, and the flow never
// advances.
func TestSignInRefusals(t *testing.T) {
	for _, b := range storagetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			s := newInteractionServer(t, serverOptions{backend: b})
			s.client("app", "Example App", false)
			s.user("ana@example.com", false)
			br := s.browser()
			ch := br.startFlow("app", nil)
			good := url.Values{"email": {"ana@example.com"}, "password": {testPassword}, "action": {"login"}}

			// No CSRF token: 403, flow untouched.
			if res := br.do(http.MethodPost, flowURL(oidc.LoginPath, ch), good); res.StatusCode != http.StatusForbidden ||
				!strings.Contains(br.page, "This form has expired") {
				t.Fatalf("post without a token: %d\n%s", res.StatusCode, br.page)
			}
			// Another browser cannot see or advance the flow, with its own valid token.
			other := s.browser()
			other.identity()
			if res := other.get(flowURL(oidc.LoginPath, ch)); res.StatusCode != http.StatusForbidden || !strings.Contains(other.page, "started in another browser") {
				t.Fatalf("another browser's GET: %d\n%s", res.StatusCode, other.page)
			}
			other.get(oidc.LoginPath)
			if res := other.submit(flowURL(oidc.LoginPath, ch), good); res.StatusCode != http.StatusForbidden || sessionCookie(res) != nil {
				t.Fatalf("another browser's POST: %d", res.StatusCode)
			}
			if f := s.flow(ch); f.State != storage.FlowCreated {
				t.Fatalf("refused requests advanced the flow: %+v", f)
			}

			// Unknown, over-long, expired and used flows.
			expired, id := storage.NewFlowChallenge()
			if err := s.store.CreateFlow(context.Background(), &storage.Flow{ID: id, ClientID: "app", Browser: hashHex(br.identity()),
				ExpiresAt: time.Now().Add(-time.Second)}); err != nil {
				t.Fatal(err)
			}
			used := br.startFlow("app", nil)
			br.submit(flowURL(oidc.LoginPath, used), url.Values{"action": {"cancel"}})
			for name, path := range map[string]string{
				"unknown":   flowURL(oidc.LoginPath, "no-such-flow"),
				"over-long": flowURL(oidc.LoginPath, strings.Repeat("x", 5000)),
				"expired":   flowURL(oidc.LoginPath, expired),
				"used":      flowURL(oidc.LoginPath, used),
				"signup":    flowURL(login.SignupPath, used),
			} {
				if res := br.get(path); res.StatusCode != http.StatusBadRequest || !strings.Contains(br.page, "expired or was already used") {
					t.Errorf("%s flow: %d\n%s", name, res.StatusCode, br.page)
				}
			}
			// API clients get JSON, not a page.
			br.header.Set("Accept", "application/json")
			if res := br.get(flowURL(oidc.LoginPath, "no-such-flow")); res.StatusCode != 400 || !strings.Contains(br.page, `"error":"invalid_flow"`) {
				t.Errorf("JSON error: %d %s", res.StatusCode, br.page)
			}
			br.header.Set("Accept", "text/html")

			// Malformed input is a 400, never a 500 (PostgreSQL refuses NUL and bad UTF-8).
			br.get(flowURL(oidc.LoginPath, ch))
			for name, form := range map[string]url.Values{
				"empty":        {"action": {"login"}},
				"no password":  {"email": {"ana@example.com"}},
				"nul":          {"email": {"ana\x00@example.com"}, "password": {"x\x00y"}},
				"bad utf-8":    {"email": {"\xff\xfe@example.com"}, "password": {"\xff"}},
				"huge":         {"email": {strings.Repeat("a", 10000) + "@example.com"}, "password": {strings.Repeat("p", 5000)}},
				"bad action":   {"action": {"explode"}, "email": {"ana@example.com"}, "password": {"nope nope nope"}},
				"array fields": {"email": {"a@example.com", "b@example.com"}, "password": {"1", "2"}},
			} {
				res := br.submit(flowURL(oidc.LoginPath, ch), form)
				if res.StatusCode != http.StatusBadRequest {
					t.Errorf("%s: %d\n%s", name, res.StatusCode, br.page)
				}
			}
		})
	}
}

// Cancel rejects the flow with access_denied and goes back to oidc.
func TestSignInCancel(t *testing.T) {
	s := newInteractionServer(t, serverOptions{})
	s.client("app", "Example App", false)
	br := s.browser()
	ch := br.startFlow("app", nil)
	res := br.submit(flowURL(oidc.LoginPath, ch), url.Values{"action": {"cancel"}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != flowURL(oidc.ResumePath, ch) || sessionCookie(res) != nil {
		t.Fatalf("cancel: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	if f := s.flow(ch); f.State != storage.FlowRejected || f.Error != "access_denied" || f.Subject != "" {
		t.Fatalf("flow after cancel: %+v", f)
	}
	if len(s.audit("login.cancelled")) != 1 {
		t.Fatal("no audit event for the cancel")
	}
	// Cancelling twice is refused: the flow is spent.
	br.get(oidc.LoginPath)
	if res := br.submit(flowURL(oidc.LoginPath, ch), url.Values{"action": {"cancel"}}); res.StatusCode != http.StatusBadRequest {
		t.Fatalf("second cancel: %d", res.StatusCode)
	}
}

// ui_locales (OIDC Core §3.1.2.1) picks the language, then Accept-Language.
func TestSignInSpeaksTheUsersLanguage(t *testing.T) {
	s := newInteractionServer(t, serverOptions{})
	s.client("app", "Example App", false)
	br := s.browser()
	ch := br.startFlow("app", url.Values{"ui_locales": {"es-MX en"}})
	if !strings.Contains(br.page, `<html lang="es">`) || !strings.Contains(br.page, "Contraseña") || !strings.Contains(br.page, "para continuar en") {
		t.Fatalf("ui_locales=es-MX page:\n%s", br.page)
	}
	br.signIn(ch, "nobody@example.com", "wrong password, long enough", false)
	if !strings.Contains(br.page, "El correo electrónico o la contraseña no son correctos.") {
		t.Fatalf("Spanish failure:\n%s", br.page)
	}
	br.header.Set("Accept-Language", "es-ES,es;q=0.9")
	br.get(oidc.LoginPath)
	if !strings.Contains(br.page, `<html lang="es">`) {
		t.Fatal("Accept-Language: es ignored")
	}
	br.startFlow("app", url.Values{"ui_locales": {"en"}})
	if !strings.Contains(br.page, `<html lang="en">`) {
		t.Fatal("ui_locales=en did not win over Accept-Language: es")
	}
	other := s.browser()
	other.header.Set("Accept-Language", "es")
	if res := other.get(flowURL(oidc.LoginPath, ch)); res.StatusCode != 403 || !strings.Contains(other.page, "Este inicio de sesión empezó en otro navegador") {
		t.Fatalf("Spanish error page: %d\n%s", res.StatusCode, other.page)
	}
}

// Signing in again (prompt=login, max_age) replaces the session with a
// fresh token, sid and auth_time; signing in as someone else replaces it too.
func TestSignInAgainReplacesTheSession(t *testing.T) {
	ctx := context.Background()
	s := newInteractionServer(t, serverOptions{})
	s.client("app", "Example App", false)
	ana := s.user("ana@example.com", false)
	bob := s.user("bob@example.com", false)
	br := s.browser()
	ch1 := br.startFlow("app", nil)
	res := br.signIn(ch1, "ana@example.com", testPassword, false)
	first := sessionCookie(res).Value
	time.Sleep(1100 * time.Millisecond) // auth_time has whole seconds

	ch2 := br.startFlow("app", url.Values{"prompt": {"login"}})
	second := sessionCookie(br.signIn(ch2, "ana@example.com", testPassword, false)).Value
	f1, f2 := s.flow(ch1), s.flow(ch2)
	if second == first || f2.SessionID == f1.SessionID || !f2.AuthTime.After(*f1.AuthTime) || f2.Subject != ana.ID {
		t.Fatalf("re-authentication: %+v after %+v", f2, f1)
	}
	if _, err := s.store.GetBrowserSession(ctx, hashHex(first)); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("the replaced session is still live: %v", err)
	}
	ch3 := br.startFlow("app", nil)
	third := sessionCookie(br.signIn(ch3, "bob@example.com", testPassword, false)).Value
	if f3 := s.flow(ch3); f3.Subject != bob.ID {
		t.Fatalf("switching user: %+v", f3)
	}
	if _, err := s.store.GetBrowserSession(ctx, hashHex(second)); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("the other user's session is still live: %v", err)
	}
	if bs, err := s.store.GetBrowserSession(ctx, hashHex(third)); err != nil || bs.UserID != bob.ID {
		t.Fatalf("new session: %+v %v", bs, err)
	}
	if ev := s.audit("login.succeeded")[0]; ev.Details["replaced_sid"] != f2.SessionID {
		t.Fatalf("audit does not name the replaced session: %+v", ev.Details)
	}
}

// A hash made with other argon2 parameters (or imported bcrypt) is replaced
// by one with the current parameters at sign-in.
func TestSignInRehashes(t *testing.T) {
	ctx := context.Background()
	s := newInteractionServer(t, serverOptions{})
	u := s.user("ana@example.com", false)
	old := login.NewPasswords(login.Argon2Params{MemoryKiB: 8192, Iterations: 2, Parallelism: 1}, login.HashLimits{Concurrent: 1})
	h, _ := old.Hash(ctx, testPassword)
	if err := s.store.SetPasswordHash(ctx, u.ID, h); err != nil {
		t.Fatal(err)
	}
	br := s.browser()
	br.get(oidc.LoginPath)
	if res := br.signIn("", "ana@example.com", testPassword, false); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != login.AccountPath {
		t.Fatalf("sign-in without a flow: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	got, _ := s.store.GetPasswordHash(ctx, u.ID)
	if !strings.HasPrefix(got, "$argon2id$v=19$m=8192,t=1,p=1$") {
		t.Fatalf("hash not upgraded: %s", got)
	}
}

// Five failures lock an account — known or not — for 15 minutes; the IP
// limit answers 429 too. Both with Retry-After, on every hot-state backend.
func TestLockoutAndRateLimit(t *testing.T) {
	for _, name := range []string{"memory", "redis"} {
		t.Run(name, func(t *testing.T) {
			// newHot returns fresh hot state (nil: the server's own memory).
			newHot := func() storage.HotState { return nil }
			if name == "redis" {
				addr := storagetest.RedisAddr(t)
				newHot = func() storage.HotState {
					h, err := storage.NewRedisHotState(context.Background(), storage.RedisHotStateOptions{URL: addr,
						Prefix: "janua-test-" + strconv.FormatInt(time.Now().UnixNano(), 36) + ":"})
					if err != nil {
						t.Fatal(err)
					}
					t.Cleanup(func() { _ = h.Close() })
					return h
				}
			}
			s := newInteractionServer(t, serverOptions{hot: newHot()})
			s.client("app", "Example App", false)
			s.user("ana@example.com", false)
			s.user("bob@example.com", false)
			br := s.browser()
			ch := br.startFlow("app", nil)
			var retry []string
			for _, email := range []string{"ana@example.com", "ghost@example.com"} {
				for i := range 5 {
					if res := br.signIn(ch, email, "wrong password, long enough", false); res.StatusCode != http.StatusBadRequest {
						t.Fatalf("%s failure %d: %d", email, i+1, res.StatusCode)
					}
				}
				// Locked: even the right password is refused, with Retry-After.
				res := br.signIn(ch, email, testPassword, false)
				ra, _ := strconv.Atoi(res.Header.Get("Retry-After"))
				if res.StatusCode != http.StatusTooManyRequests || ra < 890 || ra > 900 || !strings.Contains(br.page, "Wait 15 minutes") {
					t.Fatalf("%s locked: %d Retry-After %q\n%s", email, res.StatusCode, res.Header.Get("Retry-After"), br.page)
				}
				retry = append(retry, requestIDs.ReplaceAllString(strings.ReplaceAll(br.page, email, "EMAIL"), "ID"))
			}
			if retry[0] != retry[1] {
				t.Fatal("the lockout of a known and of an unknown account differ")
			}
			if n := len(s.audit("login.locked")); n != 2 {
				t.Fatalf("%d lockout events, want 2", n)
			}
			// Another account is not affected.
			if res := br.signIn(ch, "bob@example.com", testPassword, false); res.StatusCode != http.StatusSeeOther {
				t.Fatalf("bob: %d", res.StatusCode)
			}

			// The per-IP limit, on sign-in and sign-up alike.
			lim := newInteractionServer(t, serverOptions{hot: newHot(), config: func(c *Config) { c.Login.IPRateLimit = 3 }})
			b2 := lim.browser()
			b2.get(oidc.LoginPath)
			for i := range 3 {
				if res := b2.signIn("", "x@example.com", "wrong password, long enough", false); res.StatusCode != http.StatusBadRequest {
					t.Fatalf("attempt %d: %d", i+1, res.StatusCode)
				}
			}
			res := b2.signIn("", "x@example.com", "wrong password, long enough", false)
			ra, _ := strconv.Atoi(res.Header.Get("Retry-After"))
			if res.StatusCode != http.StatusTooManyRequests || ra < 1 || ra > 120 || !strings.Contains(b2.page, "Too many attempts") { // a sliding window waits up to two
				t.Fatalf("over the IP limit: %d Retry-After %q", res.StatusCode, res.Header.Get("Retry-After"))
			}
			b2.get(login.SignupPath)
			for range 3 {
				b2.submit(login.SignupPath, url.Values{"email": {"not an email"}})
			}
			if res := b2.submit(login.SignupPath, url.Values{"email": {"not an email"}}); res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" {
				t.Fatalf("sign-up over the IP limit: %d", res.StatusCode)
			}
		})
	}
}

// An unknown email costs what a known one with a wrong password does
// (OWASP Authentication Cheat Sheet, "Authentication Responses"): attempts
// are made in back-to-back pairs, alternating which goes first, and the
// median of the pairs' relative difference must stay within 20 %, at
// production argon2 cost so the hash dominates as it does in production. A
// real leak is systematic; a run disturbed by other test processes on the
// machine is measured again, up to three times.
func TestSignInTimingDoesNotRevealAccounts(t *testing.T) {
	if testing.Short() {
		t.Skip("timing comparison")
	}
	s := newInteractionServer(t, serverOptions{config: func(c *Config) {
		c.Passwords.Argon2 = Argon2Config{MemoryKiB: 19 * 1024, Iterations: 2, Parallelism: 1, MaxConcurrent: 1, MaxWait: time.Minute}
		c.Login.LockoutFailures = 0
	}})
	s.client("app", "Example App", false)
	s.user("known@example.com", false)
	br := s.browser()
	ch := br.startFlow("app", nil)
	token := br.csrf()
	attempt := func(email string) time.Duration {
		form := url.Values{"email": {email}, "password": {"wrong password, long enough"}, "csrf_token": {token}}
		start := time.Now()
		if res := br.do(http.MethodPost, flowURL(oidc.LoginPath, ch), form); res.StatusCode != http.StatusBadRequest {
			t.Fatalf("%s: %d", email, res.StatusCode)
		}
		return time.Since(start)
	}
	attempt("warm@example.com")
	const rounds = 15
	var rel float64
	for try := 1; try <= 3; try++ {
		diffs := make([]float64, rounds)
		var known, unknown []time.Duration
		for i := range rounds {
			var k, u time.Duration
			if i%2 == 0 {
				k, u = attempt("known@example.com"), attempt("nobody"+strconv.Itoa(i)+"@example.com")
			} else {
				u, k = attempt("nobody"+strconv.Itoa(i)+"@example.com"), attempt("known@example.com")
			}
			known, unknown = append(known, k), append(unknown, u)
			diffs[i] = float64(k-u) / float64(max(k, u))
		}
		slices.Sort(diffs)
		slices.Sort(known)
		slices.Sort(unknown)
		rel = diffs[rounds/2]
		t.Logf("try %d: median known-user failure %v, unknown-user failure %v; median pair difference %.1f %%",
			try, known[rounds/2], unknown[rounds/2], 100*rel)
		if rel <= 0.2 && rel >= -0.2 {
			return
		}
	}
	t.Fatalf("a known and an unknown email take measurably different times: %.0f %% in three runs", 100*rel)
}
