package storage

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

//go:embed migrations
var migrationFiles embed.FS

// Migration is one embedded, versioned schema change.
type Migration struct {
	Version  int
	Name     string
	SQL      string
	Checksum string // hex SHA-256 of SQL
}

// Migrations lists the embedded migrations for a dialect in version order.
// Files are migrations/<dialect>/NNNN_name.sql; both dialects carry the same
// versions (a test keeps them in step).
func Migrations(d Dialect) ([]Migration, error) {
	dir := path.Join("migrations", string(d))
	entries, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		return nil, fmt.Errorf("storage: migrations for %s: %w", d, err)
	}
	var out []Migration
	seen := map[int]string{}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		base := strings.TrimSuffix(e.Name(), ".sql")
		num, name, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("storage: migration file %s is not NNNN_name.sql", e.Name())
		}
		if prev, dup := seen[v]; dup {
			return nil, fmt.Errorf("storage: migrations %s and %s share version %d", prev, e.Name(), v)
		}
		seen[v] = e.Name()
		body, err := fs.ReadFile(migrationFiles, path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(body)
		out = append(out, Migration{Version: v, Name: name, SQL: string(body), Checksum: hex.EncodeToString(sum[:])})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// MigrationResult says what Migrate did.
type MigrationResult struct {
	// Applied lists the migrations this call applied, in order.
	Applied []Migration
	// Current is the highest version now recorded in the database.
	Current int
	// Newer is set when the database already holds versions this binary does
	// not know: a newer release migrated it (expand/contract keeps this
	// binary working against it).
	Newer bool
}

const createMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer     PRIMARY KEY,
    name       text        NOT NULL,
    checksum   text        NOT NULL,
    applied_at %s NOT NULL
)`

// Migrate applies every embedded migration the database lacks, each in its
// own transaction, forward only. On PostgreSQL it holds a session-level
// advisory lock (scoped to the current schema) for the whole run, so several
// instances starting together migrate exactly once and the others wait, then
// find nothing to do. On SQLite an flock on a file beside the database plays
// that role. A migration already applied whose embedded text changed is
// an error: shipped migrations are never edited.
func (s *Store) Migrate(ctx context.Context) (MigrationResult, error) {
	var res MigrationResult
	migs, err := Migrations(s.dialect)
	if err != nil {
		return res, err
	}
	conn, err := s.sqlDB.Conn(ctx)
	if err != nil {
		return res, fmt.Errorf("storage: migrate: %w", err)
	}
	defer conn.Close()

	if s.dialect == SQLite {
		unlock, err := lockFile(ctx, s.dbURL.Path+".migrate-lock")
		if err != nil {
			return res, err
		}
		defer unlock()
	}
	if s.dialect == Postgres {
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(hashtext(current_schema() || ':janua-migrate'))`); err != nil {
			return res, fmt.Errorf("storage: migrate: advisory lock: %w", err)
		}
		defer func() {
			// A fresh context: the caller's may be cancelled, and an unlock
			// that never runs holds the lock until the connection closes.
			uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			_, _ = conn.ExecContext(uctx, `SELECT pg_advisory_unlock(hashtext(current_schema() || ':janua-migrate'))`)
		}()
	}
	tsType := "timestamptz"
	if s.dialect == SQLite {
		tsType = "datetime"
	}
	if _, err := conn.ExecContext(ctx, fmt.Sprintf(createMigrationsTable, tsType)); err != nil {
		return res, fmt.Errorf("storage: migrate: create schema_migrations: %w", err)
	}
	applied, err := appliedMigrations(ctx, conn)
	if err != nil {
		return res, err
	}
	known := map[int]bool{}
	for _, m := range migs {
		known[m.Version] = true
		if sum, ok := applied[m.Version]; ok {
			if sum != m.Checksum {
				return res, fmt.Errorf("storage: migration %04d_%s was changed after it was applied (checksum %s in the database, %s embedded): shipped migrations are never edited", m.Version, m.Name, short(sum), short(m.Checksum))
			}
			continue
		}
		ok, err := s.applyMigration(ctx, conn, m)
		if err != nil {
			return res, err
		}
		if ok {
			res.Applied = append(res.Applied, m)
			s.log.InfoContext(ctx, "migration applied", "version", m.Version, "name", m.Name)
		}
	}
	for v := range applied {
		if !known[v] {
			res.Newer = true
		}
	}
	err = conn.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&res.Current)
	if err != nil {
		return res, fmt.Errorf("storage: migrate: read version: %w", err)
	}
	if res.Newer {
		s.log.WarnContext(ctx, "the database schema is newer than this binary; continuing (migrations are expand/contract)", "database_version", res.Current)
	}
	return res, nil
}

// applyMigration runs one migration in a transaction and records it. It
// reports false if another process recorded it first: the locks above make
// that impossible, and this re-check inside the transaction keeps it so even
// if a lock were bypassed.
func (s *Store) applyMigration(ctx context.Context, conn *sql.Conn, m Migration) (bool, error) {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("storage: migration %04d: begin: %w", m.Version, err)
	}
	defer func() { _ = tx.Rollback() }()
	var n int
	if err := tx.QueryRowContext(ctx, s.rebind(`SELECT COUNT(*) FROM schema_migrations WHERE version = ?`), m.Version).Scan(&n); err != nil {
		return false, fmt.Errorf("storage: migration %04d: %w", m.Version, err)
	}
	if n > 0 {
		return false, nil
	}
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return false, fmt.Errorf("storage: migration %04d_%s failed: %w", m.Version, m.Name, err)
	}
	if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (?, ?, ?, ?)`),
		m.Version, m.Name, m.Checksum, s.now()); err != nil {
		return false, fmt.Errorf("storage: migration %04d: record: %w", m.Version, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("storage: migration %04d: commit: %w", m.Version, err)
	}
	return true, nil
}

func appliedMigrations(ctx context.Context, conn *sql.Conn) (map[int]string, error) {
	rows, err := conn.QueryContext(ctx, `SELECT version, checksum FROM schema_migrations`)
	if err != nil {
		return nil, fmt.Errorf("storage: migrate: read schema_migrations: %w", err)
	}
	defer rows.Close()
	out := map[int]string{}
	for rows.Next() {
		var v int
		var sum string
		if err := rows.Scan(&v, &sum); err != nil {
			return nil, err
		}
		out[v] = sum
	}
	return out, rows.Err()
}

// SchemaVersion reports the highest applied migration (0 before any).
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := s.sqlDB.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("storage: schema version: %w", err)
	}
	return v, nil
}

// rebind turns ? placeholders into the dialect's (raw database/sql calls
// only; gorm rebinds its own).
func (s *Store) rebind(q string) string { return s.dialect.Rebind(q) }

func short(sum string) string {
	if len(sum) > 12 {
		return sum[:12]
	}
	return sum
}
