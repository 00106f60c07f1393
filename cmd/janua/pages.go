package main

import (
	"bytes"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/madfam-org/janua/templates"
	"github.com/madfam-org/janua/web"
)

// pages renders server-side pages with the per-request nonce and ID.
type pages struct {
	set *templates.Set
}

// render writes page name with status, never cached (pages may carry CSRF
// tokens and personal data).
func (p pages) render(c echo.Context, status int, name, title string, data any) error {
	var buf bytes.Buffer
	err := p.set.Render(&buf, name, templates.Page{
		Title:     title,
		Nonce:     web.Nonce(c),
		RequestID: web.RequestID(c.Request().Context()),
		Data:      data,
	})
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set("Cache-Control", "no-store")
	return c.HTMLBlob(status, buf.Bytes())
}

// errorPage is the web.ErrorPage: the 404 page or the one styled error page.
func (p pages) errorPage(c echo.Context, status int, title, message string) error {
	data := struct {
		Status  int
		Message string
	}{status, message}
	if status == http.StatusNotFound {
		return p.render(c, status, "notfound", "Page not found", data)
	}
	return p.render(c, status, "error", title, data)
}
