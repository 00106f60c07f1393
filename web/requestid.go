package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/netip"

	"github.com/labstack/echo/v4"
)

// HeaderRequestID carries the request ID in and out.
const HeaderRequestID = "X-Request-ID"

type requestIDKey struct{}

// RequestID returns the request ID carried by ctx ("" outside a request).
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// WithRequestID returns ctx carrying id (tests and background jobs).
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestIDMiddleware gives every request an ID: the incoming X-Request-ID
// when the direct peer is a trusted proxy and the value is well-formed,
// otherwise a new random one. The ID goes into the request context (so every
// log line of the request carries it) and into the response header.
func RequestIDMiddleware(proxies *Proxies) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			id := req.Header.Get(HeaderRequestID)
			if id == "" || !validRequestID(id) || !proxies.trustsPeer(req.RemoteAddr) {
				id = newRequestID()
			}
			c.SetRequest(req.WithContext(WithRequestID(req.Context(), id)))
			c.Response().Header().Set(HeaderRequestID, id)
			return next(c)
		}
	}
}

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// validRequestID accepts 1–64 characters of [A-Za-z0-9._-], so a forwarded
// ID cannot inject anything into logs.
func validRequestID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// peerAddr parses the host of an http.Request.RemoteAddr.
func peerAddr(remoteAddr string) (netip.Addr, bool) {
	ap, err := netip.ParseAddrPort(remoteAddr)
	if err != nil {
		a, err := netip.ParseAddr(remoteAddr)
		return a, err == nil
	}
	return ap.Addr().Unmap(), true
}
