package storage

import (
	"fmt"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/glebarez/sqlite"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
)

// Dialect is the SQL database family behind a Store.
type Dialect string

// The supported dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

func (d Dialect) defaultMaxOpenConns() int {
	if d == SQLite {
		// One connection: SQLite has one writer anyway, and with several
		// connections a connection whose read snapshot is older than another
		// connection's commit fails its next write at once with
		// SQLITE_BUSY_SNAPSHOT, whatever busy_timeout says. One connection
		// serialises every write and never sees that; reads outside a
		// transaction go to a read-only pool beside it (readers.go).
		return 1
	}
	return 20
}

// groupCommitFlushers is how many group-commit batches may be in flight
// (groupcommit.go): one on SQLite, which writes through one connection;
// two on PostgreSQL, so that a batch waiting on its WAL flush does not hold
// up the next. More flushers make smaller batches and more commits: with
// eight grants at a time, two flushers measured 0.41 statements and 160–235
// µs per grant in BenchmarkHandlers, four 0.67 and 250–420 µs, eight (no
// grouping) 1.0 and 410–570 µs.
func (d Dialect) groupCommitFlushers() int {
	if d == SQLite {
		return 1
	}
	return 2
}

// Rebind turns ? placeholders into $1, $2, … for PostgreSQL, for raw
// database/sql queries (gorm rebinds its own).
func (d Dialect) Rebind(q string) string {
	if d != Postgres {
		return q
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// DatabaseURL is a parsed JANUA_DATABASE_URL.
type DatabaseURL struct {
	Dialect Dialect
	// Path is the SQLite file (SQLite only).
	Path string
	// DSN is what the driver receives.
	DSN string
}

// ParseDatabaseURL understands:
//
//	postgres://user:pass@host:5432/db?sslmode=disable   (also postgresql://)
//	sqlite:data/janua.db       relative path
//	sqlite:///var/lib/janua.db absolute path
//	file:data/janua.db         same as sqlite:
//
// SQLite always gets WAL, busy_timeout, foreign keys, immediate write
// transactions and a sortable UTC time format, whatever the URL says.
func ParseDatabaseURL(raw string) (DatabaseURL, error) {
	raw = strings.TrimSpace(raw)
	switch {
	case raw == "":
		return DatabaseURL{}, fmt.Errorf("storage: empty database URL")
	case strings.HasPrefix(raw, "postgres://"), strings.HasPrefix(raw, "postgresql://"):
		u, err := url.Parse(raw)
		if err != nil {
			return DatabaseURL{}, fmt.Errorf("storage: database URL is not a valid URL")
		}
		if u.Host == "" {
			return DatabaseURL{}, fmt.Errorf("storage: PostgreSQL URL %q has no host", redactURL(u))
		}
		return DatabaseURL{Dialect: Postgres, DSN: raw}, nil
	case strings.HasPrefix(raw, "sqlite:"), strings.HasPrefix(raw, "file:"):
		rest := raw[strings.Index(raw, ":")+1:]
		rest = strings.TrimPrefix(rest, "//")
		if i := strings.IndexByte(rest, '?'); i >= 0 {
			rest = rest[:i] // our pragmas are not negotiable
		}
		if rest == "" {
			return DatabaseURL{}, fmt.Errorf("storage: SQLite URL %q names no file", raw)
		}
		if rest == ":memory:" {
			return DatabaseURL{}, fmt.Errorf("storage: in-memory SQLite is not supported (each connection would see its own database); use a file")
		}
		path := filepath.Clean(rest)
		return DatabaseURL{Dialect: SQLite, Path: path, DSN: sqliteDSN(path)}, nil
	default:
		return DatabaseURL{}, fmt.Errorf("storage: database URL must use the postgres, postgresql, sqlite or file scheme")
	}
}

func sqliteDSN(path string) string {
	q := url.Values{}
	// busy_timeout first: the journal-mode switch of a new file takes a lock
	// that concurrent openers must wait for, not fail on.
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	// The store's own connection checkpoints, off the request path
	// (checkpoint.go).
	q.Add("_pragma", "wal_autocheckpoint(0)")
	// Statement journals in memory: a statement inside a transaction of
	// several (the group commit's, oauth2_redeem.go) keeps the pages it
	// changes so that it can be undone alone, and past 64 KiB SQLite
	// spilled them to a temporary file it created, wrote and unlinked for
	// the statement (https://sqlite.org/tempfiles.html#stmtjrnl). They
	// last one statement. Other temporary tables (sorts, index builds)
	// are in memory too: Janua's statements sort a few rows at most.
	q.Add("_pragma", "temp_store(2)")
	q.Set("_txlock", "immediate")
	q.Set("_time_format", "sqlite")
	return "file:" + path + "?" + q.Encode()
}

// Redacted is the URL with any password replaced, for logs and banners.
func (d DatabaseURL) Redacted() string {
	if d.Dialect == SQLite {
		return "sqlite:" + d.Path
	}
	u, err := url.Parse(d.DSN)
	if err != nil {
		return "postgres://(unparseable)"
	}
	return redactURL(u)
}

func redactURL(u *url.URL) string {
	c := *u
	if c.User != nil {
		if _, ok := c.User.Password(); ok {
			c.User = url.UserPassword(c.User.Username(), "xxxxx")
		}
	}
	q := c.Query()
	if q.Has("password") {
		q.Set("password", "xxxxx")
		c.RawQuery = q.Encode()
	}
	return c.String()
}

func (d DatabaseURL) dialector() gorm.Dialector {
	if d.Dialect == SQLite {
		return sqlite.Open(d.DSN)
	}
	return postgres.New(postgres.Config{DSN: d.DSN})
}
