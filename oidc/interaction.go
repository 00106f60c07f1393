package oidc

import (
	"context"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/madfam-org/janua/storage"
)

// Paths where oidc hands a browser to login and consent, and where they hand
// it back. cmd/janua passes ResumePath to login and consent; they never
// import oidc.
//
// The hand-off protocol, around the flow record (storage.Flow):
//
//  1. The authorization endpoint validates the request. When the browser's
//     SSO session (Authenticator) and the user's remembered consent
//     (ConsentGate) already satisfy it, it answers at once, with no page.
//  2. Otherwise it stores a flow (state created, or authenticated when only
//     consent is missing) bound to the browser (web.Cookies.BrowserHash) and
//     redirects to LoginPath or ConsentPath with ?flow=<challenge>.
//  3. login authenticates the user, advances the flow to authenticated
//     (Subject, SessionID = the SSO session's sid, AuthTime, AMR, ACR) or to
//     rejected (Error "access_denied" when the user cancels), and redirects
//     to ResumePath?flow=<challenge>.
//  4. consent shows the client and scopes, advances the flow to consented
//     (GrantedScopes) or rejected ("access_denied"), and redirects to
//     ResumePath?flow=<challenge>.
//  5. ResumePath completes the flow exactly once: it issues the
//     authorization response, or sends the flow on to consent, or returns
//     the rejection to the client through its response mode.
const (
	LoginPath   = "/login"
	ConsentPath = "/consent"
	ResumePath  = "/oauth2/auth/resume"
	// FlowParam is the query parameter carrying the flow challenge.
	FlowParam = "flow"
)

// Authentication is how and when the user behind a browser proved who they
// are: what an ID token's sub, sid, auth_time, amr and acr say.
type Authentication struct {
	Subject   string    // the user's ID
	SessionID string    // the SSO session's public id, the ID token's "sid"
	AuthTime  time.Time // when the user last actively authenticated
	AMR       []string  // RFC 8176 method references, e.g. ["pwd"]
	ACR       string    // the authentication context class reached
}

// Authenticator is the browser's SSO session as oidc needs it; the login
// package implements it and cmd/janua passes it in.
type Authenticator interface {
	// Authenticated returns the authentication of the browser's live SSO
	// session, or ok=false when it has none (or it expired or was revoked).
	Authenticated(c echo.Context) (a Authentication, ok bool, err error)
	// EndSession ends the browser's SSO session, if any (RP-initiated
	// logout), and returns what it ended.
	EndSession(c echo.Context) (ended *Authentication, err error)
	// ACRValues lists the authentication context classes sign-in reaches,
	// weakest first (discovery's acr_values_supported).
	ACRValues() []string
	// SatisfiesACR reports whether an authentication that reached class
	// have meets want, a space-separated list of acceptable classes.
	SatisfiesACR(have, want string) bool
}

// ConsentGate answers whether a user's remembered consent (or the client
// being first-party) already covers a request; the consent package
// implements it and cmd/janua passes it in.
type ConsentGate interface {
	Covered(ctx context.Context, userID string, client *storage.Client, scopes []string) (bool, error)
}
