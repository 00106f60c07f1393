package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"

	"gorm.io/gorm"
)

// txKey carries the open transaction in a context.
type txKey struct{}

// afterCommitKey carries the open transaction's after-commit hooks.
type afterCommitKey struct{}

// afterCommit is the functions AfterCommit queued on one transaction.
type afterCommit struct {
	mu        sync.Mutex
	fns       []func()
	committed bool
}

// BeginTX starts a transaction and returns a context that carries it; every
// Store method called with that context runs inside it until Commit or
// Rollback. This is fosite's storage.Transactional shape. Beginning inside
// a context that already carries a transaction is an error: fosite never
// nests, and silent nesting would hide a commit that does not commit.
//
// The BEGIN itself waits for the first statement that needs the
// transaction (openTx.get). Some work never needs it before the commit:
// OAuth 2.0 rows created in the transaction are written together at the
// COMMIT or before the next statement about such rows (flushTxInserts),
// and an authorization code's invalidation waits for the commit too
// (deferInvalidation). A transaction with only such work commits as one
// statement: fosite's token endpoint invalidates the code and stores the
// access and refresh tokens in one transaction and reads none of them
// back, and on PostgreSQL that is one round trip instead of four
// (commitDeferred).
func (s *Store) BeginTX(ctx context.Context) (context.Context, error) {
	if txOf(ctx) != nil {
		return ctx, errors.New("storage: transaction already open in this context")
	}
	t := &openTx{s: s, ctx: ctx}
	ctx = context.WithValue(ctx, afterCommitKey{}, &afterCommit{})
	ctx = context.WithValue(ctx, txInsertsKey{}, &insertBatch{})
	return context.WithValue(ctx, txKey{}, t), nil
}

// openTx is a transaction BeginTX opened: begun on the database by the
// first statement that needs it.
type openTx struct {
	s   *Store
	ctx context.Context // BeginTX's: the transaction's lifetime
	db  *gorm.DB        // nil until begun
	// invalidate is the key of an authorization code whose invalidation
	// waits for the commit (deferInvalidation), if any.
	invalidate string
	// rotate is a refresh token's rotation waiting for the commit
	// (deferRotation), if any.
	rotate *deferredRotation
	done   bool
}

// txOf returns ctx's transaction, or nil.
func txOf(ctx context.Context) *openTx {
	t, _ := ctx.Value(txKey{}).(*openTx)
	return t
}

// get begins the transaction if it has not begun, running any deferred
// invalidation or rotation first, and returns it.
func (t *openTx) get() (*gorm.DB, error) {
	if t.db != nil {
		return t.db, nil
	}
	if t.done {
		return nil, fmt.Errorf("storage: %w", sql.ErrTxDone)
	}
	t.s.stats.add(StatementBegin)
	tx := t.s.gdb.WithContext(t.ctx).Begin()
	if tx.Error != nil {
		return nil, fmt.Errorf("storage: begin: %w", mapError(tx.Error))
	}
	t.db = tx
	// A deferred statement that fails ends the transaction: nothing after
	// it may commit without it (a new token pair without the rotation).
	if key := t.invalidate; key != "" {
		t.invalidate = ""
		if err := t.s.invalidateCode(tx, key); err != nil {
			t.abort()
			return nil, err
		}
	}
	if r := t.rotate; r != nil {
		t.rotate = nil
		if err := t.s.rotateRefresh(r.ctx, tx, r.key, r.requestID); err != nil {
			t.abort()
			return nil, err
		}
	}
	return tx, nil
}

// abort rolls the begun transaction back and ends it: later statements
// and the commit fail with sql.ErrTxDone, and Rollback does nothing.
func (t *openTx) abort() {
	if err := t.db.Rollback().Error; err == nil {
		t.s.stats.add(StatementRollback)
	}
	t.done = true
}

// Commit commits the transaction carried by ctx.
func (s *Store) Commit(ctx context.Context) error {
	t := txOf(ctx)
	if t == nil {
		return errors.New("storage: commit without a transaction")
	}
	if t.done {
		return fmt.Errorf("storage: commit: %w", sql.ErrTxDone)
	}
	deferred := false
	if t.db == nil {
		var err error
		if deferred, err = s.commitDeferred(ctx, t); err != nil {
			return fmt.Errorf("storage: commit: %w", err)
		}
	}
	if !deferred {
		// Begun, or to begin now (a code's invalidation runs first: see
		// oauth2_redeem.go).
		if _, err := t.get(); err != nil {
			_ = s.Rollback(ctx)
			return fmt.Errorf("storage: commit: %w", err)
		}
		if err := s.flushTxInserts(ctx); err != nil {
			if rerr := t.db.Rollback().Error; rerr == nil {
				s.stats.add(StatementRollback)
			}
			t.done = true
			return fmt.Errorf("storage: commit: %w", err)
		}
		s.stats.add(StatementCommit)
		t.done = true
		if err := t.db.Commit().Error; err != nil {
			return fmt.Errorf("storage: commit: %w", mapError(err))
		}
	}
	if ac, ok := ctx.Value(afterCommitKey{}).(*afterCommit); ok {
		ac.mu.Lock()
		fns := ac.fns
		ac.fns, ac.committed = nil, true
		ac.mu.Unlock()
		for _, fn := range fns {
			fn()
		}
	}
	return nil
}

// AfterCommit runs fn once the transaction carried by ctx commits, or at
// once when ctx carries none (or one that already committed); a transaction
// that rolls back never runs it. fn runs on the committing goroutine: it must
// be quick (signal, never wait).
func (s *Store) AfterCommit(ctx context.Context, fn func()) {
	if ac, ok := ctx.Value(afterCommitKey{}).(*afterCommit); ok {
		ac.mu.Lock()
		if !ac.committed {
			ac.fns = append(ac.fns, fn)
			ac.mu.Unlock()
			return
		}
		ac.mu.Unlock()
	}
	fn()
}

// Rollback aborts the transaction carried by ctx. Rolling back a transaction
// that already ended is not an error, so it can be deferred.
func (s *Store) Rollback(ctx context.Context) error {
	t := txOf(ctx)
	if t == nil {
		return errors.New("storage: rollback without a transaction")
	}
	if b := txInsertsOf(ctx); b != nil {
		b.rows = nil // never written
	}
	t.invalidate, t.rotate = "", nil
	if t.db == nil || t.done {
		t.done = true
		return nil // nothing was sent, or the transaction already ended
	}
	t.done = true
	err := t.db.Rollback().Error
	if err == nil {
		s.stats.add(StatementRollback)
	}
	if err != nil && !isTxDone(err) {
		return fmt.Errorf("storage: rollback: %w", err)
	}
	return nil
}

// InTx runs fn in a transaction: it joins the one ctx already carries, or
// begins one, commits when fn returns nil and rolls back otherwise (and on
// panic, which it re-raises).
func (s *Store) InTx(ctx context.Context, fn func(ctx context.Context) error) (err error) {
	if txOf(ctx) != nil {
		return fn(ctx)
	}
	txCtx, err := s.BeginTX(ctx)
	if err != nil {
		return err
	}
	committed := false
	defer func() {
		if !committed {
			_ = s.Rollback(txCtx)
		}
	}()
	if err := fn(txCtx); err != nil {
		return err
	}
	if err := s.Commit(txCtx); err != nil {
		return err
	}
	committed = true
	return nil
}

// db is the handle a method must use: the context's transaction if there is
// one (begun now if it has not), else the pool, bound to ctx for
// cancellation. A transaction that cannot begin gives a handle whose
// statements fail with that error.
func (s *Store) db(ctx context.Context) *gorm.DB {
	if t := txOf(ctx); t != nil {
		tx, err := t.get()
		if err != nil {
			db := s.gdb.WithContext(ctx)
			_ = db.AddError(err)
			return db
		}
		return tx
	}
	return s.gdb.WithContext(ctx)
}

// inTx reports whether ctx carries a transaction.
func inTx(ctx context.Context) bool { return txOf(ctx) != nil }

func isTxDone(err error) bool {
	return errors.Is(err, gorm.ErrInvalidTransaction) || errors.Is(err, sql.ErrTxDone)
}
