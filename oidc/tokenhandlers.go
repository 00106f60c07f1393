package oidc

import (
	"context"

	"github.com/ory/fosite"
)

// handledOnly skips a token endpoint handler's response step for a request
// that is not its own, without the error it would make to say so.
//
// fosite asks every token endpoint handler to populate every response
// (Fosite.NewAccessResponse), and each handler that does not handle the
// grant answers errorsx.WithStack(fosite.ErrUnknownRequest), which fosite
// then ignores. The stack is captured each time (runtime.Callers): for a
// client_credentials grant, five handlers capturing five stacks took 4 % of
// the server's CPU. Every fosite handler Janua composes begins its
// PopulateTokenEndpointResponse with that very check on
// CanHandleTokenEndpointRequest (the PKCE handler populates nothing at
// all), so asking it first and answering the bare ErrUnknownRequest,
// which fosite ignores the same way, changes nothing else.
type handledOnly struct {
	fosite.TokenEndpointHandler
}

func (h handledOnly) PopulateTokenEndpointResponse(ctx context.Context, req fosite.AccessRequester, res fosite.AccessResponder) error {
	if !h.CanHandleTokenEndpointRequest(ctx, req) {
		return fosite.ErrUnknownRequest
	}
	return h.TokenEndpointHandler.PopulateTokenEndpointResponse(ctx, req, res)
}

// skipUnhandled wraps each of hs in handledOnly. It runs after the list is
// built: fosite's Append drops a handler of a type already listed, and
// every wrapped handler has the one type.
func skipUnhandled(hs fosite.TokenEndpointHandlers) {
	for i, h := range hs {
		hs[i] = handledOnly{h}
	}
}
