package storagetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "time/tzdata" // the PostgreSQL harness uses a named zone

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx" for schema set-up

	"github.com/madfam-org/janua/storage"
)

// Backend supplies fresh, empty databases to the suite.
type Backend struct {
	Name string
	// NewDatabaseURL returns the JANUA_DATABASE_URL of a database no other
	// test uses; it is dropped when t ends.
	NewDatabaseURL func(t testing.TB) string
}

// Backends returns SQLite, always, and PostgreSQL when
// JANUA_TEST_POSTGRES_DSN is set (a test failure under CI=true when it is
// unset or unreachable, a skip otherwise).
func Backends(t testing.TB) []Backend {
	out := []Backend{SQLiteBackend()}
	if dsn := PostgresDSN(t); dsn != "" {
		out = append(out, PostgresBackend(dsn))
	}
	return out
}

// SQLiteBackend gives each test its own SQLite file in a temporary directory.
func SQLiteBackend() Backend {
	return Backend{Name: "sqlite", NewDatabaseURL: func(t testing.TB) string {
		return "sqlite:" + filepath.Join(t.TempDir(), "janua.db")
	}}
}

// PostgresBackend gives each test a fresh schema in the database at dsn,
// selected through search_path, and a session time zone far from UTC so that
// any code that relies on the server's zone shows up.
func PostgresBackend(dsn string) Backend {
	return Backend{Name: "postgres", NewDatabaseURL: func(t testing.TB) string {
		schema := "t_" + randomHex(8)
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			t.Fatalf("postgres: %v", err)
		}
		defer db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := db.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
			t.Fatalf("postgres: create schema: %v", err)
		}
		t.Cleanup(func() {
			db, err := sql.Open("pgx", dsn)
			if err != nil {
				return
			}
			defer db.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if _, err := db.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
				t.Logf("postgres: drop schema %s: %v", schema, err)
			}
		})
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatalf("postgres: bad DSN: %v", err)
		}
		q := u.Query()
		q.Set("search_path", schema)
		// gorm's driver reads timezone= unescaped from the DSN.
		u.RawQuery = q.Encode() + "&timezone=Asia/Kolkata"
		return u.String()
	}}
}

// PostgresDSN returns JANUA_TEST_POSTGRES_DSN after checking the server
// answers. Unset or unreachable: "" and a skip note, or a failure under CI=true.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("JANUA_TEST_POSTGRES_DSN")
	if dsn == "" {
		missingServer(t, "JANUA_TEST_POSTGRES_DSN is not set")
		return ""
	}
	db, err := sql.Open("pgx", dsn)
	if err == nil {
		defer db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err = db.PingContext(ctx)
	}
	if err != nil {
		missingServer(t, fmt.Sprintf("PostgreSQL at JANUA_TEST_POSTGRES_DSN is unreachable: %v", err))
		return ""
	}
	return dsn
}

// missingServer reports an absent test server: fatal under CI=true, a log
// line otherwise (the caller then skips or runs what it can without it).
func missingServer(t testing.TB, why string) {
	t.Helper()
	if strings.EqualFold(os.Getenv("CI"), "true") {
		t.Fatalf("%s (CI=true: a test server that cannot be reached is a failure)", why)
	}
	t.Logf("test server missing: %s", why)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// OpenSQLite returns a migrated store on a fresh SQLite file, closed when t
// ends: the quick real database for other packages' tests.
func OpenSQLite(t testing.TB) *storage.Store {
	t.Helper()
	ctx := context.Background()
	s, err := storage.Open(ctx, storage.Options{URL: SQLiteBackend().NewDatabaseURL(t), Secret: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return s
}
