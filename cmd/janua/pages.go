package main

import (
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/madfam-org/janua/templates"
	"github.com/madfam-org/janua/web"
)

// pages renders server-side pages with the per-request nonce and ID, in the
// language the browser prefers (Accept-Language).
type pages struct {
	set *templates.Set
}

// render writes page name with status, never cached (pages may carry CSRF
// tokens and personal data). title is a message key or, when the catalogue
// lacks it, the title itself.
func (p pages) render(c echo.Context, status int, name, title string, data any) error {
	lang := p.set.Language("", c.Request().Header.Get("Accept-Language"))
	return web.Render(c, p.set, status, name, templates.Page{Title: p.set.T(lang, title), Lang: lang, Data: data})
}

// errorPage is the web.ErrorPage: the 404 page or the one styled error page,
// titled in the browser's language when the catalogue knows the status.
func (p pages) errorPage(c echo.Context, status int, title, message string) error {
	data := templates.ErrorData{Status: status, Message: message}
	key := "status." + strconv.Itoa(status)
	if p.set.T("en", key) == key {
		key = title
	}
	if status == http.StatusNotFound {
		return p.render(c, status, "notfound", key, data)
	}
	return p.render(c, status, "error", key, data)
}

// Page is oidc's Renderer: title is a catalogue key (or plain text).
func (p pages) Page(c echo.Context, status int, name, title string, data any) error {
	return p.render(c, status, name, title, data)
}
