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
// implementation namespaces them. Every method is safe for concurrent use.
type HotState interface {
	// Allow counts one hit against key in a sliding window of the given
	// length and reports whether the hit is within limit. A refused hit is not
	// counted, so a client that backs off for RetryAfter is let through again.
	// limit must be ≥ 1 and window > 0.
	Allow(ctx context.Context, key string, limit int, window time.Duration) (RateDecision, error)

	// ResetRate forgets every hit counted against key (for example after a
	// successful sign-in clears the failed-attempt counter).
	ResetRate(ctx context.Context, key string) error

	// MarkUsed records key as used for ttl and reports whether this call was
	// the first to do so. Exactly one of any number of concurrent callers, on
	// any instance, gets true while the marker lives.
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
	// is delivered.
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
	// RetryAfter is, for a refused hit, how long until one more hit would be
	// allowed; zero when Allowed.
	RetryAfter time.Duration
}
