package login_test

import (
	"context"
	"testing"

	"github.com/madfam-org/janua/login"
)

// The production cost of one sign-in's password check (OWASP argon2id).
func BenchmarkVerifyArgon2idDefault(b *testing.B) {
	ctx := context.Background()
	pw := login.NewPasswords(login.DefaultArgon2Params(), login.HashLimits{Concurrent: 4})
	h, _ := pw.Hash(ctx, "correct horse battery staple")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := pw.Verify(ctx, "correct horse battery staple", h); err != nil {
			b.Fatal(err)
		}
	}
}
