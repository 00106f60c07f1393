package rp

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// browser is a user agent with a cookie jar that follows redirects one hop
// at a time, so a test sees every hop: which server sent the browser where.
type browser struct {
	t   *testing.T
	jar *cookiejar.Jar
	c   *http.Client
}

func newBrowser(t *testing.T) *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, jar: jar, c: &http.Client{
		Jar:           jar,
		Timeout:       15 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// hop is one response the browser received.
type hop struct {
	Method string
	URL    *url.URL
	Status int
	Header http.Header
	Body   []byte
}

// String shows the hop with codes, tokens and challenges cut short: they
// have no place in a test log.
func (h hop) String() string {
	u := *h.URL
	q := u.Query()
	for _, k := range []string{"code", "id_token_hint", "state", "code_challenge", "nonce", "flow"} {
		if v := q.Get(k); len(v) > 12 {
			q.Set(k, v[:8]+"…")
		}
	}
	u.RawQuery = q.Encode()
	return fmt.Sprintf("%s %s → %d", h.Method, u.Redacted(), h.Status)
}

func (h hop) redirect() bool {
	return h.Status >= 300 && h.Status < 400 && h.Header.Get("Location") != ""
}

// location is the redirect target, resolved against the hop's URL.
func (h hop) location() *url.URL {
	u, err := h.URL.Parse(h.Header.Get("Location"))
	if err != nil {
		return nil
	}
	return u
}

// do sends one request (a form POST when form is not nil) and reads the answer.
func (b *browser) do(method, rawURL string, form url.Values) hop {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, rawURL, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Accept", "text/html")
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, rawURL, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		b.t.Fatalf("%s %s: reading the body: %v", method, rawURL, err)
	}
	return hop{Method: method, URL: req.URL, Status: resp.StatusCode, Header: resp.Header, Body: data}
}

// follow sends a request and follows its redirects as a browser does (303,
// and 301/302 after a POST, become GET), at most 15 hops; it returns every
// hop, the last one not a redirect.
func (b *browser) follow(method, rawURL string, form url.Values) []hop {
	b.t.Helper()
	var hops []hop
	for range 15 {
		h := b.do(method, rawURL, form)
		hops = append(hops, h)
		if !h.redirect() {
			return hops
		}
		next := h.location()
		if next == nil {
			b.t.Fatalf("%s: unreadable Location %q", h, h.Header.Get("Location"))
		}
		if h.Status != http.StatusTemporaryRedirect && h.Status != http.StatusPermanentRedirect {
			method, form = http.MethodGet, nil
		}
		rawURL = next.String()
	}
	b.t.Fatalf("more than 15 redirects:\n%s", trace(hops))
	return nil
}

// cookie is the value of the named cookie the browser would send to rawURL.
func (b *browser) cookie(rawURL, name string) string {
	u, _ := url.Parse(rawURL)
	for _, c := range b.jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

func trace(hops []hop) string {
	var s []string
	for _, h := range hops {
		s = append(s, "  "+h.String())
	}
	return strings.Join(s, "\n")
}

var errNoForm = errors.New("no such form on the page")

// form is an HTML form as a browser would submit it: where to, and the
// values of its named inputs (hidden ones included); buttons by id.
type form struct {
	action  *url.URL
	method  string
	values  url.Values
	types   map[string]string // input name → type
	buttons map[string][2]string
}

// forms parses every form of a page.
func forms(h hop) []*form {
	doc, err := html.Parse(bytes.NewReader(h.Body))
	if err != nil {
		return nil
	}
	var out []*form
	var walk func(n *html.Node, cur *form)
	walk = func(n *html.Node, cur *form) {
		if n.Type == html.ElementNode {
			switch n.DataAtom {
			case atom.Form:
				action, err := h.URL.Parse(attr(n, "action"))
				if err != nil {
					action = h.URL
				}
				cur = &form{action: action, method: strings.ToUpper(attr(n, "method")), values: url.Values{},
					types: map[string]string{}, buttons: map[string][2]string{}}
				if cur.method == "" {
					cur.method = http.MethodGet
				}
				out = append(out, cur)
			case atom.Input:
				if cur != nil && attr(n, "name") != "" {
					typ := strings.ToLower(attr(n, "type"))
					cur.types[attr(n, "name")] = typ
					if typ != "checkbox" && typ != "submit" {
						cur.values.Set(attr(n, "name"), attr(n, "value"))
					}
				}
			case atom.Button:
				if cur != nil && attr(n, "id") != "" {
					cur.buttons[attr(n, "id")] = [2]string{attr(n, "name"), attr(n, "value")}
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, cur)
		}
	}
	walk(doc, nil)
	return out
}

// formWith is the page's first form with an input of that type ("password"),
// or with a button of that id ("#allow").
func formWith(h hop, what string) (*form, error) {
	for _, f := range forms(h) {
		if id, ok := strings.CutPrefix(what, "#"); ok {
			if _, has := f.buttons[id]; has {
				return f, nil
			}
			continue
		}
		for _, typ := range f.types {
			if typ == what {
				return f, nil
			}
		}
	}
	return nil, fmt.Errorf("%w: %s", errNoForm, what)
}

// press returns the form's values as submitted with the button of that id.
func (f *form) press(id string) url.Values {
	v := url.Values{}
	for k, vs := range f.values {
		v[k] = append([]string(nil), vs...)
	}
	if b, ok := f.buttons[id]; ok && b[0] != "" {
		v.Set(b[0], b[1])
	}
	return v
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}
