package storage_test

import (
	"context"
	"crypto/sha256"
	"testing"

	"github.com/madfam-org/janua/storage"
	"github.com/madfam-org/janua/storage/storagetest"
)

// Stats counts every statement a store sends, by kind, on every backend.
func TestStats(t *testing.T) {
	for _, b := range storagetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s, err := storage.Open(ctx, storage.Options{URL: b.NewDatabaseURL(t), Secret: []byte("stats secret, long enough for a key")})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Close() })
			if _, err := s.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			before := s.Stats()
			sum := sha256.Sum256([]byte("s"))
			c := &storage.Client{ID: "stats", SecretHash: sum[:], Name: "stats", TokenEndpointAuthMethod: "client_secret_basic",
				GrantTypes: []string{"client_credentials"}, Scopes: []string{"api"}}
			if err := s.CreateClient(ctx, c); err != nil {
				t.Fatal(err)
			}
			if _, err := s.GetClient(ctx, "stats"); err != nil {
				t.Fatal(err)
			}
			if _, err := s.GetClient(ctx, "absent"); err == nil {
				t.Fatal("absent client found")
			}
			// A user with a password: one transaction of two inserts.
			if err := s.CreateUser(ctx, &storage.User{Email: "stats@example.com"}, "$argon2id$stats"); err != nil {
				t.Fatal(err)
			}
			// A transaction that fails is rolled back.
			_ = s.InTx(ctx, func(ctx context.Context) error {
				return s.CreateClient(ctx, &storage.Client{ID: "stats", Name: "dup"})
			})
			after := s.Stats()
			want := map[storage.StatementKind]uint64{
				storage.StatementCreate:   1 + 2 + 1,
				storage.StatementQuery:    2,
				storage.StatementBegin:    2,
				storage.StatementCommit:   1,
				storage.StatementRollback: 1,
			}
			var total uint64
			for _, k := range storage.StatementKinds() {
				got := after.Of(k) - before.Of(k)
				if got != want[k] {
					t.Errorf("%s: %d statements, want %d", k, got, want[k])
				}
				total += want[k]
			}
			if got := after.Total() - before.Total(); got != total {
				t.Errorf("total: %d, want %d", got, total)
			}
		})
	}
}
