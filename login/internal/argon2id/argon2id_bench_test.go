package argon2id

import (
	"testing"

	"golang.org/x/crypto/argon2"
)

// One OWASP-cost hash (m=19 MiB, t=2, p=1): x/crypto allocating its blocks
// on every call, and a kept Memory.
func BenchmarkOWASP(b *testing.B) {
	password, salt := []byte("correct horse battery staple"), []byte("0123456789abcdef")
	b.Run("x-crypto", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			argon2.IDKey(password, salt, 2, 19*1024, 1, 32)
		}
	})
	b.Run("memory", func(b *testing.B) {
		mem := NewMemory(19 * 1024)
		b.ReportAllocs()
		for b.Loop() {
			mem.Key(password, salt, 2, 19*1024, 1, 32)
		}
	})
}
