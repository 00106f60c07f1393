package storage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// slowStatement is how long a statement runs before it is logged.
const slowStatement = 200 * time.Millisecond

// gormLog routes gorm's own log lines to slog: failed statements and slow
// ones, with their SQL but never their parameters (which hold token
// signatures, hashes and personal data).
//
// gorm calls Trace after every statement with a function that renders the
// statement's SQL; its bundled loggers render it each time, through a
// regular expression, before deciding whether to log: 5 % of the server's
// CPU on a client_credentials grant. This one renders it only for a line
// it writes.
type gormLog struct {
	log  *slog.Logger
	slow time.Duration
}

var (
	_ logger.Interface  = gormLog{}
	_ gorm.ParamsFilter = gormLog{}
)

func newGormLogger(log *slog.Logger) gormLog { return gormLog{log: log, slow: slowStatement} }

// LogMode is gorm's level switch; the lines gormLog writes are fixed.
func (l gormLog) LogMode(logger.LogLevel) logger.Interface { return l }

func (l gormLog) Info(ctx context.Context, msg string, args ...any) {
	l.log.InfoContext(ctx, "storage: "+fmt.Sprintf(msg, args...))
}

func (l gormLog) Warn(ctx context.Context, msg string, args ...any) {
	l.log.WarnContext(ctx, "storage: "+fmt.Sprintf(msg, args...))
}

func (l gormLog) Error(ctx context.Context, msg string, args ...any) {
	l.log.ErrorContext(ctx, "storage: "+fmt.Sprintf(msg, args...))
}

// Trace logs a statement that failed (other than finding no row) or ran
// longer than l.slow; fc is called only then.
func (l gormLog) Trace(ctx context.Context, begin time.Time, fc func() (sql string, rows int64), err error) {
	failed := err != nil && !errors.Is(err, gorm.ErrRecordNotFound)
	elapsed := time.Since(begin)
	if !failed && elapsed <= l.slow {
		return
	}
	sql, rows := fc()
	if failed {
		l.log.ErrorContext(ctx, "storage: statement failed", "err", err, "elapsed", elapsed, "rows", rows, "sql", sql)
		return
	}
	l.log.WarnContext(ctx, "storage: slow statement", "elapsed", elapsed, "rows", rows, "sql", sql)
}

// ParamsFilter drops the parameters from the SQL gorm renders for Trace.
func (l gormLog) ParamsFilter(_ context.Context, sql string, _ ...any) (string, []any) {
	return sql, nil
}
