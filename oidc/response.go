package oidc

import (
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/ory/fosite"

	"github.com/madfam-org/janua/templates"
	"github.com/madfam-org/janua/web"
)

// writeAuthorizeResponse sends params to the client's redirect URI in the
// request's response mode, always with the issuer (RFC 9207 §2).
func (p *Provider) writeAuthorizeResponse(c echo.Context, ar fosite.AuthorizeRequester, params url.Values) error {
	params.Set("iss", p.opts.Issuer)
	return p.deliver(c, ar.GetRedirectURI(), ar.GetResponseMode(), ar.GetDefaultResponseMode(), params)
}

// deliver writes params to redirect in mode: query (merged with the
// registered URI's own query), fragment, or an auto-submitted form_post
// (OAuth 2.0 Form Post Response Mode).
func (p *Provider) deliver(c echo.Context, redirect *url.URL, mode, def fosite.ResponseModeType, params url.Values) error {
	writeNoStore(c.Response())
	if mode == fosite.ResponseModeDefault {
		mode = def
	}
	target := *redirect
	target.Fragment = ""
	switch mode {
	case fosite.ResponseModeFormPost:
		return p.formPost(c, target.String(), params)
	case fosite.ResponseModeFragment:
		return c.Redirect(http.StatusSeeOther, target.String()+"#"+params.Encode())
	default:
		q := target.Query()
		for k, vs := range params {
			q[k] = vs
		}
		target.RawQuery = q.Encode()
		return c.Redirect(http.StatusSeeOther, target.String())
	}
}

// formPostPage submits the response to the client with a nonce'd script,
// and offers a button when scripts are off.
var formPostPage = template.Must(template.New("form_post").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="referrer" content="no-referrer"><title>Continue</title></head>
<body><form method="post" action="{{.Action}}" id="response">{{range $k, $vs := .Params}}{{range $vs}}
<input type="hidden" name="{{$k}}" value="{{.}}">{{end}}{{end}}
<noscript><button type="submit">Continue</button></noscript></form>
<script nonce="{{.Nonce}}">document.getElementById("response").submit()</script></body></html>`))

// formPost writes the form_post page. Its CSP lets the form post only to
// the client's redirect URI's origin.
func (p *Provider) formPost(c echo.Context, action string, params url.Values) error {
	u, err := url.Parse(action)
	if err != nil {
		return err
	}
	nonce := web.Nonce(c)
	origin := u.Scheme + "://" + u.Host
	c.Response().Header().Set("Content-Security-Policy",
		"default-src 'none'; script-src 'nonce-"+nonce+"'; form-action "+origin+"; frame-ancestors 'none'; base-uri 'none'")
	var b strings.Builder
	if err := formPostPage.Execute(&b, struct {
		Action string
		Params url.Values
		Nonce  string
	}{action, params, nonce}); err != nil {
		return err
	}
	return c.HTMLBlob(http.StatusOK, []byte(b.String()))
}

// authorizeError reports an authorization error. With a validated redirect
// URI it goes to the client in the response mode, with state and iss (RFC
// 6749 §4.1.2.1, RFC 9207 §2). Without one (unknown client, missing or
// unregistered redirect URI) it is a page, and the browser is never
// redirected (RFC 6749 §4.1.2.1, RFC 9700 §4.1).
func (p *Provider) authorizeError(c echo.Context, ar fosite.AuthorizeRequester, err error) error {
	rfc := fosite.ErrorToRFC6749Error(err)
	ctx := c.Request().Context()
	level := p.opts.Logger.InfoContext
	if rfc.CodeField >= 500 {
		level = p.opts.Logger.ErrorContext
	}
	level(ctx, "authorization request refused", "error", rfc.ErrorField, "hint", rfc.HintField, "debug", rfc.DebugField,
		"cause", errors.Unwrap(rfc))
	if ar == nil || !ar.IsRedirectURIValid() || ar.GetRedirectURI() == nil {
		return p.errorPage(c, http.StatusBadRequest, "oidc.invalid_request.title", "oidc.invalid_request.advice", safeDescription(rfc))
	}
	params := url.Values{"error": {rfc.ErrorField}}
	if d := safeDescription(rfc); d != "" {
		params.Set("error_description", d)
	}
	if s := ar.GetState(); s != "" {
		params.Set("state", s)
	}
	return p.writeAuthorizeResponse(c, ar, params)
}

// safeDescription is the error's description with its hint, limited to
// the characters RFC 6749 §4.1.2.1 allows (%x20-21 / %x23-5B / %x5D-7E).
func safeDescription(e *fosite.RFC6749Error) string {
	d := e.DescriptionField
	if e.HintField != "" {
		d = strings.TrimSpace(d + " " + e.HintField)
	}
	var b strings.Builder
	for i := 0; i < len(d); i++ {
		ch := d[i]
		if ch == 0x20 || ch == 0x21 || ch >= 0x23 && ch <= 0x5B || ch >= 0x5D && ch <= 0x7E {
			b.WriteByte(ch)
		}
	}
	return b.String()
}

// errorPage renders the styled error page; title and message are message
// catalogue keys, detail technical text shown as it is.
func (p *Provider) errorPage(c echo.Context, status int, title, message, detail string) error {
	writeNoStore(c.Response())
	return p.pages.Page(c, status, "error", title, templates.ErrorData{Status: status, Message: message, Detail: detail})
}

// badRequestPage explains why a flow cannot continue (message: a key).
func (p *Provider) badRequestPage(c echo.Context, message string) error {
	return p.errorPage(c, http.StatusBadRequest, "oidc.flow.title", message, "")
}
