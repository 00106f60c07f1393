package oidc_test

import (
	"testing"

	"github.com/madfam-org/janua/oidc"
)

// A client secret check: one SHA-256 and a constant-time compare, against
// bcrypt cost 12's ≈ 200 ms.
func BenchmarkSecretMatches(b *testing.B) {
	s, d := oidc.NewSecret()
	b.ReportAllocs()
	for b.Loop() {
		if !oidc.SecretMatches(s, d) {
			b.Fatal("mismatch")
		}
	}
}
