package storagetest

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/madfam-org/janua/storage"
)

var markUsedTests = []hotStateTest{
	{"FirstThenNotFirst", func(t *testing.T, h HotStateHarness) {
		peer := h.Peer(t)
		mustMark(t, h.State, "jti:1", time.Minute, true)
		mustMark(t, h.State, "jti:1", time.Minute, false)
		mustMark(t, peer, "jti:1", time.Minute, false)
		mustMark(t, peer, "jti:2", time.Minute, true)
	}},
	{"ConcurrentExactlyOneWinner", func(t *testing.T, h HotStateHarness) {
		ctx := ctxFor(t)
		peer := h.Peer(t)
		var first, errs atomic.Int64
		parallel(16, func(i int) {
			s := h.State
			if i%2 == 1 {
				s = peer
			}
			ok, err := s.MarkUsed(ctx, "totp:alice:123456", time.Minute)
			if err != nil {
				errs.Add(1)
			} else if ok {
				first.Add(1)
			}
		})
		if errs.Load() != 0 || first.Load() != 1 {
			t.Fatalf("%d callers were first and %d failed, want exactly 1 first and no failures", first.Load(), errs.Load())
		}
	}},
	{"ExpiresAfterTTL", func(t *testing.T, h HotStateHarness) {
		// Long enough that the second call comes before the expiry even
		// on a loaded machine (Redis expires by real time).
		mustMark(t, h.State, "link", 500*time.Millisecond, true)
		mustMark(t, h.State, "link", 500*time.Millisecond, false)
		h.Advance(500 * time.Millisecond)
		eventually(t, "marker expired", func() bool { return mark(t, h.State, "link", 500*time.Millisecond) })
	}},
	{"RepeatDoesNotExtend", func(t *testing.T, h HotStateHarness) {
		mustMark(t, h.State, "link", time.Second, true)
		h.Advance(600 * time.Millisecond)
		mustMark(t, h.State, "link", time.Second, false)
		// 1.2 s after the first call: the marker is gone, unless the
		// second call extended it to 1.6 s.
		h.Advance(600 * time.Millisecond)
		eventually(t, "marker expired", func() bool { return mark(t, h.State, "link", time.Second) })
	}},
}

var valueTests = []hotStateTest{
	{"PutGetTakeDelete", func(t *testing.T, h HotStateHarness) {
		ctx := ctxFor(t)
		mustPut(t, h.State, "ceremony", "pending", time.Minute)
		wantValue(t, h.State, "ceremony", "pending")
		wantValue(t, h.State, "ceremony", "pending") // Get does not consume
		got, err := h.State.Take(ctx, "ceremony")
		if err != nil || string(got) != "pending" {
			t.Fatalf("Take = %q, %v; want %q", got, err, "pending")
		}
		wantNotFound(t, h.State, "ceremony")
		if _, err := h.State.Take(ctx, "ceremony"); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("second Take: err = %v, want ErrNotFound", err)
		}
		mustPut(t, h.State, "ceremony", "again", time.Minute)
		if err := h.State.Delete(ctx, "ceremony"); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		wantNotFound(t, h.State, "ceremony")
		if err := h.State.Delete(ctx, "ceremony"); err != nil {
			t.Fatalf("Delete of a missing key: %v", err)
		}
	}},
	{"GetMissing", func(t *testing.T, h HotStateHarness) {
		wantNotFound(t, h.State, "never-stored")
		if _, err := h.State.Take(ctxFor(t), "never-stored"); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("Take: err = %v, want ErrNotFound", err)
		}
	}},
	{"VisibleToPeer", func(t *testing.T, h HotStateHarness) {
		peer := h.Peer(t)
		mustPut(t, h.State, "shared", "v", time.Minute)
		wantValue(t, peer, "shared", "v")
	}},
	{"ExpiresAfterTTL", func(t *testing.T, h HotStateHarness) {
		mustPut(t, h.State, "short", "v", 500*time.Millisecond)
		wantValue(t, h.State, "short", "v")
		h.Advance(500 * time.Millisecond)
		eventually(t, "value expired", func() bool { return notFound(t, h.State, "short") })
		if _, err := h.State.Take(ctxFor(t), "short"); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("Take after expiry: err = %v, want ErrNotFound", err)
		}
	}},
	{"PutReplacesValueAndTTL", func(t *testing.T, h HotStateHarness) {
		mustPut(t, h.State, "k", "one", 100*time.Millisecond)
		mustPut(t, h.State, "k", "two", time.Minute)
		h.Advance(150 * time.Millisecond) // past the first ttl
		wantValue(t, h.State, "k", "two")
		mustPut(t, h.State, "k", "three", 100*time.Millisecond)
		h.Advance(100 * time.Millisecond) // the minute is replaced too
		eventually(t, "replaced value expired", func() bool { return notFound(t, h.State, "k") })
	}},
	{"ConcurrentTakeExactlyOneWinner", func(t *testing.T, h HotStateHarness) {
		ctx := ctxFor(t)
		peer := h.Peer(t)
		mustPut(t, h.State, "code", "secret", time.Minute)
		var won, missed, errs atomic.Int64
		parallel(16, func(i int) {
			s := h.State
			if i%2 == 1 {
				s = peer
			}
			v, err := s.Take(ctx, "code")
			switch {
			case err == nil && string(v) == "secret":
				won.Add(1)
			case errors.Is(err, storage.ErrNotFound):
				missed.Add(1)
			default:
				errs.Add(1)
			}
		})
		if won.Load() != 1 || missed.Load() != 15 {
			t.Fatalf("%d Take calls won, %d got ErrNotFound, %d failed otherwise; want 1, 15, 0", won.Load(), missed.Load(), errs.Load())
		}
	}},
	{"BinaryRoundTrip", func(t *testing.T, h HotStateHarness) {
		ctx := ctxFor(t)
		every := make([]byte, 256)
		for i := range every {
			every[i] = byte(i)
		}
		big := make([]byte, 64<<10)
		rng := rand.New(rand.NewPCG(1, 2))
		for i := range big {
			big[i] = byte(rng.Uint32())
		}
		for name, v := range map[string][]byte{
			"empty": {}, "nul": {0}, "controls": {0, '\r', '\n', 0xff, 0x80, 0xc3},
			"every-byte": every, "64KiB": big,
		} {
			if err := h.State.Put(ctx, name, v, time.Minute); err != nil {
				t.Fatalf("Put(%s): %v", name, err)
			}
			got, err := h.State.Get(ctx, name)
			if err != nil || !bytes.Equal(got, v) {
				t.Fatalf("Get(%s) = %d bytes, %v; want the %d bytes put", name, len(got), err, len(v))
			}
			if got, err = h.State.Take(ctx, name); err != nil || !bytes.Equal(got, v) {
				t.Fatalf("Take(%s) = %d bytes, %v; want the %d bytes put", name, len(got), err, len(v))
			}
		}
	}},
	{"CallerOwnsSlices", func(t *testing.T, h HotStateHarness) {
		ctx := ctxFor(t)
		v := []byte("abc")
		if err := h.State.Put(ctx, "k", v, time.Minute); err != nil {
			t.Fatalf("Put: %v", err)
		}
		v[0] = 'X'
		got, err := h.State.Get(ctx, "k")
		if err != nil {
			t.Fatalf("Get: %v", err)
		}
		got[1] = 'Y'
		wantValue(t, h.State, "k", "abc")
	}},
	{"KindsAreSeparate", func(t *testing.T, h HotStateHarness) {
		ctx := ctxFor(t)
		mustPut(t, h.State, "k", "v", time.Minute)
		mustMark(t, h.State, "k", time.Minute, true)
		mustAllow(t, h.State, "k", 1, true)
		if err := h.State.ResetRate(ctx, "k"); err != nil {
			t.Fatalf("ResetRate: %v", err)
		}
		if err := h.State.Delete(ctx, "k"); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		mustMark(t, h.State, "k", time.Minute, false)
		mustPut(t, h.State, "k", "v", time.Minute)
		mustAllow(t, h.State, "k", 1, true)
		wantValue(t, h.State, "k", "v")
	}},
}

func mark(t *testing.T, s storage.HotState, key string, ttl time.Duration) bool {
	t.Helper()
	first, err := s.MarkUsed(ctxFor(t), key, ttl)
	if err != nil {
		t.Fatalf("MarkUsed(%q): %v", key, err)
	}
	return first
}

func mustMark(t *testing.T, s storage.HotState, key string, ttl time.Duration, want bool) {
	t.Helper()
	if got := mark(t, s, key, ttl); got != want {
		t.Fatalf("MarkUsed(%q) = %v, want %v", key, got, want)
	}
}

func mustPut(t *testing.T, s storage.HotState, key, value string, ttl time.Duration) {
	t.Helper()
	if err := s.Put(ctxFor(t), key, []byte(value), ttl); err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
}

func wantValue(t *testing.T, s storage.HotState, key, want string) {
	t.Helper()
	got, err := s.Get(ctxFor(t), key)
	if err != nil || string(got) != want {
		t.Fatalf("Get(%q) = %q, %v; want %q", key, got, err, want)
	}
}

// notFound reports whether Get says ErrNotFound, failing on other errors.
func notFound(t *testing.T, s storage.HotState, key string) bool {
	t.Helper()
	_, err := s.Get(ctxFor(t), key)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Get(%q): %v, want nil or ErrNotFound", key, err)
	}
	return err != nil
}

func wantNotFound(t *testing.T, s storage.HotState, key string) {
	t.Helper()
	if !notFound(t, s, key) {
		t.Fatalf("Get(%q) succeeded, want ErrNotFound", key)
	}
}
