//go:build unix

package argon2id

import (
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"
)

// One OWASP-cost hash (m=19 MiB, t=2, p=1): x/crypto allocating its blocks
// on every call, and a kept Memory. cpu-µs/op is the process's CPU time
// (user + system, getrusage), the collector's included, so it holds on a
// machine other work shares.
func BenchmarkOWASP(b *testing.B) {
	password, salt := []byte("correct horse battery staple"), []byte("0123456789abcdef")
	run := func(b *testing.B, hash func()) {
		b.ReportAllocs()
		b.ResetTimer()
		start := cpuTime()
		for range b.N {
			hash()
		}
		b.ReportMetric(float64((cpuTime()-start).Microseconds())/float64(b.N), "cpu-µs/op")
	}
	b.Run("x-crypto", func(b *testing.B) {
		run(b, func() { argon2.IDKey(password, salt, 2, 19*1024, 1, 32) })
	})
	b.Run("memory", func(b *testing.B) {
		mem := NewMemory(19 * 1024)
		run(b, func() { mem.Key(password, salt, 2, 19*1024, 1, 32) })
	})
}

// cpuTime is the process's CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
