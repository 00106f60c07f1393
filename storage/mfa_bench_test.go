package storage_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/madfam-org/janua/storage"
	"github.com/madfam-org/janua/storage/storagetest"
)

// The store's share of a second-factor sign-in on every backend: TOTP is
// a read with the secret unsealed (AES-256-GCM) and the conditional update
// that takes the step; a backup code is a read of the unused codes, one
// HMAC-SHA256 and constant-time compares, the conditional update and the
// count of those left.
func BenchmarkSecondFactor(b *testing.B) {
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
			u := &storage.User{Email: "bench@example.com"}
			if err := s.CreateUser(ctx, u, ""); err != nil {
				b.Fatal(err)
			}
			id, err := s.BeginTOTP(ctx, u.ID, []byte("12345678901234567890"))
			if err == nil {
				err = s.ConfirmTOTP(ctx, u.ID, id, 1)
			}
			if err != nil {
				b.Fatal(err)
			}
			step := int64(1) // steps only move forward, across -count runs too
			b.Run("TOTP", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := s.GetTOTP(ctx, u.ID); err != nil {
						b.Fatal(err)
					}
					step++
					if err := s.UseTOTPStep(ctx, u.ID, step); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("BackupCode", func(b *testing.B) {
				b.ReportAllocs()
				codes := make([]string, 10)
				i := 0
				for b.Loop() {
					if i%10 == 0 {
						b.StopTimer()
						for j := range codes {
							codes[j] = fmt.Sprintf("c%04d%05d", i, j)
						}
						if err := s.ReplaceBackupCodes(ctx, u.ID, codes); err != nil {
							b.Fatal(err)
						}
						b.StartTimer()
					}
					if _, err := s.ConsumeBackupCode(ctx, u.ID, codes[i%10]); err != nil {
						b.Fatal(err)
					}
					i++
				}
			})
		})
	}
}
