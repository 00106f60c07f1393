package storage_test

import (
	"context"
	"crypto/rand"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/madfam-org/janua/storage"
	"github.com/madfam-org/janua/storage/storagetest"
)

func TestMemoryHotState(t *testing.T) {
	storagetest.RunHotState(t, openMemory)
}

func TestRedisHotState(t *testing.T) {
	addr := storagetest.RedisAddr(t)
	storagetest.RunHotState(t, func(t *testing.T) storagetest.HotStateHarness {
		prefix := redisPrefix(t, addr)
		clock := storagetest.NewClock()
		open := func(t *testing.T) storage.HotState {
			return openRedis(t, addr, prefix, clock.Now)
		}
		return storagetest.HotStateHarness{
			State: open(t),
			Peer:  open,
			Now:   clock.Now,
			Advance: func(d time.Duration) {
				clock.Advance(d)
				time.Sleep(d) // the server expires keys by its own clock
			},
		}
	})
}

// openMemory is the memory harness: one store, which is its own peer.
func openMemory(t *testing.T) storagetest.HotStateHarness {
	clock := storagetest.NewClock()
	s := storage.NewMemoryHotState(storage.MemoryHotStateOptions{Now: clock.Now})
	t.Cleanup(func() { _ = s.Close() })
	return storagetest.HotStateHarness{
		State:   s,
		Peer:    func(*testing.T) storage.HotState { return s },
		Now:     clock.Now,
		Advance: clock.Advance,
	}
}

// openRedis connects a RedisHotState that is closed with the test.
func openRedis(t testing.TB, addr, prefix string, now func() time.Time) *storage.RedisHotState {
	t.Helper()
	s, err := storage.NewRedisHotState(t.Context(), storage.RedisHotStateOptions{URL: addr, Prefix: prefix, Now: now})
	if err != nil {
		t.Fatalf("NewRedisHotState: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// redisPrefix returns a prefix no other test uses and deletes every key
// under it when the test ends (after the stores using it are closed).
func redisPrefix(t testing.TB, addr string) string {
	t.Helper()
	prefix := "janua-test-" + rand.Text()[:16] + ":"
	t.Cleanup(func() {
		c := rawRedis(t, addr)
		ctx := context.Background()
		var cursor uint64
		for {
			e, err := c.Do(ctx, c.B().Scan().Cursor(cursor).Match(prefix+"*").Count(1000).Build()).AsScanEntry()
			if err != nil {
				t.Errorf("cleaning up %s*: %v", prefix, err)
				return
			}
			if len(e.Elements) > 0 {
				if err := c.Do(ctx, c.B().Del().Key(e.Elements...).Build()).Error(); err != nil {
					t.Errorf("cleaning up %s*: %v", prefix, err)
					return
				}
			}
			if cursor = e.Cursor; cursor == 0 {
				return
			}
		}
	})
	return prefix
}

// rawRedis is a plain rueidis client for looking behind RedisHotState.
func rawRedis(t testing.TB, addr string) rueidis.Client {
	t.Helper()
	c, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{addr}, DisableCache: true})
	if err != nil {
		t.Fatalf("rueidis.NewClient: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

func TestMemoryHotStateClosedError(t *testing.T) {
	s := storage.NewMemoryHotState(storage.MemoryHotStateOptions{})
	_ = s.Close()
	if _, err := s.Get(t.Context(), "k"); err == nil || errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Get after Close: %v, want a closed error that is not ErrNotFound", err)
	}
}

func BenchmarkHotStateAllow(b *testing.B) {
	benchBackends(b, func(b *testing.B, s storage.HotState) {
		ctx := context.Background()
		b.ReportAllocs()
		b.SetParallelism(16)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := s.Allow(ctx, "bench", 1<<30, time.Second); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkHotStateMarkUsed marks a fresh key per operation (as every
// JWT jti is new); building the key costs the benchmark one allocation.
func BenchmarkHotStateMarkUsed(b *testing.B) {
	benchBackends(b, func(b *testing.B, s storage.HotState) {
		ctx := context.Background()
		b.ReportAllocs()
		b.SetParallelism(16)
		b.RunParallel(func(pb *testing.PB) {
			worker := rand.Text()[:8]
			i := 0
			for pb.Next() {
				i++
				// A short ttl keeps the benchmark's footprint small.
				if _, err := s.MarkUsed(ctx, worker+strconv.Itoa(i), 20*time.Millisecond); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// benchBackends runs fn against memory and, when available, Redis. The
// benchmarks run 16 goroutines per CPU, like a server with many requests in
// flight, so Redis round trips overlap in rueidis' pipeline.
func benchBackends(b *testing.B, fn func(b *testing.B, s storage.HotState)) {
	b.Run("Memory", func(b *testing.B) {
		s := storage.NewMemoryHotState(storage.MemoryHotStateOptions{SweepInterval: 100 * time.Millisecond})
		b.Cleanup(func() { _ = s.Close() })
		fn(b, s)
	})
	b.Run("Redis", func(b *testing.B) {
		addr := storagetest.RedisAddr(b)
		fn(b, openRedis(b, addr, redisPrefix(b, addr), nil))
	})
}
