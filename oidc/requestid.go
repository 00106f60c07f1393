package oidc

import (
	"github.com/google/uuid"
	"github.com/ory/fosite"
)

// Request IDs in time order.
//
// Every row of one grant carries its request's ID (the code, its PKCE and
// OpenID Connect rows, the tokens issued from it, the refresh tokens that
// follow), indexed so that a family can be read and revoked at once. fosite
// draws the ID as a random UUID (version 4), which puts each new row at a
// random place in that index: on a table of ten million token rows, most
// of those places are pages the database no longer has in memory (with
// the random primary key, this is why client_credentials grants ran up to
// a fifth slower on such a table: docs/performance-growth.md). A version 7
// UUID (RFC 9562 §5.7) begins with the time, so new rows go where the last
// ones went. The ID never leaves the server.

// newRequestID is a fresh request ID.
func newRequestID() string { return uuid.Must(uuid.NewV7()).String() }

// timeOrderedID gives a request that starts a grant (an authorization
// request, a client_credentials token request) a time-ordered ID. A token
// request that continues a grant (a code or a refresh token) keeps the ID
// fosite copied from the grant's first request.
func timeOrderedID(r fosite.Requester) {
	if r != nil {
		r.SetID(newRequestID())
	}
}
