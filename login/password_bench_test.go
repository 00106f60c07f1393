package login_test

import (
	"context"
	"testing"

	"github.com/madfam-org/janua/login"
)

// The production cost of one sign-in's password check (OWASP argon2id),
// with the process CPU per check (cpu-µs/op), the yardstick of a sign-in's
// CPU.
func BenchmarkVerifyArgon2idDefault(b *testing.B) {
	ctx := context.Background()
	pw := login.NewPasswords(login.DefaultArgon2Params(), login.HashLimits{})
	h, _ := pw.Hash(ctx, "correct horse battery staple")
	b.ReportAllocs()
	b.ResetTimer()
	start := cpu()
	for range b.N {
		if _, err := pw.Verify(ctx, "correct horse battery staple", h); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, start)
}
