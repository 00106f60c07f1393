package storagetest

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/madfam-org/janua/storage"
)

// rateStep is one hit of a rate scenario: advance the clock, then Allow.
type rateStep struct {
	advance time.Duration
	want    storage.RateDecision
}

// allowed and refused build expected decisions.
func allowed(remaining int) storage.RateDecision {
	return storage.RateDecision{Allowed: true, Remaining: remaining}
}

func refused(retryAfter time.Duration) storage.RateDecision {
	return storage.RateDecision{RetryAfter: retryAfter}
}

// rateScenario runs steps against one key with limit hits per window of one
// second, starting on a bucket boundary. The expected values follow from
// estimate = prev·(W−elapsed)/W + cur, allowed when estimate+1 ≤ limit.
func rateScenario(limit int, steps ...rateStep) func(t *testing.T, h HotStateHarness) {
	return func(t *testing.T, h HotStateHarness) {
		ctx := ctxFor(t)
		var elapsed time.Duration
		for i, st := range steps {
			if st.advance > 0 {
				h.Advance(st.advance)
				elapsed += st.advance
			}
			got, err := h.State.Allow(ctx, "client", limit, time.Second)
			if err != nil {
				t.Fatalf("step %d (at +%v): Allow: %v", i, elapsed, err)
			}
			if got != st.want {
				t.Fatalf("step %d (at +%v): Allow = %+v, want %+v", i, elapsed, got, st.want)
			}
		}
	}
}

// times repeats a step n times.
func times(n int, st rateStep) []rateStep {
	out := make([]rateStep, n)
	for i := range out {
		out[i] = st
	}
	return out
}

func concat(parts ...[]rateStep) []rateStep {
	var out []rateStep
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

var rateTests = []hotStateTest{
	// 5 hits fill the bucket; the 6th must wait for the next bucket (1s)
	// plus until 5·(1000−e)/1000 + 1 ≤ 5, i.e. e ≥ 200ms.
	{"AllowsUpToLimitThenRefuses", rateScenario(5, concat(
		[]rateStep{{want: allowed(4)}, {want: allowed(3)}, {want: allowed(2)}, {want: allowed(1)}, {want: allowed(0)}},
		times(2, rateStep{want: refused(1200 * time.Millisecond)}),
	)...)},
	{"SlidesAcrossBucketBoundary", rateScenario(10, concat(
		[]rateStep{{want: allowed(9)}, {want: allowed(8)}, {want: allowed(7)}, {want: allowed(6)}, {want: allowed(5)},
			{want: allowed(4)}, {want: allowed(3)}, {want: allowed(2)}, {want: allowed(1)}, {want: allowed(0)}},
		[]rateStep{
			// e=100ms, prev=10: estimate 9, so one hit fits (then 10).
			{advance: 1100 * time.Millisecond, want: allowed(0)},
			// 9+1+1 > 10: wait until 10·(900−t)/1000 ≤ 8, t = 100ms.
			{want: refused(100 * time.Millisecond)},
			{advance: 50 * time.Millisecond, want: refused(50 * time.Millisecond)},
			// e=200: estimate 8+1 = 9.
			{advance: 50 * time.Millisecond, want: allowed(0)},
			// e=500: estimate 5+2 = 7.
			{advance: 300 * time.Millisecond, want: allowed(2)},
			{want: allowed(1)},
			{want: allowed(0)},
			// cur=5: 10·(500−t)/1000 ≤ 4 at t = 100ms.
			{want: refused(100 * time.Millisecond)},
			// e=750: estimate 2.5+5 = 7.5, then 8.5, then 9.5.
			{advance: 250 * time.Millisecond, want: allowed(1)},
			{want: allowed(0)},
			// cur=7: 10·(250−t)/1000 ≤ 2 at t = 50ms.
			{want: refused(50 * time.Millisecond)},
			// Next bucket, e=0: prev=7, estimate 7.
			{advance: 250 * time.Millisecond, want: allowed(2)},
		},
	)...)},
	{"RetryAfterIsExact", rateScenario(3,
		rateStep{want: allowed(2)}, rateStep{want: allowed(1)}, rateStep{want: allowed(0)},
		// Next bucket, until 3·(1000−e)/1000 + 1 ≤ 3: e ≥ 333.3, so 1334ms.
		rateStep{want: refused(1334 * time.Millisecond)},
		// One millisecond early: 3·667/1000 = 2.001.
		rateStep{advance: 1333 * time.Millisecond, want: refused(time.Millisecond)},
		// On time: 1.998 + 1 ≤ 3.
		rateStep{advance: time.Millisecond, want: allowed(0)},
		// cur=1, e=334: 3·(666−t)/1000 ≤ 1 at t = 333ms (332.67 rounded up).
		rateStep{want: refused(333 * time.Millisecond)},
		rateStep{advance: 332 * time.Millisecond, want: refused(time.Millisecond)},
		rateStep{advance: time.Millisecond, want: allowed(0)},
	)},
	{"RetryAfterReachesIntoNextBucket", rateScenario(3,
		rateStep{want: allowed(2)},
		// e=500, prev=1: estimate 0.5, then 1.5, then 2.5.
		rateStep{advance: 1500 * time.Millisecond, want: allowed(1)},
		rateStep{want: allowed(0)},
		// cur=2=limit−1: only the next bucket, where prev=2, lets a hit in.
		rateStep{want: refused(500 * time.Millisecond)},
		rateStep{advance: 499 * time.Millisecond, want: refused(time.Millisecond)},
		rateStep{advance: time.Millisecond, want: allowed(0)},
	)},
	{"LimitOfOne", rateScenario(1,
		rateStep{want: allowed(0)},
		// The next bucket still has prev=1 weighing until its very end.
		rateStep{want: refused(2 * time.Second)},
		rateStep{advance: 1500 * time.Millisecond, want: refused(500 * time.Millisecond)},
		rateStep{advance: 500 * time.Millisecond, want: allowed(0)},
	)},
	{"RefusedHitsAreNotCounted", rateScenario(2, concat(
		[]rateStep{{want: allowed(1)}, {want: allowed(0)}},
		times(5, rateStep{want: refused(1500 * time.Millisecond)}),
		// Had the 5 refused hits counted, cur would be 7 and this refused.
		[]rateStep{
			{advance: 1500 * time.Millisecond, want: allowed(0)},
			{want: refused(500 * time.Millisecond)},
		},
	)...)},
	{"ResetRate", testResetRate},
	{"IndependentKeys", testIndependentKeys},
	{"WindowChangeStartsAfresh", testWindowChange},
	{"ConcurrentNeverExceedsLimit", testConcurrentAllow},
}

func testResetRate(t *testing.T, h HotStateHarness) {
	ctx := ctxFor(t)
	peer := h.Peer(t)
	for range 2 {
		mustAllow(t, h.State, "login:alice", 2, true)
	}
	mustAllow(t, h.State, "login:alice", 2, false)
	if err := peer.ResetRate(ctx, "login:alice"); err != nil {
		t.Fatalf("ResetRate: %v", err)
	}
	if d := mustAllow(t, h.State, "login:alice", 2, true); d.Remaining != 1 {
		t.Fatalf("after ResetRate: Remaining = %d, want 1", d.Remaining)
	}
	if err := h.State.ResetRate(ctx, "never-counted"); err != nil {
		t.Fatalf("ResetRate of an unknown key: %v", err)
	}
}

func testIndependentKeys(t *testing.T, h HotStateHarness) {
	ctx := ctxFor(t)
	mustAllow(t, h.State, "a", 1, true)
	mustAllow(t, h.State, "b", 1, true)
	mustAllow(t, h.State, "a", 1, false)
	mustAllow(t, h.State, "b", 1, false)
	if err := h.State.ResetRate(ctx, "a"); err != nil {
		t.Fatalf("ResetRate: %v", err)
	}
	mustAllow(t, h.State, "a", 1, true)
	mustAllow(t, h.State, "b", 1, false)
}

func testWindowChange(t *testing.T, h HotStateHarness) {
	mustAllow(t, h.State, "k", 1, true)
	mustAllow(t, h.State, "k", 1, false)
	ctx := ctxFor(t)
	d, err := h.State.Allow(ctx, "k", 1, 2*time.Second)
	if err != nil || !d.Allowed {
		t.Fatalf("Allow with another window = %+v, %v; want a fresh count", d, err)
	}
}

func testConcurrentAllow(t *testing.T, h HotStateHarness) {
	const limit, workers, hitsEach = 25, 16, 5
	ctx := ctxFor(t)
	peer := h.Peer(t)
	var ok, errs atomic.Int64
	parallel(workers, func(i int) {
		s := h.State
		if i%2 == 1 {
			s = peer
		}
		for range hitsEach {
			d, err := s.Allow(ctx, "hot", limit, time.Minute)
			switch {
			case err != nil:
				errs.Add(1)
			case d.Allowed:
				ok.Add(1)
			}
		}
	})
	if errs.Load() != 0 {
		t.Fatalf("%d Allow calls failed", errs.Load())
	}
	if ok.Load() != limit {
		t.Fatalf("%d of %d concurrent hits allowed, want exactly %d", ok.Load(), workers*hitsEach, limit)
	}
}

// mustAllow calls Allow with a one-second window and checks Allowed.
func mustAllow(t *testing.T, s storage.HotState, key string, limit int, want bool) storage.RateDecision {
	t.Helper()
	d, err := s.Allow(ctxFor(t), key, limit, time.Second)
	if err != nil {
		t.Fatalf("Allow(%q): %v", key, err)
	}
	if d.Allowed != want {
		t.Fatalf("Allow(%q) = %+v, want Allowed=%v", key, d, want)
	}
	return d
}
