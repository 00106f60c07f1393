package main

import (
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/net/html"

	"github.com/madfam-org/janua/web"
)

// agent is the user's browser in an end-to-end flow: it follows Janua's
// redirects with its cookies, signs in on the sign-in page with the test
// user's password, answers the consent page, and stops where Janua sends
// it to the client's redirect URI (by redirect, or by the form_post page's
// form), or at a page that asks nothing (an error page, the signed-out
// page). It never requests the client's redirect URI: like a real browser
// reading a fragment, it reports what it would have sent.
type agent struct {
	*browser
	o        *op
	email    string
	password string
	// consent is the button pressed on the consent page: "allow" or "deny".
	consent string
}

func (o *op) agent() *agent {
	return &agent{browser: o.browser(), o: o, email: o.email, password: testPassword, consent: "allow"}
}

// authResponse is where a navigation ended.
type authResponse struct {
	// Mode is how the response reached the redirect URI: "query",
	// "fragment" or "form_post"; "" when the navigation stopped at a page.
	Mode   string
	URL    *url.URL   // the redirect URI, without the response
	Params url.Values // the authorization response
	// The page the navigation stopped at, when Mode is "".
	Status   int
	Location string // a page must never also redirect
	Page     string
	// Shown lists the pages the user acted on, in order ("login",
	// "consent").
	Shown []string
}

// Get is a parameter of the response.
func (r *authResponse) Get(k string) string { return r.Params.Get(k) }

// authorize navigates to rawURL (an authorization or end-session request)
// and on until the browser reaches redirect or stops. Every authorization
// response must name the issuer (RFC 9207 §2), errors included.
func (a *agent) authorize(rawURL, redirect string) *authResponse {
	a.t.Helper()
	return a.checkIss(a.navigate(http.MethodGet, rawURL, nil, redirect))
}

// visit navigates to rawURL until the browser reaches redirect or stops,
// checking nothing on the way (an end-session request).
func (a *agent) visit(rawURL, redirect string) *authResponse {
	a.t.Helper()
	return a.navigate(http.MethodGet, rawURL, nil, redirect)
}

func (a *agent) checkIss(r *authResponse) *authResponse {
	a.t.Helper()
	if r.Mode != "" && r.Get("iss") != a.o.issuer {
		a.t.Errorf("authorization response without iss=%s (RFC 9207 §2): %v", a.o.issuer, r.Params)
	}
	return r
}

// authorizePost sends the authorization request as an HTML form POST (OIDC
// Core §3.1.2.1).
func (a *agent) authorizePost(params url.Values, redirect string) *authResponse {
	a.t.Helper()
	return a.checkIss(a.navigate(http.MethodPost, a.o.issuer+pathAuthorize, params, redirect))
}

func (a *agent) navigate(method, target string, form url.Values, redirect string) *authResponse {
	a.t.Helper()
	want, err := url.Parse(redirect)
	if err != nil && redirect != "" {
		a.t.Fatal(err)
	}
	out := &authResponse{}
	for step := 0; step < 12; step++ {
		u, err := url.Parse(target)
		if err != nil {
			a.t.Fatal(err)
		}
		if redirect != "" && sameEndpoint(u, want) {
			out.URL = &url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}
			switch {
			case method == http.MethodPost:
				out.Mode, out.Params = "form_post", form
			case u.Fragment != "":
				out.Mode = "fragment"
				if out.Params, err = url.ParseQuery(u.Fragment); err != nil {
					a.t.Fatal(err)
				}
			default:
				out.Mode, out.Params = "query", u.Query()
			}
			return out
		}
		if !strings.HasPrefix(target, a.o.issuer) {
			a.t.Fatalf("the browser was sent to %s, which is neither Janua nor %s", target, redirect)
		}
		res := a.do(method, target, form)
		if loc := res.Header.Get("Location"); res.StatusCode >= 300 && res.StatusCode < 400 && loc != "" {
			next, err := u.Parse(loc)
			if err != nil {
				a.t.Fatal(err)
			}
			target, method, form = next.String(), http.MethodGet, nil
			continue
		}
		if res.StatusCode == http.StatusOK {
			if action, fields, ok := pageForm(a.page, "login-form"); ok {
				out.Shown = append(out.Shown, "login")
				fields.Set("email", a.email)
				fields.Set("password", a.password)
				fields.Set("action", "login")
				target, method, form = resolve(u, action), http.MethodPost, fields
				continue
			}
			if action, fields, ok := pageForm(a.page, "consent-form"); ok {
				out.Shown = append(out.Shown, "consent")
				fields.Set("action", a.consent)
				target, method, form = resolve(u, action), http.MethodPost, fields
				continue
			}
			if action, fields, ok := pageForm(a.page, "response"); ok {
				// The form_post page submits itself by script.
				target, method, form = resolve(u, action), http.MethodPost, fields
				continue
			}
		}
		out.Status, out.Location, out.Page = res.StatusCode, res.Header.Get("Location"), a.page
		return out
	}
	a.t.Fatalf("no end after 12 steps at %s", target)
	return nil
}

func sameEndpoint(u, want *url.URL) bool {
	return u.Scheme == want.Scheme && u.Host == want.Host && u.Path == want.Path
}

func resolve(base *url.URL, ref string) string {
	r, err := base.Parse(ref)
	if err != nil {
		return ref
	}
	return r.String()
}

// pageForm finds the form with id in page and returns its action and its
// hidden fields (the CSRF token among them).
func pageForm(page, id string) (action string, fields url.Values, ok bool) {
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		return "", nil, false
	}
	var form *html.Node
	var find func(n *html.Node)
	find = func(n *html.Node) {
		if form != nil {
			return
		}
		if n.Type == html.ElementNode && n.Data == "form" && attr(n, "id") == id {
			form = n
			return
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			find(c)
		}
	}
	find(doc)
	if form == nil {
		return "", nil, false
	}
	fields = url.Values{}
	var collect func(n *html.Node)
	collect = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "input" && attr(n, "type") == "hidden" {
			fields.Add(attr(n, "name"), attr(n, "value"))
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			collect(c)
		}
	}
	collect(form)
	if id != "response" && fields.Get(web.CSRFField) == "" {
		return "", nil, false
	}
	return attr(form, "action"), fields, true
}

func attr(n *html.Node, name string) string {
	for _, a := range n.Attr {
		if a.Key == name {
			return a.Val
		}
	}
	return ""
}
