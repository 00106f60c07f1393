// Package storagetest is the one conformance suite every storage backend
// runs: the same named subtests against SQLite (always) and PostgreSQL (when
// JANUA_TEST_POSTGRES_DSN is set), and the hot-state suite against memory and
// Redis (when JANUA_TEST_REDIS_ADDR is set). With CI=true a server that cannot
// be reached fails the test instead of skipping it.
//
// Only tests import this package.
package storagetest
