package storage_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"testing"

	"github.com/madfam-org/janua/storage"
	"github.com/madfam-org/janua/storage/storagetest"
)

// Round trips of the store on every backend: a client lookup by primary key
// (the token endpoint's hottest read) and a user insert with its password.
func BenchmarkStore(b *testing.B) {
	for _, be := range storagetest.Backends(b) {
		b.Run(be.Name, func(b *testing.B) {
			ctx := context.Background()
			s, err := storage.Open(ctx, storage.Options{URL: be.NewDatabaseURL(b), Secret: []byte("bench secret, long enough for a key")})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			if _, err := s.Migrate(ctx); err != nil {
				b.Fatal(err)
			}
			sum := sha256.Sum256([]byte("s"))
			c := &storage.Client{ID: "bench", SecretHash: sum[:], Name: "bench", TokenEndpointAuthMethod: "client_secret_basic",
				RedirectURIs: []string{"https://a.example.com/cb"}, GrantTypes: []string{"client_credentials"}, Scopes: []string{"api"}}
			if err := s.CreateClient(ctx, c); err != nil {
				b.Fatal(err)
			}
			b.Run("GetClient", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := s.GetClient(ctx, "bench"); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("CreateUser", func(b *testing.B) {
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					i++
					u := &storage.User{Email: fmt.Sprintf("u%d@example.com", i)}
					if err := s.CreateUser(ctx, u, "$argon2id$bench"); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
