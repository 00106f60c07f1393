// Package login owns authentication: the ceremonies and pages that prove who a
// user is (password now; magic links, passkeys, TOTP and upstream providers as
// they arrive), the browser SSO session, and writing the result onto the
// authorization flow record. It never issues tokens and never imports oidc.
//
// password.go is the password hasher: argon2id (RFC 9106) in PHC string
// format, with bounded concurrency so a burst of sign-ins cannot exhaust
// memory, rehash-on-login when parameters change, and verification of
// imported bcrypt hashes.
package login
