package oidc

import (
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"slices"
	"sort"
	"strings"
	"unicode"

	"github.com/go-jose/go-jose/v4"

	"github.com/madfam-org/janua/storage"
)

// Token endpoint authentication methods (OIDC Core §9, RFC 7591 §2).
const (
	AuthClientSecretBasic = "client_secret_basic"
	AuthClientSecretPost  = "client_secret_post"
	AuthPrivateKeyJWT     = "private_key_jwt"
	AuthNone              = "none"
)

// Grant types (RFC 6749, RFC 7591 §2).
const (
	GrantAuthorizationCode = "authorization_code"
	GrantRefreshToken      = "refresh_token"
	GrantClientCredentials = "client_credentials"
	GrantImplicit          = "implicit"
)

// SupportedAuthMethods lists the token endpoint authentication methods.
func SupportedAuthMethods() []string {
	return []string{AuthClientSecretBasic, AuthClientSecretPost, AuthPrivateKeyJWT, AuthNone}
}

// SupportedGrantTypes lists the grants a client may register.
func SupportedGrantTypes() []string {
	return []string{GrantAuthorizationCode, GrantRefreshToken, GrantClientCredentials, GrantImplicit}
}

// SupportedResponseTypes lists the response types, each in canonical order.
func SupportedResponseTypes() []string {
	return []string{"code", "id_token", "id_token token", "code id_token", "code token", "code id_token token"}
}

// SupportedSigningAlgs are the JWS algorithms for ID tokens and userinfo.
func SupportedSigningAlgs() []string { return []string{"RS256", "ES256", "EdDSA"} }

// DefaultScopes are registered when a client names none.
func DefaultScopes() []string {
	return []string{"openid", "profile", "email", "address", "phone", "offline_access"}
}

// ClientSpec is what an operator (or, later, dynamic registration) asks for.
// Validate turns it into a storage.Client or names every problem.
type ClientSpec struct {
	ID                      string
	Name                    string
	RedirectURIs            []string
	PostLogoutRedirectURIs  []string
	GrantTypes              []string
	ResponseTypes           []string
	Scopes                  []string // each entry may hold several space-separated scopes
	TokenEndpointAuthMethod string
	Public                  bool
	FirstParty              bool
	Metadata                storage.ClientMetadata
}

// FieldProblem is one invalid metadata field.
type FieldProblem struct {
	Field  string
	Reason string
}

// MetadataError lists every problem of a ClientSpec. Code is the RFC 7591
// §3.2.2 error code a registration endpoint would return.
type MetadataError struct {
	Problems []FieldProblem
}

func (e *MetadataError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.Field + ": " + p.Reason
	}
	return "invalid client metadata: " + strings.Join(parts, "; ")
}

// Code is invalid_redirect_uri when a redirect URI is at fault, else
// invalid_client_metadata (RFC 7591 §3.2.2).
func (e *MetadataError) Code() string {
	for _, p := range e.Problems {
		if p.Field == "redirect_uris" {
			return "invalid_redirect_uri"
		}
	}
	return "invalid_client_metadata"
}

type specCheck struct{ probs []FieldProblem }

func (c *specCheck) add(field, format string, args ...any) {
	c.probs = append(c.probs, FieldProblem{Field: field, Reason: fmt.Sprintf(format, args...)})
}

// Normalize fills defaults and returns the client record the spec describes
// (without ID or secret when the spec leaves them to the server), or a
// *MetadataError naming every problem.
func (s ClientSpec) Normalize() (*storage.Client, error) {
	var c specCheck
	name := strings.TrimSpace(s.Name)
	switch {
	case name == "":
		c.add("client_name", "is required")
	case len(name) > 200 || strings.IndexFunc(name, unicode.IsControl) >= 0:
		c.add("client_name", "must be at most 200 printable characters")
	}
	if s.ID != "" && !validClientID(s.ID) {
		c.add("client_id", "must be 1 to 128 characters of A-Z a-z 0-9 . _ ~ -")
	}

	method := s.TokenEndpointAuthMethod
	if method == "" {
		method = AuthClientSecretBasic
		if s.Public {
			method = AuthNone
		}
	}
	switch {
	case !slices.Contains(SupportedAuthMethods(), method):
		c.add("token_endpoint_auth_method", "%q is not one of %s", method, strings.Join(SupportedAuthMethods(), ", "))
	case s.Public && method != AuthNone:
		c.add("token_endpoint_auth_method", "a public client authenticates with \"none\", not %q", method)
	case !s.Public && method == AuthNone:
		c.add("token_endpoint_auth_method", "\"none\" is only for public clients (use --public)")
	}

	grants := dedupe(s.GrantTypes)
	if len(grants) == 0 {
		grants = []string{GrantAuthorizationCode, GrantRefreshToken}
	}
	for _, g := range grants {
		if !slices.Contains(SupportedGrantTypes(), g) {
			c.add("grant_types", "%q is not one of %s", g, strings.Join(SupportedGrantTypes(), ", "))
		}
	}
	if s.Public && slices.Contains(grants, GrantClientCredentials) {
		c.add("grant_types", "a public client cannot use client_credentials (RFC 6749 §4.4)")
	}

	var responses []string
	for _, rt := range s.ResponseTypes {
		responses = append(responses, canonicalResponseType(rt))
	}
	responses = dedupe(responses)
	redirecting := slices.Contains(grants, GrantAuthorizationCode) || slices.Contains(grants, GrantImplicit)
	if len(responses) == 0 && redirecting {
		responses = []string{"code"}
		if !slices.Contains(grants, GrantAuthorizationCode) {
			responses = []string{"id_token"}
		}
	}
	for _, rt := range responses {
		if !slices.Contains(SupportedResponseTypes(), rt) {
			c.add("response_types", "%q is not one of %s", rt, strings.Join(SupportedResponseTypes(), ", "))
			continue
		}
		// OIDC Registration §2: each response type needs its grant types.
		if strings.Contains(rt, "code") && !slices.Contains(grants, GrantAuthorizationCode) {
			c.add("response_types", "%q needs the authorization_code grant type", rt)
		}
		if rt != "code" && !slices.Contains(grants, GrantImplicit) {
			c.add("response_types", "%q needs the implicit grant type", rt)
		}
	}
	if slices.Contains(grants, GrantImplicit) && !slices.ContainsFunc(responses, func(rt string) bool { return rt != "code" }) {
		c.add("grant_types", "implicit needs a response type that returns tokens from the authorization endpoint (id_token, ...)")
	}

	redirects := dedupe(s.RedirectURIs)
	if redirecting && len(redirects) == 0 {
		c.add("redirect_uris", "at least one is required for the authorization_code or implicit grant")
	}
	for _, u := range redirects {
		if why := checkRedirectURI(u, s.Public); why != "" {
			c.add("redirect_uris", "%q %s", u, why)
		}
	}
	postLogout := dedupe(s.PostLogoutRedirectURIs)
	for _, u := range postLogout {
		if why := checkRedirectURI(u, s.Public); why != "" {
			c.add("post_logout_redirect_uris", "%q %s", u, why)
		}
	}

	var scopes []string
	for _, entry := range s.Scopes {
		scopes = append(scopes, strings.Fields(entry)...)
	}
	scopes = dedupe(scopes)
	if len(scopes) == 0 {
		scopes = DefaultScopes()
	}
	for _, sc := range scopes {
		if !validScopeToken(sc) {
			c.add("scope", "%q is not a valid scope token (RFC 6749 §3.3)", sc)
		}
	}

	m := s.Metadata
	checkMetadataURIs(&c, m)
	checkKeys(&c, m, method)
	if m.IDTokenSignedResponseAlg != "" && !slices.Contains(SupportedSigningAlgs(), m.IDTokenSignedResponseAlg) {
		c.add("id_token_signed_response_alg", "%q is not one of %s", m.IDTokenSignedResponseAlg, strings.Join(SupportedSigningAlgs(), ", "))
	}
	if a := m.TokenEndpointAuthSigningAlg; a != "" && !slices.Contains(assertionAlgs(), a) {
		c.add("token_endpoint_auth_signing_alg", "%q is not one of %s", a, strings.Join(assertionAlgs(), ", "))
	}
	if m.UserinfoSignedResponseAlg != "" && !slices.Contains(SupportedSigningAlgs(), m.UserinfoSignedResponseAlg) {
		c.add("userinfo_signed_response_alg", "%q is not one of %s", m.UserinfoSignedResponseAlg, strings.Join(SupportedSigningAlgs(), ", "))
	}
	switch m.SubjectType {
	case "", "public":
		if m.SectorIdentifierURI != "" {
			c.add("sector_identifier_uri", "is only meaningful with subject_type pairwise")
		}
	case "pairwise":
	default:
		c.add("subject_type", "%q must be public or pairwise", m.SubjectType)
	}
	switch m.AccessTokenFormat {
	case "", "opaque", "jwt":
	default:
		c.add("access_token_format", "%q must be opaque or jwt", m.AccessTokenFormat)
	}
	if a := m.AccessTokenSigningAlg; a != "" {
		if !slices.Contains(SupportedSigningAlgs(), a) {
			c.add("access_token_signed_response_alg", "%q is not one of %s", a, strings.Join(SupportedSigningAlgs(), ", "))
		} else if m.AccessTokenFormat != "jwt" {
			c.add("access_token_signed_response_alg", "is only meaningful with access_token_format jwt")
		}
	}
	for field, v := range map[string]int64{"access_token_ttl": m.AccessTokenTTL, "refresh_token_idle_ttl": m.RefreshTokenIdleTTL,
		"refresh_token_absolute_ttl": m.RefreshTokenAbsoluteTTL, "default_max_age": m.DefaultMaxAge} {
		if v < 0 {
			c.add(field, "must not be negative")
		}
	}

	if len(c.probs) > 0 {
		sort.SliceStable(c.probs, func(i, j int) bool { return c.probs[i].Field < c.probs[j].Field })
		return nil, &MetadataError{Problems: c.probs}
	}
	return &storage.Client{
		ID:                      s.ID,
		Name:                    name,
		Public:                  s.Public,
		FirstParty:              s.FirstParty,
		TokenEndpointAuthMethod: method,
		RedirectURIs:            redirects,
		PostLogoutRedirectURIs:  postLogout,
		GrantTypes:              grants,
		ResponseTypes:           responses,
		Scopes:                  scopes,
		Metadata:                m,
	}, nil
}

// needsSecret reports whether the server issues a client secret.
func needsSecret(method string) bool {
	return method == AuthClientSecretBasic || method == AuthClientSecretPost
}

// checkRedirectURI returns why u cannot be registered, or "".
// RFC 6749 §3.1.2: absolute, no fragment. RFC 9700 §2.1 / RFC 8252: https, or
// http on a loopback address, or (native, public clients) a private-use
// scheme in reverse-domain form (RFC 8252 §7.1).
func checkRedirectURI(raw string, public bool) string {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return "is not a valid URI"
	case !u.IsAbs():
		return "must be an absolute URI"
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return "must not contain a fragment (RFC 6749 §3.1.2)"
	case u.User != nil:
		return "must not contain user info"
	}
	switch u.Scheme {
	case "https":
		if u.Host == "" {
			return "has no host"
		}
		return ""
	case "http":
		if isLoopback(u.Hostname()) {
			return ""
		}
		return "must use https (http is allowed only for loopback addresses, RFC 8252 §7.3)"
	case "javascript", "data", "file", "vbscript", "about", "blob":
		return "uses a scheme that is never a valid redirect"
	}
	if !public {
		return "must use https (private-use schemes are for native, public clients, RFC 8252 §7.1)"
	}
	if !strings.Contains(u.Scheme, ".") {
		return "private-use schemes must be reverse domain names like com.example.app (RFC 8252 §7.1)"
	}
	return ""
}

// isLoopback reports whether host is a loopback IP literal or "localhost".
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func checkMetadataURIs(c *specCheck, m storage.ClientMetadata) {
	for field, v := range map[string]string{"logo_uri": m.LogoURI, "client_uri": m.ClientURI, "policy_uri": m.PolicyURI,
		"tos_uri": m.TosURI, "jwks_uri": m.JWKSURI, "sector_identifier_uri": m.SectorIdentifierURI} {
		if v == "" {
			continue
		}
		u, err := url.Parse(v)
		if err != nil || !u.IsAbs() || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname()))) {
			c.add(field, "%q must be an absolute https URL", v)
		}
	}
}

// checkKeys validates a client's own keys: private_key_jwt needs exactly one
// of jwks and jwks_uri (OIDC Registration §2), and a jwks must hold public
// keys only.
func checkKeys(c *specCheck, m storage.ClientMetadata, method string) {
	hasJWKS := len(m.JWKS) > 0
	if hasJWKS && m.JWKSURI != "" {
		c.add("jwks", "jwks and jwks_uri must not both be present (OIDC Registration §2)")
	}
	if method == AuthPrivateKeyJWT && !hasJWKS && m.JWKSURI == "" {
		c.add("jwks", "private_key_jwt needs the client's public keys: jwks or jwks_uri")
	}
	if !hasJWKS {
		return
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(m.JWKS, &set); err != nil {
		c.add("jwks", "is not a JWK Set: %v", err)
		return
	}
	if len(set.Keys) == 0 {
		c.add("jwks", "holds no keys")
	}
	for i, k := range set.Keys {
		if !k.IsPublic() {
			c.add("jwks", "key %d is private: register public keys only", i)
		}
	}
}

func canonicalResponseType(rt string) string {
	parts := strings.Fields(rt)
	order := map[string]int{"code": 0, "id_token": 1, "token": 2}
	sort.SliceStable(parts, func(i, j int) bool { return order[parts[i]] < order[parts[j]] })
	return strings.Join(parts, " ")
}

// validScopeToken: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ) (RFC 6749 §3.3).
func validScopeToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		if b < 0x21 || b == 0x22 || b == 0x5C || b > 0x7E {
			return false
		}
	}
	return true
}

func validClientID(id string) bool {
	if len(id) == 0 || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		b := id[i]
		if !(b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '.' || b == '_' || b == '~' || b == '-') {
			return false
		}
	}
	return true
}

func dedupe(in []string) []string {
	var out []string
	for _, s := range in {
		s = strings.TrimSpace(s)
		if s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}
