package storagetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/madfam-org/janua/storage"
)

// HotStateHarness is one storage.HotState backend under test, as
// RunHotState needs it.
type HotStateHarness struct {
	// State is the handle under test. The open function closes it in a
	// t.Cleanup; closing it twice must be harmless.
	State storage.HotState
	// Peer opens another handle on the same backend, as a second Janua
	// instance would see it: for Redis a second client with the same prefix,
	// for memory State itself is fine. It shares State's clock.
	Peer func(t *testing.T) storage.HotState
	// Now is the clock State and Peer were built with. It must start at a
	// whole hour since the Unix epoch (NewClock does), so that the suite
	// knows where rate-window buckets begin.
	Now func() time.Time
	// Advance moves Now forward by d. A backend that expires entries by its
	// own clock (Redis) must also let d of real time pass, so TTL subtests
	// keep their durations small.
	Advance func(d time.Duration)
}

// RunHotState runs the hot-state conformance suite: the same named subtests
// for every storage.HotState implementation. open is called once per
// subtest and returns a fresh, empty backend.
func RunHotState(t *testing.T, open func(t *testing.T) HotStateHarness) {
	groups := []struct {
		name  string
		tests []hotStateTest
	}{
		{"RateLimit", rateTests},
		{"MarkUsed", markUsedTests},
		{"Value", valueTests},
		{"PubSub", pubSubTests},
		{"Lifecycle", lifecycleTests},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) {
					h := open(t)
					if ms := h.Now().UnixMilli(); ms%time.Hour.Milliseconds() != 0 {
						t.Fatalf("harness clock starts at %v, want a whole hour since the Unix epoch", h.Now())
					}
					tc.run(t, h)
				})
			}
		})
	}
}

// hotStateTest is one named subtest of RunHotState.
type hotStateTest struct {
	name string
	run  func(t *testing.T, h HotStateHarness)
}

// eventually polls cond until it holds, for backends whose server decides
// when a TTL is over. With a fake clock the first poll already decides.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: still not true after 3s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// parallel runs fn(i) for i in [0, n) on n goroutines started together.
func parallel(n int, fn func(i int)) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			fn(i)
		}()
	}
	close(start)
	wg.Wait()
}

// ctxFor returns a context that ends with the test, bounded so that a hung
// backend fails instead of hanging the run.
func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}
