package storage

import (
	"encoding/json"
	"time"

	"github.com/go-jose/go-jose/v3"
	"github.com/ory/fosite"
)

// FositeClient presents a registered Client to fosite. Requests loaded from
// storage carry one, and the oidc package returns one from its
// fosite.ClientManager. It reads the Client and never changes it.
type FositeClient struct {
	Client *Client
}

var (
	_ fosite.Client                         = (*FositeClient)(nil)
	_ fosite.OpenIDConnectClient            = (*FositeClient)(nil)
	_ fosite.ResponseModeClient             = (*FositeClient)(nil)
	_ fosite.ClientWithCustomTokenLifespans = (*FositeClient)(nil)
)

// NewFositeClient wraps c.
func NewFositeClient(c *Client) *FositeClient { return &FositeClient{Client: c} }

// GetID returns the client ID.
func (c *FositeClient) GetID() string { return c.Client.ID }

// GetHashedSecret returns the SHA-256 digest of the secret (nil for a public
// client); the fosite hasher the oidc package configures compares digests.
func (c *FositeClient) GetHashedSecret() []byte { return c.Client.SecretHash }

// GetRedirectURIs returns the registered redirection URIs (RFC 6749 §3.1.2).
func (c *FositeClient) GetRedirectURIs() []string { return c.Client.RedirectURIs }

// GetGrantTypes returns the registered grant types; none registered means
// authorization_code only (OIDC Registration §2, RFC 7591 §2).
func (c *FositeClient) GetGrantTypes() fosite.Arguments {
	if len(c.Client.GrantTypes) == 0 {
		return fosite.Arguments{"authorization_code"}
	}
	return fosite.Arguments(c.Client.GrantTypes)
}

// GetResponseTypes returns the registered response types; none registered
// means code only (OIDC Registration §2, RFC 7591 §2).
func (c *FositeClient) GetResponseTypes() fosite.Arguments {
	if len(c.Client.ResponseTypes) == 0 {
		return fosite.Arguments{"code"}
	}
	return fosite.Arguments(c.Client.ResponseTypes)
}

// GetScopes returns the scopes the client may request.
func (c *FositeClient) GetScopes() fosite.Arguments { return fosite.Arguments(c.Client.Scopes) }

// IsPublic reports a client without a secret (RFC 6749 §2.1).
func (c *FositeClient) IsPublic() bool { return c.Client.Public }

// GetAudience returns no audience: clients may not request one yet.
func (c *FositeClient) GetAudience() fosite.Arguments { return fosite.Arguments{} }

// GetRequestURIs returns no pre-registered request_uri values.
func (c *FositeClient) GetRequestURIs() []string { return nil }

// GetJSONWebKeys returns the client's registered JWK Set (metadata "jwks"),
// or nil when it has none, it does not parse, or it holds no key, so that
// fosite falls back to jwks_uri. fosite's interface is go-jose v3.
func (c *FositeClient) GetJSONWebKeys() *jose.JSONWebKeySet {
	raw := c.Client.Metadata.JWKS
	if len(raw) == 0 {
		return nil
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(raw, &set); err != nil || len(set.Keys) == 0 {
		return nil
	}
	return &set
}

// GetJSONWebKeysURI returns the registered jwks_uri.
func (c *FositeClient) GetJSONWebKeysURI() string { return c.Client.Metadata.JWKSURI }

// GetRequestObjectSigningAlgorithm returns "": no algorithm is pinned for
// request objects.
func (c *FositeClient) GetRequestObjectSigningAlgorithm() string { return "" }

// GetTokenEndpointAuthMethod returns the registered token_endpoint_auth_method.
func (c *FositeClient) GetTokenEndpointAuthMethod() string { return c.Client.TokenEndpointAuthMethod }

// GetTokenEndpointAuthSigningAlgorithm returns the registered
// token_endpoint_auth_signing_alg, or "" for "any the server supports".
// fosite's default client authentication compares this value with the
// assertion's alg verbatim, so the oidc package resolves "" per request.
func (c *FositeClient) GetTokenEndpointAuthSigningAlgorithm() string {
	return c.Client.Metadata.TokenEndpointAuthSigningAlg
}

// GetResponseModes allows every response mode fosite knows: the default,
// query, fragment (OAuth 2.0 Multiple Response Types §2) and form_post
// (OAuth 2.0 Form Post Response Mode).
func (c *FositeClient) GetResponseModes() []fosite.ResponseModeType {
	return []fosite.ResponseModeType{fosite.ResponseModeDefault, fosite.ResponseModeQuery, fosite.ResponseModeFragment, fosite.ResponseModeFormPost}
}

// GetEffectiveLifespan returns the client's own access token lifetime
// (Metadata.AccessTokenTTL; zero means the server default, the fallback),
// and -1 for refresh tokens on every grant, so that fosite leaves their
// expiry to the session: an idle (sliding) limit capped by the family's
// absolute end cannot be expressed as one lifespan, and the oidc package
// computes it. ID token lifetimes are the server's.
func (c *FositeClient) GetEffectiveLifespan(gt fosite.GrantType, tt fosite.TokenType, fallback time.Duration) time.Duration {
	switch tt {
	case fosite.AccessToken:
		if m := c.Client.Metadata; m.AccessTokenTTL > 0 {
			return time.Duration(m.AccessTokenTTL) * time.Second
		}
	case fosite.RefreshToken:
		// -1: fosite leaves the refresh token's expiry to the session. The
		// oidc package sets it: min(now + idle lifetime, the family's
		// absolute end), from RefreshTokenIdleTTL and
		// RefreshTokenAbsoluteTTL or the server defaults.
		return -1
	}
	return fallback
}
