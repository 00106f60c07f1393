// Command janua-load drives a running Janua — or any OpenID Connect issuer,
// found from its discovery document — on loopback, for a bounded time and
// with bounded concurrency, and reports what the server did with it:
// operations per second, latency percentiles, errors (any unexpected status
// or body is an error, never a success), the server's CPU time per
// operation from its own process accounting (/proc/PID/stat, or
// process_cpu_seconds_total on Janua's metrics listener), its resident
// memory before, at peak and after, and database statements per operation
// (janua_db_statements_total).
//
// Scenarios (scenario.go lists them): discovery, jwks, cc-opaque,
// cc-jwt-es256, cc-jwt-rs256, introspect, refresh, userinfo, code (the
// authorization-code flow with PKCE for a user with a live SSO session, ID
// token verified with go-oidc) and password (sign-in through the login
// page). An operation is one request, except code (authorize, its
// redirects and the token request) and password (the login page and its
// form post); the report gives requests per operation.
//
// `janua-load setup` registers the clients and seeds the users the
// scenarios need through the janua CLI and writes the fixture file that
// `janua-load --fixture` reads (bench/run.sh uses both). `janua-load disk`
// times durable 8 KiB writes (write + fdatasync, as a PostgreSQL commit
// flushes its log): a disk whose flushes stall for tens of milliseconds
// bounds every latency percentile above them.
//
// Files: main.go (command line), options.go (flags, fixture), runner.go
// (closed and open loop, latency), scenario.go and scenario_*.go (each
// scenario's set-up and step), browser.go (a cookie-jar browser for the
// login page and redirects), provider.go (discovery, JWT checks), server.go
// (server CPU, memory, statements), report.go (text, JSON, Markdown),
// setup.go (the fixture), disk.go (the flush probe).
package main
