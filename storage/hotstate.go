package storage

import (
	"context"
	"time"
)

// HotState is the small, fast, shared state that several stateless Janua
// instances must agree on but that does not belong in the database: rate-limit
// counters, one-time-use markers (replay protection for JWT jti, TOTP codes,
// one-time links), short-lived values (pending ceremonies) and a broadcast
// used to invalidate in-process caches on every instance.
//
// Two implementations behave identically (storagetest.RunHotState proves it):
// NewMemoryHotState for a single instance, and NewRedisHotState (rueidis) when
// JANUA_REDIS_URL is set. Keys are opaque strings chosen by the caller; the
// implementation namespaces them, and each kind of state (rate counters,
// used markers, values, channels) has its own namespace: MarkUsed("k") and
// Put("k") never see each other. Every method is safe for concurrent use.
//
// Arguments are validated the same way everywhere: an empty key or channel, a
// limit below 1, a window shorter than a millisecond, a ttl that is not
// positive or a nil fn is an error (never a panic). Key names never appear in
// errors, since callers may build keys from codes or token identifiers. After
// Close every method returns an error.
type HotState interface {
	// Allow counts one hit against key in a sliding window of the given
	// length and reports whether the hit is within limit. A refused hit is not
	// counted, so a client that backs off for RetryAfter is let through again.
	// limit must be ≥ 1 and window ≥ 1ms.
	//
	// The window slides: hits are counted in buckets of length window aligned
	// to multiples of window since the Unix epoch, and the previous bucket
	// weighs in proportion to how much of it still lies inside the window
	// ending now (estimate = previous·(window−elapsed)/window + current). A hit
	// is allowed when estimate+1 ≤ limit. Time comes from the clock the
	// implementation was built with, at millisecond resolution (window is
	// truncated to whole milliseconds); limit·window in milliseconds must not
	// exceed 2^52. Changing window for a key starts its count afresh.
	Allow(ctx context.Context, key string, limit int, window time.Duration) (RateDecision, error)

	// ResetRate forgets every hit counted against key (for example after a
	// successful sign-in clears the failed-attempt counter).
	ResetRate(ctx context.Context, key string) error

	// MarkUsed records key as used for ttl and reports whether this call was
	// the first to do so. Exactly one of any number of concurrent callers, on
	// any instance, gets true while the marker lives. A call that is not
	// first leaves the marker's expiry unchanged. ttl must be positive; it is
	// rounded up to whole milliseconds, here and in Put.
	MarkUsed(ctx context.Context, key string, ttl time.Duration) (first bool, err error)

	// Put stores value under key for ttl, replacing any previous value.
	Put(ctx context.Context, key string, value []byte, ttl time.Duration) error
	// Get returns the value stored under key, or ErrNotFound once it has
	// expired or was never stored.
	Get(ctx context.Context, key string) ([]byte, error)
	// Take returns the value stored under key and deletes it atomically:
	// of several concurrent callers exactly one gets the value, the others
	// ErrNotFound.
	Take(ctx context.Context, key string) ([]byte, error)
	// Delete removes key; deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error

	// Publish sends message to every current subscriber of channel on every
	// instance, this one included. Delivery is at most once and best effort:
	// subscribers use it to drop caches, never as a source of truth.
	Publish(ctx context.Context, channel, message string) error
	// Subscribe calls fn for every message published on channel until the
	// returned cancel function is called or ctx ends. When Subscribe returns
	// without error the subscription is live: a message published afterwards
	// is delivered. If ctx ends before the subscription is live, Subscribe
	// returns ctx's error.
	//
	// fn runs on a goroutine of its own subscription, one message at a time;
	// a subscriber that falls far behind loses messages rather than slowing
	// the publisher, and so does every subscriber while a broken connection
	// is made again (Redis); fn then receives MessagesLost. cancel is
	// idempotent, may be called from fn, and once it returns no message
	// published later reaches fn.
	Subscribe(ctx context.Context, channel string, fn func(message string)) (cancel func(), err error)

	// Ping reports whether the backing service answers (readiness check).
	Ping(ctx context.Context) error
	// Close releases connections and background goroutines.
	Close() error
}

// RateDecision is the answer of HotState.Allow.
type RateDecision struct {
	// Allowed reports whether the hit was within the limit (and counted).
	Allowed bool
	// Remaining is how many more hits the window would allow right now.
	Remaining int
	// RetryAfter is, for a refused hit, the shortest wait (in whole
	// milliseconds) after which one more hit would be allowed if no other hit
	// came first; zero when Allowed.
	RetryAfter time.Duration
}
