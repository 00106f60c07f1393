package storage

import (
	"sync/atomic"

	"gorm.io/gorm"
)

// StatementKind is what a counted database round trip was: one of gorm's
// statement processors, or a transaction boundary.
type StatementKind int

// The kinds of statements Stats counts.
const (
	StatementQuery    StatementKind = iota // read through Find, Take, First … (a SELECT, or an UPDATE … RETURNING read with Find)
	StatementCreate                        // INSERT (one per batch)
	StatementUpdate                        // UPDATE
	StatementDelete                        // DELETE
	StatementRow                           // Row / Rows (the store reads results with Find: gorm's Scan logs parameters)
	StatementRaw                           // Exec of hand-written SQL
	StatementBegin                         // BEGIN
	StatementCommit                        // COMMIT
	StatementRollback                      // ROLLBACK
	numStatementKinds
)

var statementKindNames = [numStatementKinds]string{"query", "create", "update", "delete", "row", "raw", "begin", "commit", "rollback"}

// String is the kind's label on the metrics endpoint.
func (k StatementKind) String() string {
	if k < 0 || k >= numStatementKinds {
		return "unknown"
	}
	return statementKindNames[k]
}

// StatementKinds lists every kind, in a stable order.
func StatementKinds() []StatementKind {
	out := make([]StatementKind, numStatementKinds)
	for i := range out {
		out[i] = StatementKind(i)
	}
	return out
}

// Stats is a snapshot of the statements a Store has sent since it opened,
// by kind. Migrations and health pings are not counted.
type Stats struct {
	Statements [numStatementKinds]uint64
}

// Of returns the count of one kind.
func (s Stats) Of(k StatementKind) uint64 {
	if k < 0 || k >= numStatementKinds {
		return 0
	}
	return s.Statements[k]
}

// Total is the count of every kind: the database round trips.
func (s Stats) Total() uint64 {
	var n uint64
	for _, v := range s.Statements {
		n += v
	}
	return n
}

// Stats returns how many statements the store has sent so far. It is cheap
// (a few atomic loads) and safe to call concurrently with anything.
func (s *Store) Stats() Stats {
	var out Stats
	for i := range s.stats.n {
		out.Statements[i] = s.stats.n[i].Load()
	}
	return out
}

// statementCounter counts statements with one atomic add each: no lock on
// the hot path. Counters are padded apart so the kinds two cores bump at
// once do not share a cache line.
type statementCounter struct {
	n [numStatementKinds]paddedCounter
}

type paddedCounter struct {
	atomic.Uint64
	_ [56]byte
}

func (c *statementCounter) add(k StatementKind) { c.n[k].Add(1) }

// register installs one callback after each of gorm's statement
// processors. A callback whose statement was never built (gorm stopped
// before reaching the database) is not counted.
func (c *statementCounter) register(db *gorm.DB) error {
	count := func(kind StatementKind) func(*gorm.DB) {
		return func(db *gorm.DB) {
			if db.Statement != nil && db.Statement.SQL.Len() > 0 && !db.DryRun {
				c.add(kind)
			}
		}
	}
	const name = "janua:count_statements"
	cb := db.Callback()
	for _, err := range []error{
		cb.Query().After("gorm:query").Register(name, count(StatementQuery)),
		cb.Create().After("gorm:create").Register(name, count(StatementCreate)),
		cb.Update().After("gorm:update").Register(name, count(StatementUpdate)),
		cb.Delete().After("gorm:delete").Register(name, count(StatementDelete)),
		cb.Row().After("gorm:row").Register(name, count(StatementRow)),
		cb.Raw().After("gorm:raw").Register(name, count(StatementRaw)),
	} {
		if err != nil {
			return err
		}
	}
	return nil
}
