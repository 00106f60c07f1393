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
// Rollback. OAuth 2.0 rows created in it are written together, before the
// next statement about such rows or the COMMIT (see flushTxInserts). This is fosite's storage.Transactional shape. Beginning inside a
// context that already carries a transaction is an error: fosite never
// nests, and silent nesting would hide a commit that does not commit.
func (s *Store) BeginTX(ctx context.Context) (context.Context, error) {
	if _, ok := ctx.Value(txKey{}).(*gorm.DB); ok {
		return ctx, errors.New("storage: transaction already open in this context")
	}
	s.stats.add(StatementBegin)
	tx := s.gdb.WithContext(ctx).Begin()
	if tx.Error != nil {
		return ctx, fmt.Errorf("storage: begin: %w", mapError(tx.Error))
	}
	ctx = context.WithValue(ctx, afterCommitKey{}, &afterCommit{})
	ctx = context.WithValue(ctx, txInsertsKey{}, &insertBatch{})
	return context.WithValue(ctx, txKey{}, tx), nil
}

// Commit commits the transaction carried by ctx.
func (s *Store) Commit(ctx context.Context) error {
	tx, ok := ctx.Value(txKey{}).(*gorm.DB)
	if !ok {
		return errors.New("storage: commit without a transaction")
	}
	if err := s.flushTxInserts(ctx); err != nil {
		if rerr := tx.Rollback().Error; rerr == nil {
			s.stats.add(StatementRollback)
		}
		return fmt.Errorf("storage: commit: %w", err)
	}
	s.stats.add(StatementCommit)
	if err := tx.Commit().Error; err != nil {
		return fmt.Errorf("storage: commit: %w", mapError(err))
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
	tx, ok := ctx.Value(txKey{}).(*gorm.DB)
	if !ok {
		return errors.New("storage: rollback without a transaction")
	}
	if b := txInsertsOf(ctx); b != nil {
		b.rows = nil // never written
	}
	err := tx.Rollback().Error
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
	if _, ok := ctx.Value(txKey{}).(*gorm.DB); ok {
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
// one, else the pool, bound to ctx for cancellation.
func (s *Store) db(ctx context.Context) *gorm.DB {
	if tx, ok := ctx.Value(txKey{}).(*gorm.DB); ok {
		return tx
	}
	return s.gdb.WithContext(ctx)
}

// inTx reports whether ctx carries a transaction.
func inTx(ctx context.Context) bool {
	_, ok := ctx.Value(txKey{}).(*gorm.DB)
	return ok
}

func isTxDone(err error) bool {
	return errors.Is(err, gorm.ErrInvalidTransaction) || errors.Is(err, sql.ErrTxDone)
}
