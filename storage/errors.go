package storage

import "errors"

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
