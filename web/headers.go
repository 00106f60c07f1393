package web

import (
	"crypto/rand"
	"encoding/base64"

	"github.com/labstack/echo/v4"
)

// nonceKey is the echo context key of the request's CSP nonce.
const nonceKey = "janua.csp_nonce"

// Nonce returns the request's CSP nonce, for <script nonce> and <style nonce>.
func Nonce(c echo.Context) string {
	n, _ := c.Get(nonceKey).(string)
	return n
}

// SecurityHeadersOptions configure SecurityHeaders.
type SecurityHeadersOptions struct {
	// HSTS adds Strict-Transport-Security; set it when the issuer is https.
	HSTS bool
}

// ContentSecurityPolicy is the policy of every response, with the request's
// nonce. Pages load scripts and styles only from this origin or with the
// nonce; nothing may frame them; forms post only to this origin. A response
// that must differ (the form_post response mode posts to the client) sets its
// own header after this middleware ran.
func ContentSecurityPolicy(nonce string) string {
	return "default-src 'none'; script-src 'self' 'nonce-" + nonce + "'; style-src 'self' 'nonce-" + nonce + "'; " +
		"img-src 'self' data: https:; font-src 'self'; connect-src 'self'; manifest-src 'self'; " +
		"form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
}

// SecurityHeaders sets the headers every response carries and a fresh
// per-request CSP nonce.
func SecurityHeaders(o SecurityHeadersOptions) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			var b [18]byte
			_, _ = rand.Read(b[:])
			nonce := base64.RawStdEncoding.EncodeToString(b[:])
			c.Set(nonceKey, nonce)
			h := c.Response().Header()
			h.Set("Content-Security-Policy", ContentSecurityPolicy(nonce))
			h.Set("X-Content-Type-Options", "nosniff")
			h.Set("X-Frame-Options", "DENY")
			// Authorization responses carry codes in URLs: never leak them.
			h.Set("Referrer-Policy", "no-referrer")
			h.Set("Cross-Origin-Opener-Policy", "same-origin")
			h.Set("Cross-Origin-Resource-Policy", "same-origin")
			h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()")
			if o.HSTS {
				h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
			}
			return next(c)
		}
	}
}
