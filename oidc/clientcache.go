package oidc

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/madfam-org/janua/storage"
)

// clientsChannel is the hot-state broadcast naming a client that changed;
// every instance drops it from its cache.
const clientsChannel = "oidc.clients"

// clientCache keeps clients in memory: the token endpoint reads a client on
// every request, and clients rarely change. An entry lives for ttl, and a
// change announced on clientsChannel evicts it on every instance at once.
type clientCache struct {
	store interface {
		GetClient(ctx context.Context, id string) (*storage.Client, error)
	}
	hot storage.HotState
	log *slog.Logger
	ttl time.Duration

	mu      sync.RWMutex
	entries map[string]clientEntry
}

type clientEntry struct {
	client  *storage.Client
	expires time.Time
}

// maxCachedClients bounds memory; beyond it the cache starts over.
const maxCachedClients = 100_000

func newClientCache(store interface {
	GetClient(ctx context.Context, id string) (*storage.Client, error)
}, hot storage.HotState, log *slog.Logger, ttl time.Duration) *clientCache {
	return &clientCache{store: store, hot: hot, log: log, ttl: ttl, entries: map[string]clientEntry{}}
}

// get returns the client, from memory when fresh. The returned value is
// shared: callers must not modify it.
func (c *clientCache) get(ctx context.Context, id string) (*storage.Client, error) {
	now := time.Now()
	c.mu.RLock()
	e, ok := c.entries[id]
	c.mu.RUnlock()
	if ok && now.Before(e.expires) {
		return e.client, nil
	}
	cl, err := c.store.GetClient(ctx, id)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if len(c.entries) >= maxCachedClients {
		c.entries = map[string]clientEntry{}
	}
	c.entries[id] = clientEntry{client: cl, expires: now.Add(c.ttl)}
	c.mu.Unlock()
	return cl, nil
}

// evict drops one client (or all, for "*" and when broadcasts were lost).
func (c *clientCache) evict(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if id == "*" || id == storage.MessagesLost {
		c.entries = map[string]clientEntry{}
		return
	}
	delete(c.entries, id)
}

// watch subscribes to client-change broadcasts until ctx ends.
func (c *clientCache) watch(ctx context.Context) {
	stop, err := subscribe(ctx, c.hot, clientsChannel, c.evict)
	if err != nil {
		c.log.WarnContext(ctx, "client change broadcasts unavailable; cached clients expire on their own", "err", err)
		return
	}
	go func() {
		<-ctx.Done()
		stop()
	}()
}

// AnnounceClientChange tells every instance to drop its cached copy of the
// client; the registry and the CLI call it after a change.
func AnnounceClientChange(ctx context.Context, hot storage.HotState, clientID string) error {
	return hot.Publish(ctx, clientsChannel, clientID)
}
