// Package storage is Janua's persistence layer: the gorm store over SQLite
// (pure Go, the embedded default) or PostgreSQL, the record types, the
// sentinel errors every caller matches with errors.Is, the embedded versioned
// migrations, transactions carried in the context, garbage collection of
// expired rows, the one-time secrets Janua mails (emailtoken.go), and the
// shared hot state (rate-limit counters, one-time-use
// markers, short-lived values, cache-invalidation broadcasts) kept in memory
// or in Redis. Store.Stats counts the statements sent, by kind (stats.go),
// for the metrics endpoint and the load tool's statements per request.
//
// storage imports no other Janua package. Callers declare the narrow
// interfaces they consume; *Store satisfies them.
package storage
