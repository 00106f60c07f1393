package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"

	"golang.org/x/net/html"
)

// maxHops bounds the redirects and form posts of one navigation.
const maxHops = 12

// browser is one user agent: a cookie jar over the shared transport, no
// automatic redirects, so every hop is seen and checked.
type browser struct {
	e    *env
	http *http.Client
}

func (e *env) newBrowser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{e: e, http: &http.Client{Transport: e.transport, Jar: jar, Timeout: e.opts.timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// navigate follows a navigation from rawURL until the issuer redirects to
// the client's redirectURI, and returns that URL and the requests sent.
// With user set, it fills the login form and allows consent on the way; a
// page without it (the SSO session must carry the flow) is an error.
func (b *browser) navigate(ctx context.Context, rawURL, redirectURI string, user *fixtureUser) (*url.URL, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, 0, err
	}
	sent := 0
	for range maxHops {
		if err := loopbackURL(req.URL.String()); err != nil {
			return nil, sent, fmt.Errorf("navigation left loopback: %w", err)
		}
		req.Header.Set("Accept", "text/html")
		res, body, err := send(b.http, req)
		sent++
		if err != nil {
			return nil, sent, err
		}
		switch {
		case res.StatusCode == http.StatusFound || res.StatusCode == http.StatusSeeOther:
			next, err := req.URL.Parse(res.Header.Get("Location"))
			if err != nil || res.Header.Get("Location") == "" {
				return nil, sent, fmt.Errorf("%s %s: bad Location", req.Method, req.URL.Path)
			}
			if strings.HasPrefix(next.String(), redirectURI) {
				return next, sent, nil
			}
			req, err = http.NewRequestWithContext(ctx, http.MethodGet, next.String(), nil)
			if err != nil {
				return nil, sent, err
			}
		case res.StatusCode == http.StatusOK && user != nil:
			f, err := pageForm(body)
			if err != nil {
				return nil, sent, fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, err)
			}
			if f.password {
				f.values.Set("email", user.Email)
				f.values.Set("password", user.Password)
			} else {
				f.values.Set("action", "allow") // the consent page
			}
			if req, err = f.request(ctx, req.URL); err != nil {
				return nil, sent, err
			}
		default:
			return nil, sent, fmt.Errorf("%s %s: status %d, want a redirect to the client", req.Method, req.URL.Path, res.StatusCode)
		}
	}
	return nil, sent, fmt.Errorf("no redirect to the client after %d hops", maxHops)
}

// signIn posts the login page (no authorization request): the password
// scenario. It returns the requests sent.
func (b *browser) signIn(ctx context.Context, loginURL string, user fixtureUser) (int, error) {
	res, body, err := b.e.getWith(ctx, b.http, loginURL)
	if err != nil {
		return 1, err
	}
	if err := wantStatus(res, body, http.StatusOK); err != nil {
		return 1, err
	}
	f, err := pageForm(body)
	if err != nil || !f.password {
		return 1, fmt.Errorf("GET %s: no login form", res.Request.URL.Path)
	}
	f.values.Set("email", user.Email)
	f.values.Set("password", user.Password)
	req, err := f.request(ctx, res.Request.URL)
	if err != nil {
		return 1, err
	}
	res, body, err = send(b.http, req)
	if err != nil {
		return 2, err
	}
	// Signed in: a redirect away from the login page, with a session cookie.
	if res.StatusCode != http.StatusSeeOther && res.StatusCode != http.StatusFound {
		return 2, wantStatus(res, body, http.StatusSeeOther)
	}
	if loc := res.Header.Get("Location"); strings.Contains(loc, b.e.opts.loginPath) {
		return 2, fmt.Errorf("POST %s: redirected back to the login page", req.URL.Path)
	}
	if len(res.Cookies()) == 0 {
		return 2, fmt.Errorf("POST %s: no session cookie", req.URL.Path)
	}
	return 2, nil
}

func (e *env) getWith(ctx context.Context, c *http.Client, url string) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Accept", "text/html")
	return send(c, req)
}

// form is the first POST form of a page: its action, its fields (hidden
// ones filled, the CSRF token among them) and whether it asks a password.
type form struct {
	action   string
	values   url.Values
	password bool
}

func pageForm(body []byte) (*form, error) {
	z := html.NewTokenizer(bytes.NewReader(body))
	var f *form
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			if f == nil {
				return nil, errors.New("no form on the page")
			}
			return f, nil
		case html.StartTagToken, html.SelfClosingTagToken:
			t := z.Token()
			attr := func(name string) string {
				for _, a := range t.Attr {
					if a.Key == name {
						return a.Val
					}
				}
				return ""
			}
			switch t.Data {
			case "form":
				if f != nil {
					return f, nil // the first form is the one
				}
				if strings.EqualFold(attr("method"), "post") {
					f = &form{action: attr("action"), values: url.Values{}}
				}
			case "input":
				if f == nil {
					continue
				}
				switch attr("type") {
				case "hidden":
					f.values.Set(attr("name"), attr("value"))
				case "password":
					f.password = true
				}
			}
		case html.EndTagToken:
			if f != nil && z.Token().Data == "form" {
				return f, nil
			}
		}
	}
}

// request is the form's submission from page.
func (f *form) request(ctx context.Context, page *url.URL) (*http.Request, error) {
	action, err := page.Parse(f.action)
	if err != nil {
		return nil, fmt.Errorf("form action %q: %w", f.action, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, action.String(), strings.NewReader(f.values.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req, nil
}
