package storage_test

import (
	"context"
	"testing"
	"time"

	"github.com/madfam-org/janua/storage"
	"github.com/madfam-org/janua/storage/storagetest"
)

// A read outside any transaction does not wait for a transaction open on
// the writer (SQLite's one connection): it goes to the readers, and sees
// what was committed before it, never what is not yet.
func TestReadsBesideWriter(t *testing.T) {
	for _, b := range storagetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s, err := storage.Open(ctx, storage.Options{URL: b.NewDatabaseURL(t), Secret: []byte("readers secret, long enough for a key")})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Close() })
			if _, err := s.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			u := &storage.User{Email: "reader@example.com", Claims: map[string]any{"name": "Before"}}
			if err := s.CreateUser(ctx, u, ""); err != nil {
				t.Fatal(err)
			}
			txCtx, err := s.BeginTX(ctx)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Rollback(txCtx) })
			changed := *u
			changed.Claims = map[string]any{"name": "After"}
			if err := s.UpdateUser(txCtx, &changed); err != nil {
				t.Fatal(err)
			}
			rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			got, err := s.GetUser(rctx, u.ID)
			if err != nil {
				t.Fatalf("read while a transaction is open: %v", err)
			}
			if got.Claims["name"] != "Before" {
				t.Errorf("read saw %v before the commit, want Before", got.Claims["name"])
			}
			if err := s.Commit(txCtx); err != nil {
				t.Fatal(err)
			}
			got, err = s.GetUser(ctx, u.ID)
			if err != nil || got.Claims["name"] != "After" {
				t.Fatalf("after the commit: %v, %v; want After", got, err)
			}
		})
	}
}
