package storage

import "time"

// rateCounter is the stored state of one sliding-window rate counter: the
// counts of the current bucket and of the one before it. The Redis
// implementation keeps the same four numbers in a hash (fields w, b, c, p)
// and applies rateScript, the Lua twin of rateCounter.hit.
type rateCounter struct {
	window int64 // bucket length in milliseconds
	bucket int64 // index of the current bucket: ⌊unix ms / window⌋
	cur    int64 // hits counted in the current bucket
	prev   int64 // hits counted in the bucket before it
}

// hit applies one hit at now (unix milliseconds) against limit and returns
// the updated counter with the decision. The counter changes only when the
// hit is allowed; a refused hit is not counted.
//
// With W the window, e the time elapsed in the current bucket, p and c the
// previous and current counts, the estimate of hits in the window ending now
// is p·(W−e)/W + c. All arithmetic is done on estimate·W, in integers.
func (r rateCounter) hit(now, window, limit int64) (rateCounter, RateDecision) {
	n := floorDiv(now, window)
	e := now - n*window
	switch {
	case r.window != window || r.bucket < n-1:
		// Fresh, stale or counted with another window: nothing weighs.
		r = rateCounter{window: window, bucket: n}
	case r.bucket == n-1:
		r = rateCounter{window: window, bucket: n, prev: r.cur}
	case r.bucket > n:
		// Our clock is behind the instance that counted last: count in
		// its bucket, as if at its start.
		e = 0
	}
	used := r.prev*(window-e) + r.cur*window
	capacity := limit * window
	if used+window <= capacity {
		r.cur++
		return r, RateDecision{Allowed: true, Remaining: int((capacity - used - window) / window)}
	}
	return r, RateDecision{RetryAfter: time.Duration(r.retryAfter(e, window, limit)) * time.Millisecond}
}

// retryAfter returns, for a refused hit at elapsed e in the current bucket,
// the smallest wait in milliseconds after which a hit would be allowed.
func (r rateCounter) retryAfter(e, window, limit int64) int64 {
	p, c := r.prev, r.cur
	if c+1 <= limit && p > 0 {
		// Still in this bucket: the least t with p·(W−e−t) ≤ (limit−c−1)·W.
		t := ceilDiv(p*(window-e)-(limit-c-1)*window, p)
		if e+t < window {
			return t
		}
	}
	// In the next bucket, where c becomes the previous count and nothing is
	// current yet: the least e2 with c·(W−e2) + W ≤ limit·W. At e2 = W the
	// bucket after that starts, where nothing weighs at all.
	var e2 int64
	if c > 0 {
		e2 = min(max(ceilDiv(window*(c-limit+1), c), 0), window)
	}
	return window - e + e2
}

// floorDiv is a/b rounded towards minus infinity, for b > 0.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// ceilDiv is a/b rounded towards plus infinity, for b > 0.
func ceilDiv(a, b int64) int64 {
	return -floorDiv(-a, b)
}
