package conformance

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"sort"
	"strings"
	"time"
)

// UserAgent plays the browser: a cookie jar, redirects followed one by one, and the
// few things a person does on an OpenID Provider's pages, with no knowledge of the
// OP's markup beyond ordinary HTML forms:
//
//   - a form with a password field is a login form: fill the user name and password;
//   - a form with only hidden fields and no button is submitted by script (the
//     OAuth 2.0 Form Post Response Mode page): submit it;
//   - any other form with a submit button (consent, logout confirmation): press the
//     first button that does not decline;
//   - a page without such a form ends the visit (an error page, a "logged out" page).
//
// A request to the runner's own base URL (the redirect_uri, the
// post_logout_redirect_uri, or an unregistered URI below them) is really sent, to the
// runner's callback server, which echoes what it received so the module can check the
// method, Content-Type and query of a form_post callback (OAuth 2.0 Form Post Response
// Mode §2). A fragment never leaves a browser: the agent reads it from the URL, as the
// suite's callback page does with script.
type UserAgent struct {
	client   *http.Client
	base     *url.URL
	username string
	password string
	opHosts  map[string]bool
	// MaxSteps bounds one visit (requests, redirects and form submissions).
	MaxSteps int
}

// NewUserAgent returns a fresh browser (an empty cookie jar) trusting roots (nil: the
// system roots).
func NewUserAgent(base *url.URL, roots *x509.CertPool, username, password string, opHosts ...string) *UserAgent {
	jar, _ := cookiejar.New(nil)
	hosts := map[string]bool{}
	for _, h := range opHosts {
		hosts[h] = true
	}
	return &UserAgent{
		client: &http.Client{
			Jar:     jar,
			Timeout: 20 * time.Second,
			Transport: &http.Transport{
				TLSClientConfig:     &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
				MaxIdleConnsPerHost: 4,
				IdleConnTimeout:     10 * time.Second,
			},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		base: base, username: username, password: password, opHosts: hosts, MaxSteps: 30,
	}
}

// Page is where a visit stopped when it did not reach the runner.
type Page struct {
	URL         string
	Status      int
	ContentType string
	Title       string
	Body        []byte
	forms       []*form
}

// IsLogin says the page asks for a password.
func (p *Page) IsLogin() bool {
	for _, f := range p.forms {
		if f.hasPassword() {
			return true
		}
	}
	return false
}

// CallbackHit is a request the OP sent the browser to at the runner's base URL.
type CallbackHit struct {
	URL         string     `json:"url"`
	Path        string     `json:"path"`
	Method      string     `json:"method"`
	ContentType string     `json:"content_type"`
	Query       url.Values `json:"query"`
	Fragment    url.Values `json:"fragment"`
	Body        url.Values `json:"body"`
}

// Visit is the record of one navigation: where it ended and what the agent did.
type Visit struct {
	Callback   *CallbackHit
	Page       *Page
	Foreign    string
	LoginPages []*Page
	// Interactions counts forms a user would have acted on (login, consent, confirm).
	Interactions int
	Trail        []string
}

// NavOptions changes what the agent does on a page.
type NavOptions struct {
	// NoInteraction stops at the first page instead of filling or pressing anything,
	// for requests that must not show UI (prompt=none).
	NoInteraction bool
}

// Get navigates to rawURL.
func (ua *UserAgent) Get(ctx context.Context, rawURL string, opt NavOptions) (*Visit, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, err
	}
	return ua.navigate(ctx, req, opt)
}

// PostForm submits an HTML form with method POST to rawURL (an authorization request
// sent as a form POST, OpenID Connect Core 1.0 §3.1.2.1).
func (ua *UserAgent) PostForm(ctx context.Context, rawURL string, v url.Values, opt NavOptions) (*Visit, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rawURL, strings.NewReader(v.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return ua.navigate(ctx, req, opt)
}

func (ua *UserAgent) underBase(u *url.URL) bool {
	return strings.EqualFold(u.Scheme, ua.base.Scheme) && strings.EqualFold(u.Host, ua.base.Host)
}

func (ua *UserAgent) allowed(u *url.URL) bool {
	if u.Scheme != "https" && u.Scheme != "http" {
		return false
	}
	if ua.opHosts[u.Host] {
		return true
	}
	h := u.Hostname()
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

func (ua *UserAgent) navigate(ctx context.Context, req *http.Request, opt NavOptions) (*Visit, error) {
	v := &Visit{}
	var lastLogin string
	for step := 0; step < ua.MaxSteps; step++ {
		if err := ctx.Err(); err != nil {
			return v, err
		}
		if ua.underBase(req.URL) {
			hit, err := ua.deliver(req)
			v.Trail = append(v.Trail, fmt.Sprintf("%s %s -> runner", req.Method, redact(req.URL)))
			v.Callback = hit
			return v, err
		}
		if !ua.allowed(req.URL) {
			v.Foreign = req.URL.String()
			v.Trail = append(v.Trail, fmt.Sprintf("%s %s -> not followed (foreign)", req.Method, redact(req.URL)))
			return v, nil
		}
		browserHeaders(req)
		resp, err := ua.client.Do(req)
		if err != nil {
			return v, fmt.Errorf("%s %s: %w", req.Method, redact(req.URL), err)
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
		resp.Body.Close()
		v.Trail = append(v.Trail, fmt.Sprintf("%s %s -> %d", req.Method, redact(req.URL), resp.StatusCode))

		if loc := resp.Header.Get("Location"); loc != "" && resp.StatusCode >= 300 && resp.StatusCode < 400 {
			next, err := req.URL.Parse(loc)
			if err != nil {
				return v, fmt.Errorf("bad Location %q: %w", loc, err)
			}
			method, rebody := http.MethodGet, io.Reader(nil)
			var ctype string
			if resp.StatusCode == http.StatusTemporaryRedirect || resp.StatusCode == http.StatusPermanentRedirect {
				method = req.Method
				if req.GetBody != nil {
					rebody, _ = req.GetBody()
				}
				ctype = req.Header.Get("Content-Type")
			}
			req, err = http.NewRequestWithContext(ctx, method, next.String(), rebody)
			if err != nil {
				return v, err
			}
			if ctype != "" {
				req.Header.Set("Content-Type", ctype)
			}
			continue
		}

		page := &Page{URL: req.URL.String(), Status: resp.StatusCode, ContentType: resp.Header.Get("Content-Type"), Body: body}
		mt, _, _ := mime.ParseMediaType(page.ContentType)
		if mt == "text/html" || (mt == "" && bytes.Contains(bytes.ToLower(body[:min(len(body), 512)]), []byte("<html"))) {
			page.forms, page.Title, _ = parseForms(bytes.NewReader(body))
		}
		v.Page = page
		f, button, login := choose(page.forms)
		if f == nil {
			return v, nil
		}
		// A script-only form is submitted whatever the status and even when no
		// interaction is allowed: a browser runs the script (the OAuth 2.0 Form Post
		// Response Mode page carries errors too, sometimes with HTTP 400). A person
		// acts only on a page that loaded fine.
		if !f.autoSubmits() && (opt.NoInteraction || resp.StatusCode != http.StatusOK) {
			return v, nil
		}
		if login {
			key := req.URL.Path + "|" + f.Action
			if key == lastLogin {
				return v, errors.New("the OP showed the login form again after the test user's credentials were submitted: login rejected")
			}
			lastLogin = key
			v.LoginPages = append(v.LoginPages, page)
			f.fillLogin(ua.username, ua.password)
		}
		if !f.autoSubmits() {
			v.Interactions++
		}
		req, err = submit(ctx, req.URL, f, button)
		if err != nil {
			return v, err
		}
		v.Page = nil
	}
	return v, fmt.Errorf("user agent gave up after %d steps", ua.MaxSteps)
}

// browserHeaders makes a request look like a browser's navigation: OPs negotiate
// HTML error pages on Accept (a JSON error is for API clients).
func browserHeaders(req *http.Request) {
	if req.Header.Get("Accept") == "" {
		req.Header.Set("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
	}
	if req.Header.Get("Accept-Language") == "" {
		req.Header.Set("Accept-Language", "en-US,en;q=0.9")
	}
	req.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) janua-conformance/1")
}

// choose picks the form a user would act on, the button to press, and whether it is a login.
func choose(forms []*form) (*form, *field, bool) {
	for _, f := range forms {
		if f.hasPassword() {
			b, ok := f.primaryButton()
			if !ok {
				return f, nil, true
			}
			return f, &b, true
		}
	}
	for _, f := range forms {
		if f.autoSubmits() {
			return f, nil, false
		}
	}
	for _, f := range forms {
		if b, ok := f.primaryButton(); ok {
			return f, &b, false
		}
	}
	return nil, nil, false
}

// submit builds the request a browser sends for form f (HTML §4.10.21.3).
func submit(ctx context.Context, page *url.URL, f *form, button *field) (*http.Request, error) {
	action, err := page.Parse(f.Action)
	if err != nil {
		return nil, err
	}
	vals := f.values(button)
	if f.Method != http.MethodPost {
		action.RawQuery = vals.Encode()
		return http.NewRequestWithContext(ctx, http.MethodGet, action.String(), nil)
	}
	var body []byte
	ctype := "application/x-www-form-urlencoded"
	if f.Enctype == "multipart/form-data" {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		for k, vs := range vals {
			for _, s := range vs {
				_ = mw.WriteField(k, s)
			}
		}
		_ = mw.Close()
		body, ctype = buf.Bytes(), mw.FormDataContentType()
	} else {
		body = []byte(vals.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, action.String(), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", ctype)
	return req, nil
}

// deliver sends the request to the runner's callback server, which echoes it.
func (ua *UserAgent) deliver(req *http.Request) (*CallbackHit, error) {
	frag, _ := url.ParseQuery(req.URL.Fragment)
	full := req.URL.String()
	req.URL.Fragment, req.URL.RawFragment = "", ""
	resp, err := ua.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("runner callback %s: %w", req.URL.Path, err)
	}
	defer resp.Body.Close()
	var hit CallbackHit
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&hit); err != nil {
		return nil, fmt.Errorf("runner callback echo: %w", err)
	}
	hit.URL, hit.Fragment = full, frag
	return &hit, nil
}

// redact shortens a URL for the trail: no query values (they carry codes and tokens).
func redact(u *url.URL) string {
	c := *u
	if c.RawQuery != "" {
		q := c.Query()
		keys := make([]string, 0, len(q))
		for k := range q {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		c.RawQuery = "[" + strings.Join(keys, ",") + "]"
	}
	c.Fragment = ""
	return c.String()
}
