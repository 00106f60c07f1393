package storagetest

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/madfam-org/janua/storage"
)

func testTransactions(t *testing.T, b Backend) {
	t.Run("Commit", func(t *testing.T) {
		h := newHarness(t, b)
		ctx, err := h.store.BeginTX(h.ctx)
		if err != nil {
			t.Fatal(err)
		}
		u := newUser("commit@example.com")
		if err := h.store.CreateUser(ctx, u, "h"); err != nil {
			t.Fatal(err)
		}
		if _, err := h.store.GetUser(ctx, u.ID); err != nil {
			t.Fatalf("own write invisible inside the transaction: %v", err)
		}
		// Another connection does not see the uncommitted row (on SQLite,
		// a read outside a transaction goes to the readers: readers.go).
		if _, err := h.store.GetUser(h.ctx, u.ID); !is(err, storage.ErrNotFound) {
			t.Fatalf("uncommitted write visible outside: %v", err)
		}
		if err := h.store.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := h.store.GetUser(h.ctx, u.ID); err != nil {
			t.Fatalf("committed write: %v", err)
		}
	})

	t.Run("Rollback", func(t *testing.T) {
		h := newHarness(t, b)
		ctx, err := h.store.BeginTX(h.ctx)
		if err != nil {
			t.Fatal(err)
		}
		u := newUser("rollback@example.com")
		if err := h.store.CreateUser(ctx, u, "h"); err != nil {
			t.Fatal(err)
		}
		if err := h.store.Rollback(ctx); err != nil {
			t.Fatal(err)
		}
		if err := h.store.Rollback(ctx); err != nil {
			t.Fatalf("second rollback (deferred after commit/rollback) must be harmless: %v", err)
		}
		if _, err := h.store.GetUser(h.ctx, u.ID); !is(err, storage.ErrNotFound) {
			t.Fatalf("rolled-back write: %v", err)
		}
		if _, err := h.store.GetPasswordHash(h.ctx, u.ID); !is(err, storage.ErrNotFound) {
			t.Fatalf("rolled-back password: %v", err)
		}
	})

	t.Run("InTxRollsBackOnErrorAndPanic", func(t *testing.T) {
		h := newHarness(t, b)
		boom := errors.New("boom")
		u := newUser("intx@example.com")
		err := h.store.InTx(h.ctx, func(ctx context.Context) error {
			if err := h.store.CreateUser(ctx, u, "h"); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("InTx returned %v, want fn's error", err)
		}
		if _, err := h.store.GetUser(h.ctx, u.ID); !is(err, storage.ErrNotFound) {
			t.Fatalf("write of a failed InTx: %v", err)
		}
		v := newUser("panic@example.com")
		func() {
			defer func() {
				if recover() == nil {
					t.Fatal("InTx swallowed a panic")
				}
			}()
			_ = h.store.InTx(h.ctx, func(ctx context.Context) error {
				_ = h.store.CreateUser(ctx, v, "")
				panic("boom")
			})
		}()
		if _, err := h.store.GetUser(h.ctx, v.ID); !is(err, storage.ErrNotFound) {
			t.Fatalf("write of a panicking InTx: %v", err)
		}
		// A duplicate inside CreateUser leaves nothing behind either.
		if err := h.store.CreateUser(h.ctx, newUser("dupe@example.com"), ""); err != nil {
			t.Fatal(err)
		}
		w := newUser("DUPE@example.com")
		if err := h.store.CreateUser(h.ctx, w, "h"); !is(err, storage.ErrAlreadyExists) {
			t.Fatalf("duplicate: %v", err)
		}
		if _, err := h.store.GetPasswordHash(h.ctx, w.ID); !is(err, storage.ErrNotFound) {
			t.Fatalf("password of a user whose insert failed: %v", err)
		}
	})

	t.Run("NestedBeginRefusedInTxJoins", func(t *testing.T) {
		h := newHarness(t, b)
		ctx, err := h.store.BeginTX(h.ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = h.store.Rollback(ctx) }()
		if _, err := h.store.BeginTX(ctx); err == nil {
			t.Fatal("nested BeginTX accepted")
		}
		u := newUser("joined@example.com")
		if err := h.store.InTx(ctx, func(ctx context.Context) error { return h.store.CreateUser(ctx, u, "") }); err != nil {
			t.Fatal(err)
		}
		if h.store.Dialect() == storage.Postgres {
			if _, err := h.store.GetUser(h.ctx, u.ID); !is(err, storage.ErrNotFound) {
				t.Fatalf("InTx inside an open transaction committed on its own: %v", err)
			}
		}
		if err := h.store.Rollback(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := h.store.GetUser(h.ctx, u.ID); !is(err, storage.ErrNotFound) {
			t.Fatalf("InTx inside a transaction that rolled back kept its write: %v", err)
		}
	})

	t.Run("ConcurrentWriters", func(t *testing.T) {
		h := newHarness(t, b)
		const writers = 8
		var wg sync.WaitGroup
		errs := make([]error, writers)
		for i := range writers {
			wg.Go(func() {
				errs[i] = h.store.InTx(h.ctx, func(ctx context.Context) error {
					return h.store.CreateUser(ctx, newUser(randomHex(6)+"@example.com"), "h")
				})
			})
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("writer %d: %v", i, err)
			}
		}
		us, _, _ := h.store.ListUsers(h.ctx, storage.Page{})
		if len(us) != writers {
			t.Fatalf("%d users after %d concurrent transactions", len(us), writers)
		}
	})
}
