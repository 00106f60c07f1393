package web_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/madfam-org/janua/templates"
	"github.com/madfam-org/janua/web"
)

// csrfEcho serves GET /form (rendering the token) and POST /form behind the
// CSRF middleware of key.
func csrfEcho(t *testing.T, key string) *echo.Echo {
	t.Helper()
	e, _ := newEcho(t, nil)
	x := web.NewCSRF(web.CSRFOptions{Key: []byte(key), Cookies: web.Cookies{}})
	e.GET("/form", func(c echo.Context) error { return c.String(200, web.CSRFToken(c)) }, x.Middleware())
	e.POST("/form", func(c echo.Context) error { return c.NoContent(204) }, x.Middleware(), web.NoStore)
	return e
}

func post(e *echo.Echo, form url.Values, hdr map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/form", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	return rec
}

func TestCSRFTokenIsBoundToTheBrowserAndTheKey(t *testing.T) {
	const key = "0123456789abcdef0123456789abcdef"
	e := csrfEcho(t, key)
	// The first page gives the browser its cookie and a token bound to it.
	rec := do(e, "GET", "/form", nil, "")
	token := rec.Body.String()
	set := rec.Header().Get("Set-Cookie")
	if len(token) != 43 || !strings.HasPrefix(set, "janua-browser=") {
		t.Fatalf("token %q, cookie %q", token, set)
	}
	cookie := strings.SplitN(set, ";", 2)[0]
	// The same browser gets the same token on its next page.
	if again := do(e, "GET", "/form", map[string]string{"Cookie": cookie}, "").Body.String(); again != token {
		t.Fatalf("token changed between pages: %q then %q", token, again)
	}
	other := "janua-browser=" + strings.Repeat("B", 43)
	for _, tc := range []struct {
		name   string
		form   url.Values
		hdr    map[string]string
		status int
	}{
		{"token and cookie", url.Values{"csrf_token": {token}}, map[string]string{"Cookie": cookie}, 204},
		{"same-origin fetch metadata", url.Values{"csrf_token": {token}}, map[string]string{"Cookie": cookie, "Sec-Fetch-Site": "same-origin"}, 204},
		{"no token", url.Values{}, map[string]string{"Cookie": cookie}, 403},
		{"empty token", url.Values{"csrf_token": {""}}, map[string]string{"Cookie": cookie}, 403},
		{"no cookie", url.Values{"csrf_token": {token}}, nil, 403},
		{"another browser's cookie", url.Values{"csrf_token": {token}}, map[string]string{"Cookie": other}, 403},
		{"token of another browser", url.Values{"csrf_token": {token + "x"}}, map[string]string{"Cookie": cookie}, 403},
		{"cross-site post", url.Values{"csrf_token": {token}}, map[string]string{"Cookie": cookie, "Sec-Fetch-Site": "cross-site"}, 403},
		// A script's JSON request carries the token in a header instead.
		{"header", nil, map[string]string{"Cookie": cookie, "X-CSRF-Token": token, "Content-Type": "application/json"}, 204},
		{"header of another browser", nil, map[string]string{"Cookie": other, "X-CSRF-Token": token, "Content-Type": "application/json"}, 403},
		{"wrong header, right field", url.Values{"csrf_token": {token}}, map[string]string{"Cookie": cookie, "X-CSRF-Token": "x"}, 403},
		{"empty header, no field", nil, map[string]string{"Cookie": cookie, "X-CSRF-Token": "", "Content-Type": "application/json"}, 403},
		{"cross-site header", nil, map[string]string{"Cookie": cookie, "X-CSRF-Token": token, "Sec-Fetch-Site": "cross-site"}, 403},
	} {
		rec := post(e, tc.form, tc.hdr)
		if rec.Code != tc.status {
			t.Errorf("%s: %d, want %d (%s)", tc.name, rec.Code, tc.status, rec.Body.String())
		}
		if rec.Header().Get("Cache-Control") != "no-store" && rec.Code == 204 {
			t.Errorf("%s: NoStore did not mark the response", tc.name)
		}
	}
	// Another deployment (another key) does not accept this one's tokens.
	if rec := post(csrfEcho(t, "another key, another deployment!!"), url.Values{"csrf_token": {token}}, map[string]string{"Cookie": cookie}); rec.Code != 403 {
		t.Fatalf("token accepted under another key: %d", rec.Code)
	}
	// Another instance with the same key accepts it.
	if rec := post(csrfEcho(t, key), url.Values{"csrf_token": {token}}, map[string]string{"Cookie": cookie}); rec.Code != 204 {
		t.Fatalf("token refused by a second instance with the same key: %d", rec.Code)
	}
}

func TestCSRFRejectHookAndRender(t *testing.T) {
	set, err := templates.New(templates.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e, _ := newEcho(t, nil)
	x := web.NewCSRF(web.CSRFOptions{Key: []byte("k"), Reject: func(c echo.Context) error {
		return &web.Error{Status: http.StatusForbidden, Code: "csrf_failed", Message: "custom refusal"}
	}})
	e.GET("/page", func(c echo.Context) error {
		return web.Render(c, set, http.StatusOK, "account", templates.Page{Title: "T", Data: map[string]string{"Email": "a@example.com", "SignOutAction": "/out"}})
	}, x.Middleware())
	e.POST("/form", func(c echo.Context) error { return c.NoContent(204) }, x.Middleware())
	rec := do(e, "GET", "/page", nil, "")
	body := rec.Body.String()
	if rec.Code != 200 || rec.Header().Get("Cache-Control") != "no-store" || !strings.Contains(body, `name="csrf_token" value="`) ||
		!strings.Contains(body, rec.Header().Get("X-Request-Id")) {
		t.Fatalf("render: %d %v\n%s", rec.Code, rec.Header(), body)
	}
	if rec := post(e, url.Values{}, nil); rec.Code != 403 || !strings.Contains(rec.Body.String(), "custom refusal") {
		t.Fatalf("reject hook: %d %s", rec.Code, rec.Body.String())
	}
}

// A script's JSON request passes on the header alone, and its body reaches
// the handler untouched.
func TestCSRFHeaderLeavesAJSONBodyIntact(t *testing.T) {
	e, _ := newEcho(t, nil)
	x := web.NewCSRF(web.CSRFOptions{Key: []byte("0123456789abcdef0123456789abcdef"), Cookies: web.Cookies{}})
	e.GET("/form", func(c echo.Context) error { return c.String(200, web.CSRFToken(c)) }, x.Middleware())
	e.POST("/json", func(c echo.Context) error {
		var body map[string]string
		if err := c.Bind(&body); err != nil {
			return err
		}
		return c.String(200, body["ceremony"])
	}, x.Middleware())
	rec := do(e, "GET", "/form", nil, "")
	token, cookie := rec.Body.String(), strings.SplitN(rec.Header().Get("Set-Cookie"), ";", 2)[0]
	for _, tc := range []struct {
		name   string
		hdr    string
		status int
	}{{"token", token, 200}, {"no token", "", 403}, {"wrong token", token[:40] + "xyz", 403}} {
		req := httptest.NewRequest(http.MethodPost, "/json", strings.NewReader(`{"ceremony":"c-1"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Cookie", cookie)
		if tc.hdr != "" {
			req.Header.Set(web.CSRFHeader, tc.hdr)
		}
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		if rec.Code != tc.status || (tc.status == 200 && rec.Body.String() != "c-1") {
			t.Errorf("%s: %d %q", tc.name, rec.Code, rec.Body.String())
		}
	}
}
