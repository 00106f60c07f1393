package storage

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// WAL checkpoints off the request path (SQLite only).
//
// In WAL mode a commit appends pages to the -wal file, and a checkpoint
// copies them back into the database file and fsyncs both
// (https://sqlite.org/wal.html#ckpt). SQLite's automatic checkpoint runs
// inside the commit that takes the WAL past 1,000 pages, on the committing
// connection, while it holds the write lock. Janua's pool has one SQLite
// connection, so every request waited on those page copies and fsyncs: the
// client_credentials grant ran at 4.3k/s with a p99 of 11 ms, and 5.7k/s
// with a p99 of 5 ms without them.
//
// So the pool's connections never checkpoint (wal_autocheckpoint(0), in the
// DSN) and the store keeps a second connection that does, every
// checkpointInterval: PASSIVE, which never waits for or blocks a writer
// (https://sqlite.org/pragma.html#pragma_wal_checkpoint). Under sustained
// writes a PASSIVE checkpoint rarely catches the last frames, and SQLite
// rewinds the WAL only once one has, so when the WAL passes
// walRestartPages the checkpointer runs RESTART instead: it waits for the
// writer in flight (busy_timeout), copies what PASSIVE left, and lets the
// next commit start the file over. Its pause is one fsync, once per
// walRestartPages of writes rather than once per 1,000 pages.

// checkpointInterval is how often the checkpointer runs.
const checkpointInterval = 100 * time.Millisecond

// walRestartPages is the WAL length (in frames, one page each) past which
// the checkpointer rewinds it: 32 MiB at SQLite's 4 KiB page.
const walRestartPages = 8192

// checkpointTimeout bounds one checkpoint statement.
const checkpointTimeout = 30 * time.Second

// checkpointer runs WAL checkpoints on its own connection until close.
type checkpointer struct {
	db           *sql.DB
	log          *slog.Logger
	interval     time.Duration
	restartPages int64

	quit chan struct{}
	done chan struct{}
	once sync.Once

	// passive and restart count the checkpoints run, for tests and logs.
	passive, restart atomic.Uint64
}

// dsnConnector opens connections of d to one DSN: the checkpointer's pool
// uses the same driver as gorm's without naming it.
type dsnConnector struct {
	d   driver.Driver
	dsn string
}

func (c dsnConnector) Connect(context.Context) (driver.Conn, error) { return c.d.Open(c.dsn) }
func (c dsnConnector) Driver() driver.Driver                        { return c.d }

// newCheckpointer opens a one-connection pool on the database that pool
// (the store's) serves, through its driver, and starts checkpointing.
// restartPages 0 means walRestartPages.
func newCheckpointer(ctx context.Context, pool *sql.DB, dsn string, log *slog.Logger, interval time.Duration, restartPages int) (*checkpointer, error) {
	db := sql.OpenDB(dsnConnector{d: pool.Driver(), dsn: dsn})
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("storage: checkpoint connection: %w", err)
	}
	if restartPages <= 0 {
		restartPages = walRestartPages
	}
	c := &checkpointer{
		db: db, log: log, interval: interval, restartPages: int64(restartPages),
		quit: make(chan struct{}), done: make(chan struct{}),
	}
	go c.run()
	return c, nil
}

func (c *checkpointer) run() {
	defer close(c.done)
	t := time.NewTicker(c.interval)
	defer t.Stop()
	var warned time.Time // the last failure logged: at most one a minute
	for {
		select {
		case <-c.quit:
			return
		case <-t.C:
		}
		frames, err := c.checkpoint("PASSIVE")
		if err == nil && frames >= c.restartPages {
			_, err = c.checkpoint("RESTART")
		}
		if err != nil && time.Since(warned) >= time.Minute {
			// The next tick tries again; the WAL only grows meanwhile.
			c.log.Warn("storage: WAL checkpoint failed", "err", err)
			warned = time.Now()
		}
	}
}

// checkpoint runs one checkpoint of mode and returns the WAL's length in
// frames when it began. A busy result (a RESTART that could not get the
// writer within busy_timeout) is not an error: the next tick tries again.
func (c *checkpointer) checkpoint(mode string) (frames int64, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), checkpointTimeout)
	defer cancel()
	var busy, checkpointed int64
	if err := c.db.QueryRowContext(ctx, "PRAGMA wal_checkpoint("+mode+")").Scan(&busy, &frames, &checkpointed); err != nil {
		return 0, fmt.Errorf("%s checkpoint: %w", mode, err)
	}
	if mode == "RESTART" {
		c.restart.Add(1)
	} else {
		c.passive.Add(1)
	}
	return frames, nil
}

// close stops the checkpointer and closes its connection (SQLite checkpoints
// on the last connection's close anyway).
func (c *checkpointer) close() error {
	if c == nil {
		return nil
	}
	var err error
	c.once.Do(func() {
		close(c.quit)
		<-c.done
		err = c.db.Close()
	})
	return err
}
