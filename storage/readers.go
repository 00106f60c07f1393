package storage

import (
	"context"
	"database/sql"
	"runtime"
	"time"

	"gorm.io/gorm"
)

// Reads beside the writer (SQLite only).
//
// The store writes SQLite through one connection (defaultMaxOpenConns says
// why), and a read on it waits for every write and transaction queued
// before it. In WAL mode readers never block the writer nor each other
// (https://sqlite.org/wal.html#concurrency), so the reads a request makes
// outside any transaction (a token for introspection or userinfo, a user,
// a consent grant, a browser session) go to a pool of read-only
// connections instead: with the machine's cores reading at once, and
// never behind a write. A read sees every commit made before it starts;
// Janua answers a request only once its writes have committed, so a
// request never misses what an earlier one wrote. Reads inside a
// transaction stay on it.

// newReaderPool opens the read-only pool beside pool (the store's writer):
// its connections are opened as needed, one per processor at most, and
// refuse to write (query_only).
func newReaderPool(pool *sql.DB, dsn string) *sql.DB {
	db := sql.OpenDB(dsnConnector{d: pool.Driver(), dsn: dsn + "&_pragma=query_only(1)"})
	n := max(2, runtime.GOMAXPROCS(0))
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	db.SetConnMaxIdleTime(5 * time.Minute)
	return db
}

// readerOf is gdb with its statements sent to readers: the same
// configuration and callbacks (the statement counter among them), another
// connection pool.
func readerOf(gdb *gorm.DB, readers *sql.DB) *gorm.DB {
	// A context makes Session clone the statement, so that setting its
	// pool leaves gdb's alone.
	r := gdb.Session(&gorm.Session{NewDB: true, Context: context.Background()})
	r.Statement.ConnPool = readers
	return r
}

// reader is the handle for a read: ctx's transaction if it carries one,
// else the read-only pool on SQLite, else the pool.
func (s *Store) reader(ctx context.Context) *gorm.DB {
	if inTx(ctx) {
		return s.db(ctx)
	}
	if s.rdb != nil {
		return s.rdb.WithContext(ctx)
	}
	return s.gdb.WithContext(ctx)
}

// oauth2Reader is oauth2DB for a read: inside a transaction, after its
// pending OAuth 2.0 inserts; outside, a reader.
func (s *Store) oauth2Reader(ctx context.Context) (*gorm.DB, error) {
	if inTx(ctx) {
		return s.oauth2DB(ctx)
	}
	return s.reader(ctx), nil
}
