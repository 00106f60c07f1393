package oidc

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"
)

// Endpoint paths, relative to the issuer.
const (
	pathAuthorize  = "/oauth2/authorize"
	pathToken      = "/oauth2/token"
	pathUserinfo   = "/userinfo"
	pathIntrospect = "/oauth2/introspect"
	pathRevoke     = "/oauth2/revoke"
	pathEndSession = "/oauth2/logout"
	pathJWKS       = "/.well-known/jwks.json"
	pathDiscovery  = "/.well-known/openid-configuration"
	pathASMetadata = "/.well-known/oauth-authorization-server"
)

// supportedScopes are the scopes Janua defines claims for (OIDC Core §5.4).
func supportedScopes() []string {
	return []string{"openid", "profile", "email", "address", "phone", "offline_access"}
}

// supportedClaims are the claims Janua can return (OIDC Discovery §3).
func supportedClaims() []string {
	return []string{"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "azp", "sid", "at_hash", "c_hash",
		"name", "given_name", "family_name", "middle_name", "nickname", "preferred_username", "profile", "picture", "website",
		"gender", "birthdate", "zoneinfo", "locale", "updated_at", "email", "email_verified", "address", "phone_number",
		"phone_number_verified"}
}

// metadata is the provider metadata (OIDC Discovery §3, RFC 8414 §2),
// serialised once: it changes only with the configuration.
type metadata struct {
	doc  []byte
	etag string
}

func buildMetadata(issuer string, acrValues []string) metadata {
	m := map[string]any{
		"issuer":                                issuer,
		"authorization_endpoint":                issuer + pathAuthorize,
		"token_endpoint":                        issuer + pathToken,
		"userinfo_endpoint":                     issuer + pathUserinfo,
		"jwks_uri":                              issuer + pathJWKS,
		"end_session_endpoint":                  issuer + pathEndSession,
		"introspection_endpoint":                issuer + pathIntrospect,
		"revocation_endpoint":                   issuer + pathRevoke,
		"scopes_supported":                      supportedScopes(),
		"response_types_supported":              SupportedResponseTypes(),
		"response_modes_supported":              []string{"query", "fragment", "form_post"},
		"grant_types_supported":                 []string{GrantAuthorizationCode, GrantImplicit, GrantRefreshToken, GrantClientCredentials},
		"subject_types_supported":               []string{"public", "pairwise"},
		"id_token_signing_alg_values_supported": SupportedSigningAlgs(),
		"userinfo_signing_alg_values_supported": SupportedSigningAlgs(),
		// Present, and without "none": request objects are not supported,
		// and a request carrying one is refused with request_not_supported.
		"request_object_signing_alg_values_supported":      []string{RS256, ES256},
		"request_parameter_supported":                      false,
		"request_uri_parameter_supported":                  false, // OIDC Discovery §3 defaults it to true
		"require_request_uri_registration":                 false,
		"claims_parameter_supported":                       true,
		"claims_supported":                                 supportedClaims(),
		"claim_types_supported":                            []string{"normal"},
		"acr_values_supported":                             acrValues,
		"token_endpoint_auth_methods_supported":            SupportedAuthMethods(),
		"token_endpoint_auth_signing_alg_values_supported": []string{RS256, "PS256", ES256},
		"introspection_endpoint_auth_methods_supported":    []string{AuthClientSecretBasic, AuthClientSecretPost, AuthPrivateKeyJWT},
		"revocation_endpoint_auth_methods_supported":       SupportedAuthMethods(),
		"code_challenge_methods_supported":                 []string{"S256"},
		"authorization_response_iss_parameter_supported":   true, // RFC 9207 §3
		"ui_locales_supported":                             []string{"en", "es"},
		"display_values_supported":                         []string{"page", "popup", "touch"},
		"prompt_values_supported":                          []string{"none", "login", "consent", "select_account"},
	}
	doc, err := json.Marshal(m)
	if err != nil {
		panic("oidc: metadata does not marshal: " + err.Error()) // static map of strings: impossible
	}
	return metadata{doc: doc, etag: etagOf(doc)}
}

// discovery serves the metadata document: both the OpenID Connect and the
// RFC 8414 locations serve the same document.
func (p *Provider) discovery(c echo.Context) error {
	return serveDocument(c, p.meta.doc, p.meta.etag, "public, max-age=3600")
}

// jwks serves the JWK Set: every published key with kid, use and alg.
// Cached briefly, since a rotation must reach verifiers soon.
func (p *Provider) jwks(c echo.Context) error {
	doc, etag := p.keys.JWKS()
	return serveDocument(c, doc, etag, "public, max-age=300")
}

// serveDocument writes a JSON document from memory with its ETag, answering
// a matching If-None-Match with 304, and allows any origin (the documents
// are public and carry no credentials).
func serveDocument(c echo.Context, doc []byte, etag, cache string) error {
	h := c.Response().Header()
	h.Set("Cache-Control", cache)
	h.Set("ETag", etag)
	h.Set("Access-Control-Allow-Origin", "*")
	if c.Request().Header.Get("If-None-Match") == etag {
		return c.NoContent(http.StatusNotModified)
	}
	// A length, so that a document longer than net/http's 2 KiB
	// response buffer is not sent chunked.
	h.Set("Content-Length", strconv.Itoa(len(doc)))
	return c.Blob(http.StatusOK, "application/json", doc)
}
