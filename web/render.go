package web

import (
	"bytes"

	"github.com/labstack/echo/v4"

	"github.com/madfam-org/janua/templates"
)

// Render writes the page name of set with status, filling in what every page
// carries: the request's CSP nonce, its request ID and, under the CSRF
// middleware, the browser's CSRF token. Pages are never cached: they may
// hold tokens and personal data.
func Render(c echo.Context, set *templates.Set, status int, name string, p templates.Page) error {
	p.Nonce = Nonce(c)
	p.RequestID = RequestID(c.Request().Context())
	p.CSRF = CSRFToken(c)
	var buf bytes.Buffer
	if err := set.Render(&buf, name, p); err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.HTMLBlob(status, buf.Bytes())
}

// NoStore marks every response of a route uncacheable (RFC 9111 §5.2.2.5),
// redirects included: page routes carry flow challenges and set cookies.
func NoStore(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.Response().Header().Set("Cache-Control", "no-store")
		return next(c)
	}
}
