package storage

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// A resource server introspects the same access token on every call it
// receives (RFC 7662 §2), and userinfo reads it on every call too: the
// rows of access tokens are read far more often than they change. They
// change in one way only, deletion (revocation, rotation of the refresh
// token issued with them, a password reset, the client's deletion), and
// every deletion goes through this package. So the store keeps the access
// token rows it reads in memory (CacheAccessTokens), and each deletion
// drops what it deletes from that memory: here at once, and on every other
// instance through the hot state's broadcast once the deletion commits.
//
// RFC 7009 §2 allows "a propagation delay, for example, in which some
// servers know about the invalidation while others do not", and asks that
// it be short: here it is the broadcast's (a Redis PUBLISH, well under a
// millisecond on loopback); on this instance there is none. A broadcast
// can be lost (a Redis connection that breaks), so no entry lives longer
// than AccessTokenCacheTTL either: the longest a revoked token can still
// answer "active" anywhere.
//
// A read that overlaps a deletion must not put back what the deletion
// dropped: each deletion advances a generation, and a row read from the
// database is kept only if no deletion was seen since its read began.

// AccessTokenCacheTTL bounds how long an access token row is served from
// memory without the database (see above).
const AccessTokenCacheTTL = 10 * time.Second

// accessCacheMax bounds the rows kept (a row is about a kilobyte: the
// session's JSON and its scopes); beyond it an arbitrary row makes room.
const accessCacheMax = 10_000

// accessTokensChannel is the hot-state broadcast of deleted access tokens.
// A message is the sending instance's ID, a space, and lines of
// invalidations: "k <row key>", "r <request ID>" or "*" (all).
const accessTokensChannel = "storage.access_tokens"

// accessCache holds access token rows by row key (rowKey of the signature).
type accessCache struct {
	ttl     time.Duration
	max     int
	self    string // this instance, to skip its own broadcasts
	publish func(message string)
	// live is set once the broadcasts of other instances reach this one:
	// until then nothing is kept (a deletion elsewhere would go unheard).
	live atomic.Bool

	mu        sync.Mutex
	gen       uint64
	rows      map[string]accessEntry
	byRequest map[string][]string // request ID → row keys
}

type accessEntry struct {
	row     oauth2Session
	client  time.Time // the client's CreatedAt when read: a client deleted and made again is another
	expires time.Time
}

func newAccessCache(ttl time.Duration, maxRows int) *accessCache {
	var id [8]byte
	_, _ = rand.Read(id[:])
	return &accessCache{ttl: ttl, max: maxRows, self: hex.EncodeToString(id[:]),
		rows: map[string]accessEntry{}, byRequest: map[string][]string{}}
}

// generation is read before a row is read from the database, and given to
// put with it.
func (c *accessCache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// get returns a copy of the row under key, and the client creation time it
// was read with, if it is kept and fresh.
func (c *accessCache) get(key string, now time.Time) (oauth2Session, time.Time, bool) {
	if !c.live.Load() {
		return oauth2Session{}, time.Time{}, false
	}
	c.mu.Lock()
	e, ok := c.rows[key]
	if ok && !now.Before(e.expires) {
		c.dropLocked(key)
		ok = false
	}
	c.mu.Unlock()
	if !ok {
		return oauth2Session{}, time.Time{}, false
	}
	return oauth2SessionClient{Row: e.row}.clone().Row, e.client, true
}

// put keeps a copy of row, read at generation gen, unless a deletion came
// since (or the row is not an active token that is still valid).
func (c *accessCache) put(key string, row *oauth2Session, clientCreated time.Time, gen uint64, now time.Time) {
	if !row.Active || !now.Before(row.ExpiresAt) || !c.live.Load() {
		return
	}
	exp := now.Add(c.ttl)
	if row.ExpiresAt.Before(exp) {
		exp = row.ExpiresAt
	}
	kept := oauth2SessionClient{Row: *row}.clone().Row
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	if _, ok := c.rows[key]; !ok && len(c.rows) >= c.max {
		for k := range c.rows { // any one: map order is random
			c.dropLocked(k)
			break
		}
	}
	if _, ok := c.rows[key]; !ok {
		c.byRequest[row.RequestID] = append(c.byRequest[row.RequestID], key)
	}
	c.rows[key] = accessEntry{row: kept, client: clientCreated, expires: exp}
}

// dropLocked removes key and its place in byRequest.
func (c *accessCache) dropLocked(key string) {
	e, ok := c.rows[key]
	if !ok {
		return
	}
	delete(c.rows, key)
	keys := c.byRequest[e.row.RequestID]
	for i, k := range keys {
		if k == key {
			keys = append(keys[:i], keys[i+1:]...)
			break
		}
	}
	if len(keys) == 0 {
		delete(c.byRequest, e.row.RequestID)
	} else {
		c.byRequest[e.row.RequestID] = keys
	}
}

// apply carries out invalidations ("k <key>", "r <request ID>", "*") and
// advances the generation.
func (c *accessCache) apply(lines ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for _, l := range lines {
		switch {
		case l == "*":
			c.rows, c.byRequest = map[string]accessEntry{}, map[string][]string{}
		case strings.HasPrefix(l, "k "):
			c.dropLocked(l[2:])
		case strings.HasPrefix(l, "r "):
			for _, k := range append([]string(nil), c.byRequest[l[2:]]...) {
				c.dropLocked(k)
			}
		}
	}
}

// receive applies another instance's broadcast; when broadcasts were lost,
// it drops everything.
func (c *accessCache) receive(message string) {
	if message == MessagesLost {
		c.apply("*")
		return
	}
	from, body, ok := strings.Cut(message, " ")
	if !ok || from == c.self {
		return
	}
	c.apply(strings.Split(body, "\n")...)
}

// accessBroadcaster sends invalidations to the other instances off the
// request path, several to a message when they come faster than a
// PUBLISH; if they come faster than it can keep up with, it sends "*".
type accessBroadcaster struct {
	hot  HotState
	log  *slog.Logger
	self string

	mu       sync.Mutex
	pending  []string
	overflow bool
	wake     chan struct{}
}

// accessBroadcastMax bounds the invalidations waiting to be sent.
const accessBroadcastMax = 4096

func (b *accessBroadcaster) send(line string) {
	b.mu.Lock()
	if len(b.pending) >= accessBroadcastMax {
		b.overflow = true
	} else {
		b.pending = append(b.pending, line)
	}
	b.mu.Unlock()
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// run publishes until ctx ends.
func (b *accessBroadcaster) run(ctx context.Context) {
	var failed time.Time
	for {
		stopping := false
		select {
		case <-ctx.Done():
			// A last send of what is waiting (deletions made while the
			// server drains), bounded: the others forget them within the
			// TTL anyway.
			stopping = true
			c, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
			defer cancel()
			ctx = c
		case <-b.wake:
		}
		for {
			b.mu.Lock()
			lines, overflow := b.pending, b.overflow
			b.pending, b.overflow = nil, false
			b.mu.Unlock()
			if overflow {
				lines = []string{"*"}
			}
			if len(lines) == 0 {
				break
			}
			if len(lines) > 256 {
				b.mu.Lock()
				b.pending = append(lines[256:], b.pending...)
				b.mu.Unlock()
				lines = lines[:256]
			}
			err := b.hot.Publish(context.WithoutCancel(ctx), accessTokensChannel, b.self+" "+strings.Join(lines, "\n"))
			if err != nil && !errors.Is(err, context.Canceled) && time.Since(failed) >= time.Minute {
				failed = time.Now()
				b.log.WarnContext(ctx, "access token revocations not broadcast; other instances forget them within the cache TTL",
					"err", err, "ttl", AccessTokenCacheTTL)
			}
			if stopping && ctx.Err() != nil {
				return
			}
		}
		if stopping {
			return
		}
	}
}

// CacheAccessTokens makes the store keep the access token rows it reads in
// memory (see above), dropping each as it is deleted here or, through
// hot's broadcast, on another instance. The store broadcasts its own
// deletions from the call on; it keeps rows only while it hears the other
// instances' (the subscription is live). An error means the subscription
// failed: rows are read from the database, deletions are still broadcast,
// and the subscription is tried again every few seconds until it holds.
// Without a call, nothing is cached or broadcast. Both end with ctx. Call
// it before serving: every instance sharing the database must, or those
// that do not would not tell the others of their deletions.
func (s *Store) CacheAccessTokens(ctx context.Context, hot HotState) error {
	c := newAccessCache(AccessTokenCacheTTL, accessCacheMax)
	b := &accessBroadcaster{hot: hot, log: s.log, self: c.self, wake: make(chan struct{}, 1)}
	c.publish = b.send
	go b.run(ctx)
	s.tokens.Store(c)
	go func() {
		<-ctx.Done()
		s.tokens.CompareAndSwap(c, nil)
	}()
	err := c.listen(ctx, hot)
	if err != nil {
		go func() {
			t := time.NewTicker(accessCacheResubscribe)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
				if c.listen(ctx, hot) == nil {
					s.log.InfoContext(ctx, "access token cache: other instances' revocations heard again; caching")
					return
				}
			}
		}()
	}
	return err
}

// accessCacheResubscribe is how often a failed subscription is retried.
const accessCacheResubscribe = 5 * time.Second

// listen subscribes to the other instances' deletions until ctx ends and,
// once it holds, lets the cache keep rows. Nothing read before is kept
// (the generation advances): such a read may predate a deletion made
// elsewhere while nobody listened.
func (c *accessCache) listen(ctx context.Context, hot HotState) error {
	stop, err := SubscribeFor(ctx, hot, accessTokensChannel, c.receive, 5*time.Second)
	if err != nil {
		return errors.Join(errors.New("storage: access token cache: subscribe"), err)
	}
	c.apply("*")
	c.live.Store(true)
	go func() {
		<-ctx.Done()
		c.live.Store(false)
		stop()
	}()
	return nil
}

// forgetAccess drops access token rows from the cache as a deletion of
// them is made: here at once (a read that began before it is not kept),
// and again once ctx's transaction commits (a read of the rows as they
// were before the commit is not kept either), when it is also broadcast.
// line is an invalidation ("k <key>", "r <request ID>", "*").
func (s *Store) forgetAccess(ctx context.Context, line string) {
	c := s.tokens.Load()
	if c == nil {
		return
	}
	c.apply(line)
	s.AfterCommit(ctx, func() {
		c.apply(line)
		c.publish(line)
	})
}
