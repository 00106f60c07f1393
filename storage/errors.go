package storage

import (
	"database/sql"
	"errors"
	"fmt"

	sqlitedrv "github.com/glebarez/go-sqlite"
	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"
)

// Sentinel errors. Every error that leaves this package for a missing row, a
// duplicate key or a lost race wraps exactly one of these, so callers use
// errors.Is and never inspect driver errors.
var (
	// ErrNotFound: the record does not exist (or has expired).
	ErrNotFound = errors.New("storage: not found")
	// ErrAlreadyExists: a unique key (id, email, client_id, ...) is taken.
	ErrAlreadyExists = errors.New("storage: already exists")
	// ErrConflict: a concurrent writer changed the record first, or a
	// constraint other than uniqueness refused the write.
	ErrConflict = errors.New("storage: conflict")
)

// errStoreClosed answers a write queued after the store began to close.
var errStoreClosed = errors.New("storage: store closed")

// SQLite extended result codes we translate (https://sqlite.org/rescode.html).
const (
	sqliteConstraintUnique     = 2067
	sqliteConstraintPrimaryKey = 1555
	sqliteConstraintForeignKey = 787
	sqliteConstraintCheck      = 275
	sqliteConstraintNotNull    = 1299
	sqliteBusy                 = 5
	sqliteLocked               = 6
)

// PostgreSQL SQLSTATE codes we translate beyond gorm's own table.
const (
	pgUniqueViolation      = "23505"
	pgForeignKeyViolation  = "23503"
	pgSerializationFailure = "40001"
	pgDeadlockDetected     = "40P01"
)

// mapError is the one place driver and gorm errors become sentinels. Errors
// it does not recognise pass through unchanged (wrapped by the caller).
func mapError(err error) error {
	if err == nil {
		return nil
	}
	switch {
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrAlreadyExists), errors.Is(err, ErrConflict):
		return err
	case errors.Is(err, gorm.ErrRecordNotFound), errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	case errors.Is(err, gorm.ErrDuplicatedKey):
		return fmt.Errorf("%w: %w", ErrAlreadyExists, err)
	case errors.Is(err, gorm.ErrForeignKeyViolated), errors.Is(err, gorm.ErrCheckConstraintViolated):
		return fmt.Errorf("%w: %w", ErrConflict, err)
	}
	var se *sqlitedrv.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqliteConstraintUnique, sqliteConstraintPrimaryKey:
			return fmt.Errorf("%w: %w", ErrAlreadyExists, err)
		case sqliteConstraintForeignKey, sqliteConstraintCheck, sqliteConstraintNotNull, sqliteBusy, sqliteLocked:
			return fmt.Errorf("%w: %w", ErrConflict, err)
		}
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case pgUniqueViolation:
			return fmt.Errorf("%w: %w", ErrAlreadyExists, err)
		case pgForeignKeyViolation, pgSerializationFailure, pgDeadlockDetected:
			return fmt.Errorf("%w: %w", ErrConflict, err)
		}
	}
	return err
}
