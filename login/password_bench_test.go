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

// The same check with every processor checking a password at once, as
// under a stream of sign-ins (the hashing slots run one hash per
// processor): the CPU per check when the hashes share the machine's
// caches and memory bandwidth, the like-for-like yardstick of a sign-in
// measured under load.
func BenchmarkVerifyArgon2idDefaultParallel(b *testing.B) {
	ctx := context.Background()
	pw := login.NewPasswords(login.DefaultArgon2Params(), login.HashLimits{})
	h, _ := pw.Hash(ctx, "correct horse battery staple")
	b.ReportAllocs()
	b.ResetTimer()
	start := cpu()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := pw.Verify(ctx, "correct horse battery staple", h); err != nil {
				b.Error(err)
				return
			}
		}
	})
	reportCPU(b, start)
}
