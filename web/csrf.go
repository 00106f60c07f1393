package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"

	"github.com/labstack/echo/v4"
)

// CSRFField is the name of the hidden form field that carries the token.
const CSRFField = "csrf_token"

// CSRFHeader carries the token of a script's request whose body is not a
// form (a JSON fetch): the page's script reads the token from the page and
// sends it here. A cross-site page can neither read the token nor, without
// a CORS preflight Janua never grants, add the header.
const CSRFHeader = "X-CSRF-Token"

// csrfKey is the echo context key under which CSRF keeps itself.
const csrfKey = "janua.csrf"

// CSRF protects page forms against cross-site request forgery with a
// token bound to the browser (OWASP CSRF Prevention Cheat Sheet, "signed
// double-submit cookie"): the token is an HMAC, under a server key, of the
// browser's identifying cookie (see Cookies.BrowserHash). A forger can
// neither read that cookie nor, without the key, compute the token from it;
// on https the cookie is __Host- prefixed, so a sibling domain cannot plant
// one either (RFC 6265bis §4.1.3.2). Every instance sharing the key accepts
// the tokens of the others.
type CSRF struct {
	key     []byte
	cookies Cookies
	reject  func(c echo.Context) error
}

// CSRFOptions configure NewCSRF.
type CSRFOptions struct {
	// Key is the HMAC key: at least 32 bytes, the same on every instance.
	Key     []byte
	Cookies Cookies
	// Reject returns the error answering a request that fails the check
	// (a 403 *Error in the user's language); nil means a generic 403.
	Reject func(c echo.Context) error
}

// NewCSRF returns the CSRF protection with the given key.
func NewCSRF(o CSRFOptions) *CSRF {
	reject := o.Reject
	if reject == nil {
		reject = func(echo.Context) error {
			return &Error{Status: http.StatusForbidden, Code: "csrf_failed",
				Message: "This form has expired or was sent from another site. Go back, reload the page and try again."}
		}
	}
	return &CSRF{key: append([]byte(nil), o.Key...), cookies: o.Cookies, reject: reject}
}

// Middleware checks the token of every request with an unsafe method
// (RFC 9110 §9.2.1): the header CSRFHeader, or else the form field
// CSRFField, must be this browser's token.
// A request without the browser cookie has no valid token. Safe requests
// pass; handlers read the token to render with CSRFToken.
func (x *CSRF) Middleware() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			c.Set(csrfKey, x)
			switch c.Request().Method {
			case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
				return next(c)
			}
			// A cross-site form post is refused whatever it carries
			// (Fetch Metadata, where the browser sends it).
			if c.Request().Header.Get("Sec-Fetch-Site") == "cross-site" {
				return x.reject(c)
			}
			browser := x.cookies.Get(c, browserCookie)
			got := c.Request().Header.Get(CSRFHeader)
			if got == "" {
				got = c.FormValue(CSRFField)
			}
			if len(browser) < 32 || got == "" || !hmac.Equal([]byte(got), []byte(x.token(browser))) {
				return x.reject(c)
			}
			return next(c)
		}
	}
}

// token is the CSRF token of the browser whose cookie value is browser.
func (x *CSRF) token(browser string) string {
	m := hmac.New(sha256.New, x.key)
	m.Write([]byte("janua csrf v1\x00"))
	m.Write([]byte(browser))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// CSRFToken returns the token a form on this page must carry, giving the
// browser its identifying cookie first if it has none; "" outside the
// CSRF middleware.
func CSRFToken(c echo.Context) string {
	x, ok := c.Get(csrfKey).(*CSRF)
	if !ok {
		return ""
	}
	x.cookies.BrowserHash(c) // sets the cookie when missing
	return x.token(x.cookies.Get(c, browserCookie))
}
