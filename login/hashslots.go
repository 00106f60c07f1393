package login

import (
	"context"
	"errors"
	"net/http"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/madfam-org/janua/login/internal/argon2id"
	"github.com/madfam-org/janua/web"
)

// ErrBusy means no password-hashing slot came free within HashLimits.Wait:
// the server is checking as many passwords as it has processors for and a
// queue has formed. Pages answer 503 with Retry-After.
var ErrBusy = errors.New("login: too many password checks at once, try again shortly")

// HashLimits bound the password hashes computed at once. Each slot owns
// the argon2id block memory of one hash (Argon2Params.MemoryKiB), allocated
// by its first hash and kept while hashes keep coming: the memory of
// hashing is at most Concurrent × MemoryKiB, whatever the rate of sign-ins,
// and none once no hash has run for IdleRelease. A hash uses one processor
// from start to end, so more slots than processors only share them out and
// hold more memory.
type HashLimits struct {
	// Concurrent is the number of slots; 0 means runtime.GOMAXPROCS.
	Concurrent int
	// Wait is how long a caller waits for a slot before ErrBusy; 0 means
	// DefaultHashWait.
	Wait time.Duration
	// IdleRelease is how long the slots keep their memory after the last
	// hash; 0 means DefaultHashIdleRelease.
	IdleRelease time.Duration
}

// DefaultHashIdleRelease is how long hashing memory stays after the last
// hash by default: a second, so that a steady stream of sign-ins reuses it
// (a hash in fresh memory costs its page faults, a few percent more) while
// a server that signs nobody in holds none of it.
const DefaultHashIdleRelease = time.Second

// DefaultHashWait is how long a password check waits for a slot by default:
// with one hash taking ~20 ms a processor, a queue of about a hundred
// sign-ins per processor.
const DefaultHashWait = 2 * time.Second

// hashSlots is the semaphore of HashLimits: a free slot is a Memory in the
// channel.
type hashSlots struct {
	free chan *argon2id.Memory
	wait time.Duration
	idle *idleRelease
}

// idleRelease gives the slots' memory back once no hash has run for after:
// a release arms the timer if it is not armed; when it fires early (a hash
// ran since) it waits out the rest.
type idleRelease struct {
	after    time.Duration
	last     atomic.Int64 // UnixNano of the last release
	armed    atomic.Bool
	timer    *time.Timer
	released atomic.Uint64 // slots trimmed, for tests
}

func newHashSlots(l HashLimits, kib uint32) hashSlots {
	n := l.Concurrent
	if n < 1 {
		n = runtime.GOMAXPROCS(0)
	}
	s := hashSlots{free: make(chan *argon2id.Memory, n), wait: l.Wait, idle: &idleRelease{after: l.IdleRelease}}
	if s.wait <= 0 {
		s.wait = DefaultHashWait
	}
	if s.idle.after <= 0 {
		s.idle.after = DefaultHashIdleRelease
	}
	for range n {
		s.free <- argon2id.NewMemory(kib)
	}
	s.idle.timer = time.AfterFunc(time.Hour, s.trimIdle)
	s.idle.timer.Stop()
	return s
}

// trimIdle is the idle timer's: it trims every free slot once no hash has
// run for s.idle.after, else re-arms for the rest of it.
func (s hashSlots) trimIdle() {
	if rest := s.idle.after - time.Since(time.Unix(0, s.idle.last.Load())); rest > 0 {
		s.idle.timer.Reset(rest)
		return
	}
	s.idle.armed.Store(false)
	var held []*argon2id.Memory
	for {
		select {
		case m := <-s.free:
			held = append(held, m)
			continue
		default:
		}
		break
	}
	for _, m := range held {
		m.Trim()
		s.idle.released.Add(1)
		s.free <- m
	}
}

// acquire takes a slot, waiting at most s.wait (ErrBusy) and while ctx
// lives (its error). The caller gives the Memory back with release.
func (s hashSlots) acquire(ctx context.Context) (*argon2id.Memory, error) {
	select {
	case m := <-s.free:
		return m, nil
	default:
	}
	t := time.NewTimer(s.wait)
	defer t.Stop()
	select {
	case m := <-s.free:
		return m, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-t.C:
		return nil, ErrBusy
	}
}

func (s hashSlots) release(m *argon2id.Memory) {
	s.free <- m
	s.idle.last.Store(time.Now().UnixNano())
	if s.idle.armed.CompareAndSwap(false, true) {
		s.idle.timer.Reset(s.idle.after)
	}
}

// hashFailed answers a password hash that could not run: ErrBusy becomes
// 503 Service Unavailable with Retry-After (RFC 9110 §15.6.4, §10.2.3),
// anything else goes on as it is.
func hashFailed(c echo.Context, err error) error {
	if !errors.Is(err, ErrBusy) {
		return err
	}
	retryAfter(c, time.Second)
	return &web.Error{Status: http.StatusServiceUnavailable, Code: "busy", Err: err}
}
