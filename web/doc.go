// Package web is the HTTP plumbing every page- or API-serving package shares:
// request IDs carried in the context and on every log line, the slog access
// log, panic recovery, security headers with a per-request CSP nonce, the
// client-IP extractor with explicit trusted proxies, health endpoints, the one
// error handler, graceful serving, the browser's identity cookie, CSRF tokens
// bound to it, and Render, which fills in what every page carries.
//
// cmd/janua owns the echo instance and the middleware order:
// request ID → access log → recover → security headers → (CSRF on page groups).
// web imports no other Janua package except the leaf templates.
package web
