package consent

import (
	"github.com/labstack/echo/v4"

	"github.com/madfam-org/janua/web"
)

// Routes mounts the consent page, never cached, behind mw (cmd/janua passes the CSRF
// middleware).
func (p *Pages) Routes(e *echo.Echo, mw ...echo.MiddlewareFunc) {
	mw = append([]echo.MiddlewareFunc{web.NoStore}, mw...)
	e.GET(p.o.ConsentPath, p.show, mw...)
	e.POST(p.o.ConsentPath, p.submit, mw...)
}
