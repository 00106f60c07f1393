package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"gorm.io/gorm"
)

// Options configure Open.
type Options struct {
	// URL selects the database: "postgres://…" or "postgresql://…" for
	// PostgreSQL, "sqlite:PATH" (or "sqlite:///abs/path", "file:PATH") for
	// the embedded SQLite database. See ParseDatabaseURL.
	URL string
	// Secret is the key-encryption secret (JANUA_SECRET). Signing keys and
	// other secrets that must be read back are sealed with a key derived from
	// it before they reach the database. Required.
	Secret []byte
	// Logger receives slow-query and error lines; nil discards them.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now. Tests inject a fixed clock.
	Now func() time.Time
	// MaxOpenConns bounds the connection pool (0: a default per dialect).
	MaxOpenConns int

	// walRestartPages overrides walRestartPages (tests).
	walRestartPages int
}

// Store is Janua's persistence: one gorm handle over SQLite or PostgreSQL.
// It is safe for concurrent use. Methods take the transaction, if any, from
// the context (see BeginTX).
type Store struct {
	gdb     *gorm.DB
	sqlDB   *sql.DB
	dialect Dialect
	log     *slog.Logger
	clock   func() time.Time
	seal    *sealer
	dbURL   DatabaseURL
	// codeKey keys the HMAC of backup codes (backupcode.go).
	codeKey []byte
	stats   *statementCounter
	// mailKey keys the hashes of mailed short codes (emailtoken.go).
	mailKey []byte
	// inserts group-commits OAuth 2.0 rows written outside a transaction
	// (groupcommit.go).
	inserts *groupCommit
	// insertSQL caches oauth2Insert's statements by row count.
	insertSQL [groupCommitMax + 1]atomic.Pointer[string]
	// rdb reads beside the writer on SQLite (readers.go), through readers;
	// nil on PostgreSQL.
	rdb     *gorm.DB
	readers *sql.DB
	// ckpt checkpoints the SQLite WAL off the request path (checkpoint.go);
	// nil on PostgreSQL.
	ckpt *checkpointer
	// clientResolver, when set, supplies the clients of token reads
	// (ResolveClientsWith).
	clientResolver atomic.Pointer[ClientResolver]
	// tokens, when set, keeps access token rows read (tokencache.go).
	tokens atomic.Pointer[accessCache]
	// handoff keeps the rows of codes this instance issued for the token
	// request that redeems them (codehandoff.go).
	handoff *codeHandoff
}

// Open connects to the database named by opts.URL. It does not migrate:
// call Migrate (janua serve and janua migrate do).
func Open(ctx context.Context, opts Options) (*Store, error) {
	db, err := ParseDatabaseURL(opts.URL)
	if err != nil {
		return nil, err
	}
	if len(opts.Secret) == 0 {
		return nil, errors.New("storage: a key-encryption secret is required")
	}
	if db.Dialect == SQLite {
		if err := os.MkdirAll(filepath.Dir(db.Path), 0o700); err != nil {
			return nil, fmt.Errorf("storage: create directory for %s: %w", db.Path, err)
		}
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	clock := opts.Now
	if clock == nil {
		clock = time.Now
	}
	gdb, err := gorm.Open(db.dialector(), &gorm.Config{
		TranslateError: true,
		// No gorm PrepareStmt: a statement it first prepares inside a
		// transaction is bound to that transaction, and database/sql
		// prepares it again in every later one (Tx.StmtContext with a
		// transaction's Stmt), a round trip more per statement on
		// PostgreSQL. pgx prepares and caches statements per connection
		// by itself (QueryExecModeCacheStatement, its default), in and out
		// of transactions alike.
		PrepareStmt:            false,
		SkipDefaultTransaction: true,
		NowFunc:                func() time.Time { return utc(clock()) },
		Logger:                 newGormLogger(log),
	})
	if err != nil {
		return nil, fmt.Errorf("storage: open %s: %w", db.Redacted(), err)
	}
	stats := &statementCounter{}
	if err := stats.register(gdb); err != nil {
		return nil, fmt.Errorf("storage: statement counter: %w", err)
	}
	sqlDB, err := gdb.DB()
	if err != nil {
		return nil, fmt.Errorf("storage: %w", err)
	}
	maxOpen := opts.MaxOpenConns
	if maxOpen <= 0 {
		maxOpen = db.Dialect.defaultMaxOpenConns()
	}
	sqlDB.SetMaxOpenConns(maxOpen)
	sqlDB.SetMaxIdleConns(maxOpen)
	sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	if err := sqlDB.PingContext(ctx); err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("storage: connect to %s: %w", db.Redacted(), err)
	}
	s := &Store{
		gdb:     gdb,
		sqlDB:   sqlDB,
		dialect: db.Dialect,
		log:     log,
		clock:   clock,
		seal:    newSealer(opts.Secret),
		dbURL:   db,
		codeKey: newCodeKey(opts.Secret),
		stats:   stats,
		mailKey: newEmailCodeKey(opts.Secret),
	}
	if db.Dialect == SQLite {
		s.ckpt, err = newCheckpointer(ctx, sqlDB, db.DSN, log, checkpointInterval, opts.walRestartPages)
		if err != nil {
			_ = sqlDB.Close()
			return nil, err
		}
		s.readers = newReaderPool(sqlDB, db.DSN)
		s.rdb = readerOf(gdb, s.readers)
	}
	s.handoff = newCodeHandoff(codeHandoffTTL, codeHandoffMax)
	s.inserts = newGroupCommit(db.Dialect.groupCommitFlushers(), s.insertOAuth2Rows, s.writeOAuth2Jobs)
	return s, nil
}

// Dialect reports which database the store talks to.
func (s *Store) Dialect() Dialect { return s.dialect }

// Describe names the database with any password removed, for banners and logs.
func (s *Store) Describe() string { return s.dbURL.Redacted() }

// Ping checks that the database answers (readiness).
func (s *Store) Ping(ctx context.Context) error {
	if err := s.sqlDB.PingContext(ctx); err != nil {
		return fmt.Errorf("storage: ping: %w", err)
	}
	return nil
}

// Close stops the group commit, after the batch in flight, and the WAL
// checkpointer, and closes the connection pools.
func (s *Store) Close() error {
	s.inserts.close()
	var rerr error
	if s.readers != nil {
		rerr = s.readers.Close()
	}
	return errors.Join(s.ckpt.close(), rerr, s.sqlDB.Close())
}

// now is the store's clock, in UTC at the databases' common precision.
func (s *Store) now() time.Time { return utc(s.clock()) }

// utc normalises a time for storage: UTC, truncated to the microsecond
// PostgreSQL keeps, so that both backends return exactly what was written.
func utc(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// utcPtr is utc for optional times.
func utcPtr(t *time.Time) *time.Time {
	if t == nil || t.IsZero() {
		return nil
	}
	u := utc(*t)
	return &u
}
