package storage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/rueidis"
)

var _ HotState = (*RedisHotState)(nil)

// defaultRedisPrefix namespaces every key and channel when
// RedisHotStateOptions.Prefix is empty.
const defaultRedisPrefix = "janua:"

// defaultRedisClientName is the connection name when
// RedisHotStateOptions.ClientName is empty.
const defaultRedisClientName = "janua"

// RedisHotStateOptions configures NewRedisHotState.
type RedisHotStateOptions struct {
	// URL locates the server: redis://[user:password@]host:port[/db],
	// rediss:// for TLS (see rueidis.ParseURL), or a bare host:port.
	URL string
	// Prefix namespaces every key and channel; "janua:" when empty. Janua
	// instances that must agree share a prefix.
	Prefix string
	// Now is the clock rate windows are measured with; time.Now when nil.
	// Expiry of markers and values is measured by the server's clock.
	Now func() time.Time
	// Logger receives warnings such as a lost subscription or messages
	// dropped for a slow subscriber; nothing is logged when nil.
	Logger *slog.Logger
	// ClientName names the connections (CLIENT SETNAME) so operators can
	// tell them apart in CLIENT LIST; "janua" when empty.
	ClientName string
}

// RedisHotState is the HotState shared by every Janua instance connected to
// one Redis (or Valkey) server, through rueidis.
//
// Keys are laid out under the prefix P as P+"rate:"+key (a hash holding a
// rate counter), P+"used:"+key (a marker), P+"val:"+key (a value), and
// channels as P+"chan:"+channel. Every read-modify-write is one command or
// one Lua script, so it is atomic across instances.
//
// Connection loss is handled by rueidis: commands fail with an error while
// the server is unreachable (callers decide whether to fail open or closed),
// the connection is re-dialled on the next command, and subscriptions are
// re-established automatically (rueidis retries Receive with a backoff of at
// most a second). Messages published while a subscription was down are
// lost, which the at-most-once contract of Publish allows. Subscribe itself
// waits for the server's confirmation, so while the server is unreachable it
// blocks until its ctx ends: give it a deadline.
type RedisHotState struct {
	client rueidis.Client
	now    func() time.Time
	log    *slog.Logger
	rate   *rueidis.Lua

	ratePrefix, usedPrefix, valuePrefix, chanPrefix string

	closed atomic.Bool
	once   sync.Once

	subMu    sync.RWMutex
	channels map[string]*redisChannel // prefixed channel → its subscription
	running  sync.WaitGroup           // one per redisChannel.run
}

// NewRedisHotState connects to the server named by opts.URL and checks that
// it answers before returning.
func NewRedisHotState(ctx context.Context, opts RedisHotStateOptions) (*RedisHotState, error) {
	if opts.URL == "" {
		return nil, errors.New("storage: redis hot state: empty URL")
	}
	var copt rueidis.ClientOption
	if strings.Contains(opts.URL, "://") {
		var err error
		if copt, err = rueidis.ParseURL(opts.URL); err != nil {
			// The URL may hold a password: never echo it.
			return nil, errors.New("storage: redis hot state: malformed URL")
		}
	} else {
		copt.InitAddress = []string{opts.URL}
	}
	// No client-side caching: nothing here reads through the cache, and
	// turning it off keeps servers without CLIENT TRACKING usable.
	copt.DisableCache = true
	copt.ClientName = opts.ClientName
	if copt.ClientName == "" {
		copt.ClientName = defaultRedisClientName
	}
	client, err := rueidis.NewClient(copt)
	if err != nil {
		return nil, fmt.Errorf("storage: redis hot state: connect: %w", err)
	}
	if err := client.Do(ctx, client.B().Ping().Build()).Error(); err != nil {
		client.Close()
		return nil, fmt.Errorf("storage: redis hot state: ping: %w", err)
	}
	if opts.Prefix == "" {
		opts.Prefix = defaultRedisPrefix
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &RedisHotState{
		client:      client,
		now:         opts.Now,
		log:         opts.Logger,
		rate:        rueidis.NewLuaScript(rateScript),
		ratePrefix:  opts.Prefix + "rate:",
		usedPrefix:  opts.Prefix + "used:",
		valuePrefix: opts.Prefix + "val:",
		chanPrefix:  opts.Prefix + "chan:",
		channels:    make(map[string]*redisChannel),
	}, nil
}

// Ping implements HotState.Ping.
func (r *RedisHotState) Ping(ctx context.Context) error {
	if r.closed.Load() {
		return errHotStateClosed
	}
	if err := r.client.Do(ctx, r.client.B().Ping().Build()).Error(); err != nil {
		return fmt.Errorf("storage: redis hot state ping: %w", err)
	}
	return nil
}

// Close ends every subscription, waits for their goroutines and closes the
// connections. It is idempotent.
func (r *RedisHotState) Close() error {
	r.once.Do(func() {
		r.closed.Store(true)
		r.subMu.Lock()
		for _, c := range r.channels {
			c.stopped = true
			c.stop()
			for s := range c.subs {
				s.close()
			}
			clear(c.subs)
		}
		r.subMu.Unlock()
		r.running.Wait()
		r.client.Close()
	})
	return nil
}

// check validates key and refuses calls after Close.
func (r *RedisHotState) check(op, key string) error {
	if err := checkKey(op, key); err != nil {
		return err
	}
	if r.closed.Load() {
		return errHotStateClosed
	}
	return nil
}
