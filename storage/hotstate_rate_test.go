package storage

import (
	"testing"
	"time"
)

// TestRateCounterRetryAfterIsSmallest checks, over every reachable state of
// small counters, that a refused hit's RetryAfter is exactly the first
// millisecond at which a hit is allowed again (found by trying every one).
func TestRateCounterRetryAfterIsSmallest(t *testing.T) {
	for _, window := range []int64{1, 2, 7, 10, 100} {
		for limit := int64(1); limit <= 6; limit++ {
			for prev := int64(0); prev <= limit; prev++ {
				for cur := int64(0); cur <= limit; cur++ {
					for e := range window {
						checkRetryAfter(t, window, limit, rateCounter{window: window, bucket: 100, prev: prev, cur: cur}, 100*window+e)
					}
				}
			}
		}
	}
}

func checkRetryAfter(t *testing.T, window, limit int64, r rateCounter, now int64) {
	t.Helper()
	_, d := r.hit(now, window, limit)
	if d.Allowed {
		if d.RetryAfter != 0 || d.Remaining < 0 {
			t.Fatalf("%+v at %d: allowed with %+v", r, now, d)
		}
		return
	}
	if d.Remaining != 0 {
		t.Fatalf("%+v at %d: refused with Remaining %d", r, now, d.Remaining)
	}
	wait := d.RetryAfter.Milliseconds()
	if wait <= 0 || time.Duration(wait)*time.Millisecond != d.RetryAfter {
		t.Fatalf("%+v at %d: RetryAfter %v is not a positive whole number of ms", r, now, d.RetryAfter)
	}
	for w := int64(1); w <= wait; w++ {
		_, later := r.hit(now+w, window, limit)
		if later.Allowed != (w == wait) {
			t.Fatalf("%+v, limit %d, at %d: RetryAfter %dms, but a hit %dms later has Allowed=%v",
				r, limit, now, wait, w, later.Allowed)
		}
	}
}

// TestRateCounterRemaining checks Remaining = ⌊limit − estimate⌋ after an
// allowed hit, with the estimate computed in floating point.
func TestRateCounterRemaining(t *testing.T) {
	const window, limit = 1000, 10
	for prev := int64(0); prev <= limit; prev++ {
		for cur := int64(0); cur < limit; cur++ {
			for _, e := range []int64{0, 1, 250, 500, 999} {
				r := rateCounter{window: window, bucket: 5, prev: prev, cur: cur}
				_, d := r.hit(5*window+e, window, limit)
				estimate := float64(prev)*float64(window-e)/window + float64(cur)
				if want := estimate+1 <= limit; d.Allowed != want {
					t.Fatalf("%+v at e=%d: Allowed %v, want %v", r, e, d.Allowed, want)
				}
				if d.Allowed {
					if want := int(float64(limit) - (estimate + 1) + 1e-9); d.Remaining != want {
						t.Fatalf("%+v at e=%d: Remaining %d, want %d", r, e, d.Remaining, want)
					}
				}
			}
		}
	}
}

func TestRateCounterRollsBuckets(t *testing.T) {
	r := rateCounter{window: 10, bucket: 3, prev: 4, cur: 5}
	tests := []struct {
		name string
		now  int64
		want rateCounter // after an allowed hit with a large limit
	}{
		{"SameBucket", 35, rateCounter{window: 10, bucket: 3, prev: 4, cur: 6}},
		{"NextBucket", 40, rateCounter{window: 10, bucket: 4, prev: 5, cur: 1}},
		{"BucketSkipped", 50, rateCounter{window: 10, bucket: 5, prev: 0, cur: 1}},
		{"ClockBehind", 25, rateCounter{window: 10, bucket: 3, prev: 4, cur: 6}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, d := r.hit(tc.now, 10, 1000)
			if !d.Allowed || got != tc.want {
				t.Fatalf("hit = %+v, %+v; want %+v allowed", got, d, tc.want)
			}
		})
	}
	if got, _ := r.hit(35, 20, 1000); got != (rateCounter{window: 20, bucket: 1, cur: 1}) {
		t.Fatalf("hit with another window = %+v, want a fresh counter", got)
	}
}

func TestFloorCeilDiv(t *testing.T) {
	for _, tc := range []struct{ a, b, floor, ceil int64 }{
		{7, 2, 3, 4}, {-7, 2, -4, -3}, {6, 3, 2, 2}, {-6, 3, -2, -2}, {0, 5, 0, 0}, {-1, 5, -1, 0},
	} {
		if got := floorDiv(tc.a, tc.b); got != tc.floor {
			t.Errorf("floorDiv(%d, %d) = %d, want %d", tc.a, tc.b, got, tc.floor)
		}
		if got := ceilDiv(tc.a, tc.b); got != tc.ceil {
			t.Errorf("ceilDiv(%d, %d) = %d, want %d", tc.a, tc.b, got, tc.ceil)
		}
	}
}
