package web

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

// Cookies names and sets Janua's cookies with the strictest attributes the
// issuer allows: on an https issuer every cookie is __Host- prefixed
// (Secure, Path=/, no Domain), always HttpOnly, SameSite=Lax unless said
// otherwise. On a development http issuer the prefix and Secure are dropped,
// or browsers would refuse the cookies.
type Cookies struct {
	Secure bool
}

// Name returns the cookie name for base ("janua-session" →
// "__Host-janua-session" on https).
func (k Cookies) Name(base string) string {
	if k.Secure {
		return "__Host-" + base
	}
	return base
}

// Set writes a cookie. maxAge zero means a session cookie.
func (k Cookies) Set(c echo.Context, base, value string, maxAge time.Duration, sameSite http.SameSite) {
	ck := &http.Cookie{
		Name: k.Name(base), Value: value, Path: "/", HttpOnly: true, Secure: k.Secure, SameSite: sameSite,
	}
	if maxAge > 0 {
		ck.MaxAge = int(maxAge / time.Second)
		ck.Expires = time.Now().Add(maxAge)
	}
	c.SetCookie(ck)
}

// Clear deletes a cookie.
func (k Cookies) Clear(c echo.Context, base string) {
	c.SetCookie(&http.Cookie{Name: k.Name(base), Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: k.Secure, SameSite: http.SameSiteLaxMode})
}

// Get returns a cookie's value ("" when absent).
func (k Cookies) Get(c echo.Context, base string) string {
	ck, err := c.Cookie(k.Name(base))
	if err != nil {
		return ""
	}
	return ck.Value
}

// browserCookie identifies a browser (not a user) for as long as it keeps
// the cookie: flows are bound to the browser that started them.
const browserCookie = "janua-browser"

// browserCookieAge is the longest lifetime browsers honour (400 days).
const browserCookieAge = 400 * 24 * time.Hour

// BrowserHash returns the hex SHA-256 of this browser's identifying cookie,
// setting a new random one first when the browser has none. Stored records
// (flows) keep only the hash.
func (k Cookies) BrowserHash(c echo.Context) string {
	v := k.Get(c, browserCookie)
	if len(v) < 32 {
		b := make([]byte, 32)
		_, _ = rand.Read(b)
		v = base64.RawURLEncoding.EncodeToString(b)
		k.Set(c, browserCookie, v, browserCookieAge, http.SameSiteLaxMode)
		// Later reads in this request must see it too.
		c.Request().AddCookie(&http.Cookie{Name: k.Name(browserCookie), Value: v})
	}
	sum := sha256.Sum256([]byte(v))
	return hex.EncodeToString(sum[:])
}
