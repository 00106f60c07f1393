package oidc

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/ory/fosite"
)

// Guessing client secrets, codes or refresh tokens at the token endpoint
// shows as failed requests from one address: after FailureLimit failed
// requests in FailureWindow the address is refused with 429 and
// Retry-After until the window lets it in again (RFC 6585 §4; RFC 9700
// §4.18 asks for brute-force protection). Only failures count, so a busy
// but honest client is never slowed.
const (
	blockPrefix   = "oidc-block:"
	failurePrefix = "oidc-fail:"
)

// countsAsGuess reports whether a refusal looks like guessing.
func countsAsGuess(err error) bool {
	switch fosite.ErrorToRFC6749Error(err).ErrorField {
	case "invalid_client", "invalid_grant", "unauthorized_client":
		return true
	}
	return false
}

// blocked answers 429 when the client's address is blocked, and reports it.
func (p *Provider) blocked(c echo.Context) bool {
	ctx := c.Request().Context()
	v, err := p.hot.Get(ctx, blockPrefix+c.RealIP())
	if err != nil {
		return false
	}
	until, _ := strconv.ParseInt(string(v), 10, 64)
	wait := time.Until(time.Unix(0, until))
	if wait <= 0 {
		return false
	}
	h := c.Response().Header()
	h.Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
	h.Set("Content-Type", "application/json;charset=UTF-8")
	c.Response().WriteHeader(http.StatusTooManyRequests)
	_, _ = c.Response().Write([]byte(`{"error":"slow_down","error_description":"Too many failed requests from this address; retry later."}`))
	return true
}

// failed counts a failed request from the client's address and blocks the
// address once it passes the limit.
func (p *Provider) failed(ctx context.Context, ip string) {
	if p.opts.FailureLimit <= 0 {
		return
	}
	d, err := p.hot.Allow(ctx, failurePrefix+ip, p.opts.FailureLimit, p.opts.FailureWindow)
	if err != nil || d.Allowed {
		return
	}
	wait := max(d.RetryAfter, time.Second)
	until := strconv.FormatInt(time.Now().Add(wait).UnixNano(), 10)
	if err := p.hot.Put(ctx, blockPrefix+ip, []byte(until), wait); err == nil {
		p.opts.Logger.WarnContext(ctx, "address blocked at the token endpoint after repeated failures", "ip", ip, "for", wait.Round(time.Second))
	}
}
