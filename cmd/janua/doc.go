// Command janua is the one binary: `janua serve` runs the OpenID Provider,
// and the other subcommands (migrate, users, clients, config, version)
// administer it from the shell. main is thin: it calls run with the process's
// arguments, environment and standard streams, so tests drive the very same
// code in-process.
//
// cmd/janua owns configuration loading, the logger, opening storage and hot
// state, building each package with New(...), mounting routes, the
// middleware order and graceful shutdown. It holds no protocol or business
// logic.
package main
