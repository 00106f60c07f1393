package rp

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// cookieRefresh is oauth2-proxy's --cookie-refresh: a session older than
// this is refreshed with its refresh token on the next request. oauth2-proxy
// measures the age from the current time truncated to the second, so a
// session is surely due for a refresh only cookieRefresh + 1 s after it was
// created.
const cookieRefresh = time.Second

// proxyCookie is the name of oauth2-proxy's session cookie (--cookie-name).
const proxyCookie = "_oauth2_proxy"

// TestOAuth2Proxy puts oauth2-proxy v7.15.3, configured with nothing of
// Janua but its issuer URL, in front of a tiny app, and drives it as a
// browser: sign-in through Janua's pages, a refresh, and logout, once for
// each way oauth2-proxy can end the user's session at the OP.
func TestOAuth2Proxy(t *testing.T) {
	requireEnabled(t)
	root := moduleRoot(t)
	januaBin, proxyBin := buildTools(t, root, t.TempDir())

	// The ports are picked first: the client registers its redirect URIs.
	januaPort, rdPort, backendPort := freePort(t), freePort(t), freePort(t)
	rdURL, backendURL := "http://127.0.0.1:"+itoa(rdPort), "http://127.0.0.1:"+itoa(backendPort)
	u := user{email: "buffy@example.com", password: "Mr-Pointy-Stake-1998", name: "Buffy Summers"}
	j, c := startJanua(t, januaBin, januaPort, u,
		[]string{rdURL + "/oauth2/callback", backendURL + "/oauth2/callback"}, []string{rdURL + "/", backendURL + "/"})

	// The upstream app: it echoes what oauth2-proxy tells it about the user.
	var hits atomic.Int64
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(identity{
			User: r.Header.Get("X-Forwarded-User"), Email: r.Header.Get("X-Forwarded-Email"),
			PreferredUsername: r.Header.Get("X-Forwarded-Preferred-Username"),
			AccessToken:       r.Header.Get("X-Forwarded-Access-Token"),
		})
	}))
	t.Cleanup(app.Close)
	rig := &rig{janua: j, client: c, user: u, proxyBin: proxyBin, app: app.URL, hits: &hits}

	t.Run("sign_out through Janua's end_session_endpoint", func(t *testing.T) {
		// oauth2-proxy's documented OP logout: /oauth2/sign_out?rd=<the OP's
		// end_session_endpoint>, its {id_token} placeholder filled from the
		// session, the OP's host on --whitelist-domain.
		px := rig.startProxy(t, rdPort, "--whitelist-domain=127.0.0.1:"+itoa(januaPort))
		b := newBrowser(t)
		id, consented := rig.signIn(t, b, px)
		if !consented {
			t.Fatal("Janua asked no consent of a user who never allowed the client")
		}
		id = rig.refresh(t, b, px, id)

		// /oauth2/sign_out alone ends oauth2-proxy's session only: the next
		// visit goes back through Janua, whose SSO session signs the browser
		// in again without a page. (This is why the OP must be told.)
		h := b.do(http.MethodGet, px.url+"/oauth2/sign_out", nil)
		if !h.redirect() || b.cookie(px.url, proxyCookie) != "" {
			t.Fatalf("sign_out: %s, session cookie still set: %t", h, b.cookie(px.url, proxyCookie) != "")
		}
		hops := b.follow(http.MethodGet, px.url+"/", nil)
		again := rig.appAnswer(t, px, hops)
		if !rig.passed(hops, j.meta.AuthorizationEndpoint) || rig.sawPage(hops) {
			t.Fatalf("after sign_out without rd, want a silent authorization through Janua's SSO session:\n%s", trace(hops))
		}
		if again.Email != id.Email || again.AccessToken == id.AccessToken {
			t.Fatalf("silent sign-in: email %q (want %q), new access token: %t", again.Email, id.Email, again.AccessToken != id.AccessToken)
		}

		// Now the real logout: rd names Janua's end_session_endpoint.
		postLogout := px.url + "/"
		rd := j.meta.EndSessionEndpoint + "?id_token_hint={id_token}&post_logout_redirect_uri=" + url.QueryEscape(postLogout) + "&state=bye"
		h = b.do(http.MethodGet, px.url+"/oauth2/sign_out?rd="+url.QueryEscape(rd), nil)
		loc := h.location()
		if h.Status != http.StatusFound || loc == nil || !is(loc, j.meta.EndSessionEndpoint) {
			t.Fatalf("sign_out?rd=…: %s to %q, want 302 to %s", h, h.Header.Get("Location"), j.meta.EndSessionEndpoint)
		}
		hint := claims(t, loc.Query().Get("id_token_hint"))
		if hint["iss"] != j.issuer || !slices.Contains(audiences(hint["aud"]), c.id) || hint["sid"] == nil {
			t.Fatalf("id_token_hint is not an ID token Janua issued to the client in a session: %v", hint)
		}
		if b.cookie(px.url, proxyCookie) != "" {
			t.Fatal("sign_out left oauth2-proxy's session cookie")
		}
		before := hits.Load()
		if h := b.do(http.MethodGet, px.url+"/", nil); !h.redirect() || hits.Load() != before {
			t.Fatalf("after sign_out the app is still served: %s", h)
		}

		// Janua ends the SSO session and returns to the registered URI.
		h = b.do(http.MethodGet, loc.String(), nil)
		if back := h.location(); !h.redirect() || back == nil || back.String() != postLogout+"?state=bye" {
			t.Fatalf("end_session: %s to %q, want a redirect to %s?state=bye", h, h.Header.Get("Location"), postLogout)
		}
		hops = b.follow(http.MethodGet, h.location().String(), nil)
		rig.wantSignInPage(t, hops)
	})

	t.Run("sign_out with --backend-logout-url", func(t *testing.T) {
		// oauth2-proxy calls the OP from its own server, with the session's
		// ID token and no browser cookie: Janua must end the session the
		// token's sid names.
		px := rig.startProxy(t, backendPort, "--backend-logout-url="+j.meta.EndSessionEndpoint+"?id_token_hint={id_token}")
		b := newBrowser(t)
		id, _ := rig.signIn(t, b, px)
		rig.refresh(t, b, px, id) // logout then uses the refreshed ID token

		calls := j.requests(http.MethodGet, "/oauth2/logout", http.StatusOK)
		h := b.do(http.MethodGet, px.url+"/oauth2/sign_out", nil)
		if !h.redirect() || b.cookie(px.url, proxyCookie) != "" {
			t.Fatalf("sign_out: %s, session cookie still set: %t", h, b.cookie(px.url, proxyCookie) != "")
		}
		if !eventually(func() bool { return j.requests(http.MethodGet, "/oauth2/logout", http.StatusOK) == calls+1 }) {
			t.Fatal("oauth2-proxy did not call Janua's end_session_endpoint, or Janua did not answer 200")
		}
		if log := px.proc.output(); strings.Contains(log, "backend logout") {
			t.Fatalf("oauth2-proxy reports a failed back-end logout:\n%s", tail(log, 2000))
		}
		// The browser still holds Janua's cookie: only the server-side end
		// of the session can make Janua ask for the password again.
		if b.cookie(j.issuer, "janua-session") == "" {
			t.Fatal("the browser has no janua-session cookie: the test proves nothing")
		}
		rig.wantSignInPage(t, b.follow(http.MethodGet, px.url+"/", nil))
	})
}

// rig is what the scenarios share: Janua with its user and client, the
// oauth2-proxy binary and the upstream app.
type rig struct {
	*janua
	client   client
	user     user
	proxyBin string
	app      string
	hits     *atomic.Int64
}

// identity is what the app was told about the user, by oauth2-proxy's headers.
type identity struct {
	User, Email, PreferredUsername, AccessToken string
}

// proxy is one running oauth2-proxy.
type proxy struct {
	url  string
	proc *process
}

// startProxy runs oauth2-proxy on port with Janua's issuer URL and nothing
// else of Janua's: every endpoint comes from discovery.
func (r *rig) startProxy(t *testing.T, port int, extra ...string) *proxy {
	t.Helper()
	base := "http://127.0.0.1:" + itoa(port)
	args := append([]string{
		"--provider=oidc",
		"--oidc-issuer-url=" + r.issuer,
		"--client-id=" + r.client.id,
		"--client-secret=" + r.client.secret,
		"--redirect-url=" + base + "/oauth2/callback",
		"--http-address=127.0.0.1:" + itoa(port),
		"--upstream=" + r.app + "/",
		"--cookie-secret=" + randomHex(16),
		"--cookie-secure=false", // plain http on loopback
		"--cookie-refresh=" + cookieRefresh.String(),
		"--email-domain=*",
		"--scope=openid email profile offline_access",
		"--code-challenge-method=S256",
		"--skip-provider-button",
		"--pass-access-token",
	}, extra...)
	p := &proxy{url: base, proc: startProcess(t, "oauth2-proxy", r.proxyBin, args, cleanEnv())}
	p.proc.waitReady(t, base+"/ping")
	return p
}

// signIn visits the app as a new browser: oauth2-proxy sends it to Janua's
// authorization endpoint (code flow, PKCE S256, the configured scopes),
// Janua shows its sign-in page, then its consent page if the user has not
// yet allowed the client (consented says it did), and the code comes back to
// oauth2-proxy's callback, which lets the browser reach the app.
func (r *rig) signIn(t *testing.T, b *browser, px *proxy) (id identity, consented bool) {
	t.Helper()
	hops := b.follow(http.MethodGet, px.url+"/", nil)
	var authz *hop
	for i := range hops {
		if is(hops[i].URL, r.meta.AuthorizationEndpoint) {
			authz = &hops[i]
			break
		}
	}
	if authz == nil {
		t.Fatalf("the app's first visit never reached Janua's authorization endpoint:\n%s", trace(hops))
	}
	q := authz.URL.Query()
	scope := strings.Fields(q.Get("scope"))
	if q.Get("client_id") != r.client.id || q.Get("response_type") != "code" || q.Get("redirect_uri") != px.url+"/oauth2/callback" ||
		q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("state") == "" ||
		!slices.Contains(scope, "openid") || !slices.Contains(scope, "offline_access") {
		t.Fatalf("authorization request: %s", authz.URL.Redacted())
	}

	page := hops[len(hops)-1]
	login, err := formWith(page, "password")
	if !r.owns(page.URL) || err != nil {
		t.Fatalf("want Janua's sign-in page: %v\n%s", err, trace(hops))
	}
	v := login.press("submit")
	v.Set("email", r.user.email)
	v.Set("password", r.user.password)
	hops = b.follow(login.method, login.action.String(), v)

	page = hops[len(hops)-1]
	if consent, err := formWith(page, "#allow"); err == nil && r.owns(page.URL) {
		consented = true
		hops = append(hops, b.follow(consent.method, consent.action.String(), consent.press("allow"))...)
	}
	if !r.passed(hops, px.url+"/oauth2/callback") {
		t.Fatalf("the browser never came back to oauth2-proxy's callback:\n%s", trace(hops))
	}
	return r.appAnswer(t, px, hops), consented
}

// refresh waits until oauth2-proxy's session is older than --cookie-refresh
// and visits the app again: oauth2-proxy must redeem the refresh token at
// Janua's token endpoint before it lets the browser through.
func (r *rig) refresh(t *testing.T, b *browser, px *proxy, before identity) identity {
	t.Helper()
	time.Sleep(cookieRefresh + 1500*time.Millisecond) // the session was created before signIn returned
	// Counted after the wait: Janua's log is written in batches (at most
	// 100 ms apart, web.LogBuffer), so the sign-in's own token request may
	// reach it only after signIn returned.
	tokens := r.requests(http.MethodPost, "/oauth2/token", http.StatusOK)
	after := r.appAnswer(t, px, []hop{b.do(http.MethodGet, px.url+"/", nil)})
	if after.AccessToken == before.AccessToken || after.Email != before.Email {
		t.Fatalf("after --cookie-refresh: access token renewed %t, email %q (want %q)", after.AccessToken != before.AccessToken, after.Email, before.Email)
	}
	if !eventually(func() bool { return r.requests(http.MethodPost, "/oauth2/token", http.StatusOK) == tokens+1 }) {
		t.Fatalf("Janua answered %d token requests with 200 during the refresh, want 1", r.requests(http.MethodPost, "/oauth2/token", http.StatusOK)-tokens)
	}
	log := px.proc.output()
	if !strings.Contains(log, "Refreshing session") || strings.Contains(log, "Unable to refresh session") {
		t.Fatalf("oauth2-proxy's log does not show a successful refresh:\n%s", tail(log, 3000))
	}
	// The refresh_token grant rotated the token family: the new access token
	// is live and the one it replaced is revoked.
	if active, cid := r.introspect(t, r.client, after.AccessToken); !active || cid != r.client.id {
		t.Fatalf("refreshed access token: active %t, client_id %q", active, cid)
	}
	if active, _ := r.introspect(t, r.client, before.AccessToken); active {
		t.Fatal("the access token replaced by the refresh is still active")
	}
	// The refreshed session was saved: the next visit does not refresh again.
	if next := r.appAnswer(t, px, []hop{b.do(http.MethodGet, px.url+"/", nil)}); next.AccessToken != after.AccessToken {
		t.Fatal("oauth2-proxy refreshed again at once: it did not keep the refreshed session")
	}
	return after
}

// appAnswer is the app's answer that ends hops: 200 from the app, through
// oauth2-proxy, with the user's identity in the forwarded headers.
func (r *rig) appAnswer(t *testing.T, px *proxy, hops []hop) identity {
	t.Helper()
	last := hops[len(hops)-1]
	var id identity
	if last.Status != http.StatusOK || !strings.HasPrefix(last.URL.String(), px.url+"/") || json.Unmarshal(last.Body, &id) != nil {
		t.Fatalf("want the app's answer through oauth2-proxy, got:\n%s\n%s", trace(hops), tail(string(last.Body), 1500))
	}
	if id.Email != r.user.email || id.User == "" || id.AccessToken == "" {
		t.Fatalf("the app was told: %+v", id)
	}
	return id
}

// wantSignInPage says hops end at Janua's sign-in page: the SSO session is
// over, and no code went back to oauth2-proxy.
func (r *rig) wantSignInPage(t *testing.T, hops []hop) {
	t.Helper()
	page := hops[len(hops)-1]
	if _, err := formWith(page, "password"); err != nil || !r.owns(page.URL) || !r.passed(hops, r.meta.AuthorizationEndpoint) {
		t.Fatalf("after logout, want a new authorization to show Janua's sign-in page:\n%s", trace(hops))
	}
	for _, h := range hops {
		if strings.HasSuffix(h.URL.Path, "/oauth2/callback") {
			t.Fatalf("Janua signed the browser in silently after logout:\n%s", trace(hops))
		}
	}
}

// passed says one of the hops requested the endpoint.
func (r *rig) passed(hops []hop, endpoint string) bool {
	return slices.ContainsFunc(hops, func(h hop) bool { return is(h.URL, endpoint) })
}

// sawPage says one of the hops was a page of Janua's the user had to answer.
func (r *rig) sawPage(hops []hop) bool {
	return slices.ContainsFunc(hops, func(h hop) bool { return r.owns(h.URL) && h.Status == http.StatusOK })
}

// audiences reads an "aud" claim: a string or an array of strings.
func audiences(v any) []string {
	switch a := v.(type) {
	case string:
		return []string{a}
	case []any:
		var out []string
		for _, x := range a {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}
