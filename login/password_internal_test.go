package login

import (
	"context"
	"errors"
	"testing"
	"time"
)

// With every slot taken, Hash and Verify wait, and give up with their
// context: a burst of sign-ins cannot hold more than MaxConcurrent × memory.
func TestHashWaitsForASlot(t *testing.T) {
	pw := NewPasswords(Argon2Params{MemoryKiB: 8192, Iterations: 1, Parallelism: 1}, 2)
	pw.slots <- struct{}{}
	pw.slots <- struct{}{}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := pw.Hash(ctx, "waits"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Hash with no free slot: %v", err)
	}
	if err := pw.Burn(ctx, "waits"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Burn with no free slot: %v", err)
	}
	<-pw.slots
	if _, err := pw.Hash(context.Background(), "now runs"); err != nil {
		t.Fatalf("Hash with a slot free: %v", err)
	}
	if len(pw.slots) != 1 {
		t.Fatalf("%d slots held after Hash returned, want the 1 the test holds", len(pw.slots))
	}
}
