package oidc

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"

	"github.com/go-jose/go-jose/v4"
	"github.com/ory/fosite"

	"github.com/madfam-org/janua/storage"
)

// assertionAlgs are the JWS algorithms Janua accepts for private_key_jwt
// client assertions (RFC 7523, OIDC Core §9). fosite verifies RSA, RSA-PSS
// and ECDSA assertions.
func assertionAlgs() []string { return []string{RS256, "PS256", ES256} }

type assertionAlgKey struct{}

// withAssertionAlg notes, before fosite authenticates the client, the
// algorithm of the request's client_assertion (read unverified from its
// header; fosite verifies the signature). fosite compares a client's
// token_endpoint_auth_signing_alg with the assertion's alg verbatim, so a
// client that registered none is offered exactly the alg it used, when
// Janua supports it.
func withAssertionAlg(r *http.Request) *http.Request {
	raw := r.PostForm.Get("client_assertion")
	if raw == "" {
		return r
	}
	algs := make([]jose.SignatureAlgorithm, 0, 3)
	for _, a := range assertionAlgs() {
		algs = append(algs, jose.SignatureAlgorithm(a))
	}
	jws, err := jose.ParseSignedCompact(raw, algs)
	if err != nil || len(jws.Signatures) != 1 {
		return r
	}
	return r.WithContext(context.WithValue(r.Context(), assertionAlgKey{}, jws.Signatures[0].Header.Algorithm))
}

// assertionClient is a client as fosite's client authentication sees it.
type assertionClient struct {
	*storage.FositeClient
	alg string
}

// GetTokenEndpointAuthSigningAlgorithm is the registered alg, or, when the
// client registered none, the request's own supported alg.
func (c assertionClient) GetTokenEndpointAuthSigningAlgorithm() string {
	if a := c.FositeClient.GetTokenEndpointAuthSigningAlgorithm(); a != "" {
		return a
	}
	return c.alg
}

// fositeClientFor wraps a client for fosite with the request's assertion alg.
func fositeClientFor(ctx context.Context, c *storage.Client) *assertionClient {
	alg, _ := ctx.Value(assertionAlgKey{}).(string)
	if !slices.Contains(assertionAlgs(), alg) {
		alg = ""
	}
	return &assertionClient{FositeClient: storage.NewFositeClient(c), alg: alg}
}

// authenticateClient is fosite's client authentication, with every refused
// client assertion an invalid_client, the code RFC 7521 §4.2 requires:
// fosite answers a replayed jti with its own "jti_known" (400), and an
// expired or not yet valid assertion with a bare error (a 500).
func (p *Provider) authenticateClient(ctx context.Context, r *http.Request, form url.Values) (fosite.Client, error) {
	c, err := p.oauth.DefaultClientAuthenticationStrategy(ctx, r, form)
	if err == nil || form.Get("client_assertion") == "" {
		return c, err
	}
	if errors.Is(err, fosite.ErrJTIKnown) {
		return nil, fosite.ErrInvalidClient.WithHint("The client assertion was already used (its jti).").WithWrap(err)
	}
	var rfc *fosite.RFC6749Error
	if !errors.As(err, &rfc) {
		return nil, fosite.ErrInvalidClient.WithHint("The client assertion is expired or not yet valid.").WithWrap(err)
	}
	return c, err
}
