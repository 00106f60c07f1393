package oidc

import (
	"context"
	"errors"
	"testing"

	"github.com/ory/fosite"
)

// fakeTokenHandler handles one grant type and counts its response steps.
type fakeTokenHandler struct {
	grant     string
	populated *int
}

func (h fakeTokenHandler) HandleTokenEndpointRequest(context.Context, fosite.AccessRequester) error {
	return nil
}

func (h fakeTokenHandler) PopulateTokenEndpointResponse(context.Context, fosite.AccessRequester, fosite.AccessResponder) error {
	*h.populated++
	return nil
}

func (h fakeTokenHandler) CanSkipClientAuth(context.Context, fosite.AccessRequester) bool {
	return false
}

func (h fakeTokenHandler) CanHandleTokenEndpointRequest(_ context.Context, r fosite.AccessRequester) bool {
	return r.GetGrantTypes().ExactOne(h.grant)
}

// A wrapped handler populates only the responses of its own grant, and
// answers the others with the bare ErrUnknownRequest fosite ignores.
func TestHandledOnly(t *testing.T) {
	var cc, code int
	hs := fosite.TokenEndpointHandlers{fakeTokenHandler{"client_credentials", &cc}, handledOnly{fakeTokenHandler{"authorization_code", &code}}}
	skipUnhandled(hs)
	if len(hs) != 2 {
		t.Fatalf("%d handlers, want 2", len(hs))
	}
	req := fosite.NewAccessRequest(nil)
	req.GrantTypes = fosite.Arguments{"client_credentials"}
	res := fosite.NewAccessResponse()
	for _, h := range hs {
		err := h.PopulateTokenEndpointResponse(context.Background(), req, res)
		switch h.(handledOnly).TokenEndpointHandler.(type) {
		case fakeTokenHandler:
			if err != nil {
				t.Errorf("own grant: %v", err)
			}
		default:
			if err != fosite.ErrUnknownRequest || !errors.Is(err, fosite.ErrUnknownRequest) {
				t.Errorf("other grant: %v, want the bare ErrUnknownRequest", err)
			}
		}
	}
	if cc != 1 || code != 0 {
		t.Errorf("populated: client_credentials %d, authorization_code %d; want 1 and 0", cc, code)
	}
}
