package login

import (
	"context"
	"errors"
	"net/http"
	"runtime"
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
// by its first hash and kept: the memory of hashing is Concurrent ×
// MemoryKiB, whatever the rate of sign-ins. A hash uses one processor from
// start to end, so more slots than processors only share them out and
// hold more memory.
type HashLimits struct {
	// Concurrent is the number of slots; 0 means runtime.GOMAXPROCS.
	Concurrent int
	// Wait is how long a caller waits for a slot before ErrBusy; 0 means
	// DefaultHashWait.
	Wait time.Duration
}

// DefaultHashWait is how long a password check waits for a slot by default:
// with one hash taking ~20 ms a processor, a queue of about a hundred
// sign-ins per processor.
const DefaultHashWait = 2 * time.Second

// hashSlots is the semaphore of HashLimits: a free slot is a Memory in the
// channel.
type hashSlots struct {
	free chan *argon2id.Memory
	wait time.Duration
}

func newHashSlots(l HashLimits, kib uint32) hashSlots {
	n := l.Concurrent
	if n < 1 {
		n = runtime.GOMAXPROCS(0)
	}
	s := hashSlots{free: make(chan *argon2id.Memory, n), wait: l.Wait}
	if s.wait <= 0 {
		s.wait = DefaultHashWait
	}
	for range n {
		s.free <- argon2id.NewMemory(kib)
	}
	return s
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

func (s hashSlots) release(m *argon2id.Memory) { s.free <- m }

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
