package storage

import (
	"testing"
	"time"
)

// TestMemoryHotStateSweep checks that memory stays bounded: Sweep drops
// every kind of entry once the injected clock passes its expiry, and only
// then.
func TestMemoryHotStateSweep(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	m := NewMemoryHotState(MemoryHotStateOptions{Now: func() time.Time { return now }, SweepInterval: time.Hour})
	t.Cleanup(func() { _ = m.Close() })
	ctx := t.Context()
	if _, err := m.Allow(ctx, "rate", 5, time.Second); err != nil { // expires after 2s
		t.Fatal(err)
	}
	if _, err := m.MarkUsed(ctx, "used", time.Second); err != nil {
		t.Fatal(err)
	}
	if err := m.Put(ctx, "value", []byte("v"), 3*time.Second); err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		advance time.Duration
		removed int
	}{{999 * time.Millisecond, 0}, {time.Millisecond, 1}, {time.Second, 1}, {time.Second, 1}, {time.Hour, 0}} {
		now = now.Add(step.advance)
		if got := m.Sweep(); got != step.removed {
			t.Fatalf("Sweep at +%v removed %d entries, want %d", now.Sub(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)), got, step.removed)
		}
	}
	if n := len(m.rates) + len(m.used) + len(m.values); n != 0 {
		t.Fatalf("%d entries left after every ttl passed", n)
	}
}

// TestMemoryHotStateSweepsInBackground checks the sweeper goroutine runs
// without being asked.
func TestMemoryHotStateSweepsInBackground(t *testing.T) {
	m := NewMemoryHotState(MemoryHotStateOptions{SweepInterval: 5 * time.Millisecond})
	t.Cleanup(func() { _ = m.Close() })
	if _, err := m.MarkUsed(t.Context(), "k", time.Millisecond); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * time.Second)
	for {
		m.usedMu.Lock()
		n := len(m.used)
		m.usedMu.Unlock()
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("expired marker still held after 3s of 5ms sweeps")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
