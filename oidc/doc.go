// Package oidc is Janua's OpenID Provider: the fosite composition (only the
// handlers we support), the authorize, token, introspection, revocation,
// userinfo, discovery, JWKS and end-session endpoints, the signing keys and
// their rotation, and the rules for client metadata.
//
// Today it holds the client rules and the client registry used by the CLI
// (`janua clients`); the endpoints arrive with the OpenID Provider issue.
// oidc never renders login or consent pages, never imports login or consent,
// and never touches gorm: it consumes the narrow interfaces in store.go.
package oidc
