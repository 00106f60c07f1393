package oidc

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// routes lists every endpoint the provider serves.
func (p *Provider) routes(e *echo.Echo) {
	e.GET(pathDiscovery, p.discovery)
	e.GET(pathASMetadata, p.discovery)
	e.GET(pathJWKS, p.jwks)
	e.GET(pathAuthorize, p.authorize)
	e.POST(pathAuthorize, p.authorize)
	e.GET(ResumePath, p.resume)
	e.POST(pathToken, p.token)
	e.GET(pathUserinfo, p.userinfo)
	e.POST(pathUserinfo, p.userinfo)
	e.POST(pathIntrospect, p.introspect)
	e.POST(pathRevoke, p.revoke)
	e.GET(pathEndSession, p.endSession)
	e.POST(pathEndSession, p.endSession)
	for _, path := range []string{pathToken, pathUserinfo, pathRevoke, pathJWKS, pathDiscovery, pathASMetadata} {
		e.OPTIONS(path, preflight)
	}
}

// preflight answers CORS preflight requests for the endpoints browser apps
// call directly (public clients, RFC 8252 and OAuth 2.0 for Browser-Based
// Apps): any origin, no credentials.
func preflight(c echo.Context) error {
	h := c.Response().Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, DPoP")
	h.Set("Access-Control-Max-Age", "86400")
	return c.NoContent(http.StatusNoContent)
}
