// Package rp proves Janua against real relying parties that know nothing of
// it but its issuer URL, run from the outside as a browser would drive them.
//
// Today that is oauth2-proxy v7.15.3, unmodified, built from its own tools
// module (tools/oauth2-proxy, so the main module's dependency graph stays
// clean), protecting a tiny upstream app: it discovers every endpoint from
// Janua's /.well-known/openid-configuration, signs a user in with the code
// flow and PKCE through Janua's own sign-in and consent pages, refreshes the
// session with the refresh token, and logs out both ways oauth2-proxy
// offers: the browser sent through Janua's end_session_endpoint with the
// {id_token} hint, and its back-end logout call.
//
// Building oauth2-proxy takes about a minute on a cold cache, so the tests
// run only with JANUA_TEST_OAUTH2_PROXY=1 (`make rp-oauth2-proxy`, which CI
// runs); `make test` skips them. A tool that cannot be built is a skip, or a
// failure under CI=true. The package has no code of its own and imports no
// Janua package: Janua is built from ./cmd/janua, provisioned with its CLI
// and reached over loopback HTTP only.
package rp
