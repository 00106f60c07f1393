package storage_test

import (
	"crypto/rand"
	mathrand "math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/madfam-org/janua/storage"
	"github.com/madfam-org/janua/storage/storagetest"
)

// TestHotStateRateMatchesAcrossBackends drives both implementations with
// the same random hits on the same fake clock and requires identical
// decisions: the Lua script and the Go code do the same arithmetic.
func TestHotStateRateMatchesAcrossBackends(t *testing.T) {
	addr := storagetest.RedisAddr(t)
	ctx := t.Context()
	clock := storagetest.NewClock()
	mem := storage.NewMemoryHotState(storage.MemoryHotStateOptions{Now: clock.Now})
	t.Cleanup(func() { _ = mem.Close() })
	red := openRedis(t, addr, redisPrefix(t, addr), clock.Now)

	rng := mathrand.New(mathrand.NewPCG(7, 11))
	keys := []struct {
		name   string
		window time.Duration
		limit  int
	}{
		{"k0", 7 * time.Millisecond, 2},
		{"k1", 100 * time.Millisecond, 5},
		{"k2", time.Second, 12},
		{"k3", time.Minute, 40},
	}
	var allowed, refused int
	for i := range 4000 {
		// Mostly small steps, sometimes whole windows, never backwards.
		clock.Advance(time.Duration(rng.ExpFloat64()*15) * time.Millisecond)
		k := keys[rng.IntN(len(keys))]
		limit := k.limit
		if rng.IntN(20) == 0 {
			limit = 1 + rng.IntN(2*k.limit) // a caller changing its mind
		}
		want, err := mem.Allow(ctx, k.name, limit, k.window)
		if err != nil {
			t.Fatalf("memory Allow: %v", err)
		}
		got, err := red.Allow(ctx, k.name, limit, k.window)
		if err != nil {
			t.Fatalf("redis Allow: %v", err)
		}
		if got != want {
			t.Fatalf("hit %d (%s, limit %d, window %v, at %v): redis %+v, memory %+v",
				i, k.name, limit, k.window, clock.Now().Format(time.RFC3339Nano), got, want)
		}
		if want.Allowed {
			allowed++
		} else {
			refused++
		}
	}
	t.Logf("%d hits allowed, %d refused, all alike", allowed, refused)
	if allowed < 500 || refused < 500 {
		t.Fatalf("%d hits allowed and %d refused: the scenario no longer exercises both", allowed, refused)
	}
}

func TestRedisHotStateLayout(t *testing.T) {
	addr := storagetest.RedisAddr(t)
	ctx := t.Context()
	prefix := redisPrefix(t, addr)
	s := openRedis(t, addr, prefix, storagetest.NewClock().Now)
	raw := rawRedis(t, addr)

	if _, err := s.Allow(ctx, "ip:192.0.2.1", 5, 10*time.Second); err != nil {
		t.Fatalf("Allow: %v", err)
	}
	pttl, err := raw.Do(ctx, raw.B().Pttl().Key(prefix+"rate:ip:192.0.2.1").Build()).AsInt64()
	if err != nil || pttl <= 0 || pttl > 20_000 {
		t.Fatalf("PTTL of the rate counter = %d, %v; want in (0, 2 windows]", pttl, err)
	}
	if _, err := s.MarkUsed(ctx, "jti", time.Minute); err != nil {
		t.Fatalf("MarkUsed: %v", err)
	}
	if err := s.Put(ctx, "v", []byte("x"), time.Minute); err != nil {
		t.Fatalf("Put: %v", err)
	}
	for _, key := range []string{"used:jti", "val:v"} {
		if n, err := raw.Do(ctx, raw.B().Exists().Key(prefix+key).Build()).AsInt64(); err != nil || n != 1 {
			t.Errorf("EXISTS %s%s = %d, %v; want 1", prefix, key, n, err)
		}
	}
}

func TestRedisHotStateUnsubscribesOnCancel(t *testing.T) {
	addr := storagetest.RedisAddr(t)
	ctx := t.Context()
	prefix := redisPrefix(t, addr)
	s := openRedis(t, addr, prefix, nil)
	raw := rawRedis(t, addr)
	numsub := func() int64 {
		m, err := raw.Do(ctx, raw.B().PubsubNumsub().Channel(prefix+"chan:c").Build()).AsMap()
		if err != nil {
			t.Fatalf("PUBSUB NUMSUB: %v", err)
		}
		v := m[prefix+"chan:c"]
		n, _ := v.AsInt64()
		return n
	}
	cancels := make([]func(), 3)
	for i := range cancels {
		c, err := s.Subscribe(ctx, "c", func(string) {})
		if err != nil {
			t.Fatalf("Subscribe: %v", err)
		}
		cancels[i] = c
	}
	if n := numsub(); n != 1 {
		t.Fatalf("server-side subscribers = %d, want 1 shared by 3 local ones", n)
	}
	for _, c := range cancels {
		c()
	}
	deadline := time.Now().Add(3 * time.Second)
	for numsub() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the server still has a subscriber after every local one cancelled")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestRedisHotStateSurvivesDisconnect kills the store's connections on the
// server and expects rueidis to re-dial and resubscribe on its own.
func TestRedisHotStateSurvivesDisconnect(t *testing.T) {
	addr := storagetest.RedisAddr(t)
	ctx := t.Context()
	prefix := redisPrefix(t, addr)
	name := "janua-test-" + rand.Text()[:10]
	s, err := storage.NewRedisHotState(ctx, storage.RedisHotStateOptions{URL: addr, Prefix: prefix, ClientName: name})
	if err != nil {
		t.Fatalf("NewRedisHotState: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	got := make(chan string, 100)
	if _, err := s.Subscribe(ctx, "c", func(m string) { got <- m }); err != nil {
		t.Fatalf("Subscribe: %v", err)
	}

	raw := rawRedis(t, addr)
	list, err := raw.Do(ctx, raw.B().ClientList().Build()).ToString()
	if err != nil {
		t.Fatalf("CLIENT LIST: %v", err)
	}
	list = strings.TrimPrefix(list, "txt:") // RESP3 verbatim string
	killed := 0
	for _, line := range strings.Split(list, "\n") {
		if !strings.Contains(line, " name="+name+" ") {
			continue
		}
		id, _, _ := strings.Cut(strings.TrimPrefix(line, "id="), " ")
		n, err := strconv.ParseInt(id, 10, 64)
		if err != nil {
			t.Fatalf("CLIENT LIST line %q: %v", line, err)
		}
		if err := raw.Do(ctx, raw.B().ClientKill().Id(n).Build()).Error(); err != nil {
			t.Fatalf("CLIENT KILL ID %d: %v", n, err)
		}
		killed++
	}
	if killed == 0 {
		t.Fatalf("no connection named %s in CLIENT LIST", name)
	}

	// Commands re-dial; the subscription comes back. Messages sent while
	// it was down may be lost, so publish until one arrives; the subscriber
	// is told of the loss (storage.MessagesLost) when the subscription is
	// made again.
	deadline := time.Now().Add(10 * time.Second)
	told := false
	for i := 0; ; i++ {
		if time.Now().After(deadline) {
			t.Fatalf("within 10s of killing %d connections: a message delivered %v, the loss told %v", killed, false, told)
		}
		if err := s.Publish(ctx, "c", strconv.Itoa(i)); err != nil {
			continue // the first command after the kill may fail
		}
		select {
		case m := <-got:
			if m == storage.MessagesLost {
				told = true
				continue
			}
			if !told {
				// A published message may beat the loss notice to the
				// callback; the notice follows at once.
				select {
				case m := <-got:
					told = m == storage.MessagesLost
				case <-time.After(time.Second):
				}
			}
			if !told {
				t.Fatalf("delivered again after %d publishes, but the subscriber was not told of the messages lost", i+1)
			}
			t.Logf("killed %d connections; delivered again after %d publishes", killed, i+1)
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func TestNewRedisHotStateURLs(t *testing.T) {
	addr := storagetest.RedisAddr(t)
	ctx := t.Context()
	for _, url := range []string{addr, "redis://" + addr, "redis://" + addr + "/0"} {
		s, err := storage.NewRedisHotState(ctx, storage.RedisHotStateOptions{URL: url})
		if err != nil {
			t.Errorf("NewRedisHotState(%q): %v", url, err)
			continue
		}
		if err := s.Ping(ctx); err != nil {
			t.Errorf("Ping via %q: %v", url, err)
		}
		_ = s.Close()
	}
	for _, url := range []string{"", "http://" + addr, "redis://:s3cret@[::1"} {
		_, err := storage.NewRedisHotState(ctx, storage.RedisHotStateOptions{URL: url})
		if err == nil {
			t.Errorf("NewRedisHotState(%q) succeeded", url)
		} else if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("NewRedisHotState error reveals the password: %v", err)
		}
	}
}
