package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// seedTable is the rows of one table for seedWrite: n rows of cols, row(i)
// giving row i's values as gorm binds them (strings, bools, int64s,
// time.Times, byte slices, nil for NULL). row is called once per row, in
// order, possibly on another goroutine than the caller's, and may build the
// row then: generating the next rows overlaps with the database's work.
type seedTable struct {
	name string
	cols []string
	n    int
	row  func(i int) ([]any, error)
}

// seedWrite writes tables, in order, in one transaction of a connection of
// its own, bypassing gorm (whose reflection and statement building cost
// more than the database's work at millions of rows): COPY on PostgreSQL,
// prepared multi-row INSERTs on SQLite. It must not be called inside a
// transaction of ctx, which it could not join.
func (s *Store) seedWrite(ctx context.Context, tables []seedTable) error {
	if inTx(ctx) {
		return errors.New("bulk insert inside a transaction")
	}
	conn, err := s.sqlDB.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if s.dialect == Postgres {
		return conn.Raw(func(dc any) error {
			sc, ok := dc.(*stdlib.Conn)
			if !ok {
				return fmt.Errorf("bulk insert: driver connection is %T, not pgx", dc)
			}
			return seedCopy(ctx, sc.Conn(), tables)
		})
	}
	return seedInsert(ctx, conn, tables)
}

// seedCopy is seedWrite on PostgreSQL: one COPY (binary format) per table.
func seedCopy(ctx context.Context, conn *pgx.Conn, tables []seedTable) error {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback(ctx) }()
	// Only this transaction skips waiting for its WAL flush: a crash may
	// lose the last batches of a seeding, never corrupt anything, and the
	// seed is run again.
	if _, err := tx.Exec(ctx, "SET LOCAL synchronous_commit = off"); err != nil {
		return err
	}
	for _, t := range tables {
		n, err := tx.CopyFrom(ctx, pgx.Identifier{t.name}, t.cols, pgx.CopyFromSlice(t.n, t.row))
		if err != nil {
			return fmt.Errorf("copy into %s: %w", t.name, err)
		}
		if n != int64(t.n) {
			return fmt.Errorf("copy into %s: %d rows of %d", t.name, n, t.n)
		}
	}
	return tx.Commit(ctx)
}

// seedInsertParams is how many parameters one INSERT of seedInsert binds at
// most: a few dozen rows. The SQLite driver matches each parameter to its
// argument by a scan of all of them, quadratic in the parameters of a
// statement; measured with token rows (16 columns), 32 rows a statement seed
// 50 % faster than 4 and than 128.
const seedInsertParams = 512

// seedCacheKiB is SQLite's page cache during a seed, for the connection
// doing it: inserting random keys into indexes larger than the default 2 MiB
// cache reads the same pages again and again.
const seedCacheKiB = 256 << 10

// seedInsert is seedWrite on SQLite: the rows of each table in INSERTs of
// up to seedInsertParams parameters, each statement prepared once.
func seedInsert(ctx context.Context, conn *sql.Conn, tables []seedTable) (err error) {
	var cache int64
	if err := conn.QueryRowContext(ctx, "PRAGMA cache_size").Scan(&cache); err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("PRAGMA cache_size = -%d", seedCacheKiB)); err != nil {
		return err
	}
	defer func() {
		if _, rerr := conn.ExecContext(context.WithoutCancel(ctx), fmt.Sprintf("PRAGMA cache_size = %d", cache)); rerr != nil && err == nil {
			err = rerr
		}
	}()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	for _, t := range tables {
		if err := insertTable(ctx, tx, t); err != nil {
			return fmt.Errorf("insert into %s: %w", t.name, err)
		}
	}
	return tx.Commit()
}

// insertTable writes t's rows in tx, as many per statement as
// seedInsertParams allows.
func insertTable(ctx context.Context, tx *sql.Tx, t seedTable) error {
	per := max(1, min(seedInsertParams/len(t.cols), t.n))
	full, err := tx.PrepareContext(ctx, multiRowInsert(t.name, t.cols, per))
	if err != nil {
		return err
	}
	defer full.Close()
	args := make([]any, 0, per*len(t.cols))
	for i := range t.n {
		row, err := t.row(i)
		if err != nil {
			return err
		}
		if len(row) != len(t.cols) {
			return fmt.Errorf("row %d has %d values for %d columns", i, len(row), len(t.cols))
		}
		args = append(args, row...)
		if len(args) == cap(args) {
			if _, err := full.ExecContext(ctx, args...); err != nil {
				return err
			}
			args = args[:0]
		}
	}
	if len(args) == 0 {
		return nil
	}
	_, err = tx.ExecContext(ctx, multiRowInsert(t.name, t.cols, len(args)/len(t.cols)), args...)
	return err
}

// multiRowInsert is INSERT INTO name (cols) VALUES (?, …), … for rows rows.
func multiRowInsert(name string, cols []string, rows int) string {
	var b strings.Builder
	tuple := "(?" + strings.Repeat(", ?", len(cols)-1) + ")"
	b.Grow(len(name) + 40 + rows*(len(tuple)+2))
	b.WriteString("INSERT INTO ")
	b.WriteString(name)
	b.WriteString(" (")
	b.WriteString(strings.Join(cols, ", "))
	b.WriteString(") VALUES ")
	for i := range rows {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(tuple)
	}
	return b.String()
}
