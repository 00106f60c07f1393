package oidc

import (
	"context"
	"testing"
	"time"

	"github.com/madfam-org/janua/storage"
)

// A client change broadcast names one client; "*" and lost broadcasts
// (storage.MessagesLost) drop every cached client.
func TestClientCacheEvict(t *testing.T) {
	reads := 0
	c := newClientCache(storeFunc(func(_ context.Context, id string) (*storage.Client, error) {
		reads++
		return &storage.Client{ID: id}, nil
	}), nil, nil, time.Hour)
	ctx := context.Background()
	for _, id := range []string{"a", "b"} {
		if _, err := c.get(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	c.evict("a")
	if len(c.entries) != 1 {
		t.Fatalf("%d cached after evicting one of two", len(c.entries))
	}
	for _, all := range []string{"*", storage.MessagesLost} {
		_, _ = c.get(ctx, "a")
		c.evict(all)
		if len(c.entries) != 0 {
			t.Fatalf("%q left %d cached clients", all, len(c.entries))
		}
	}
}

// storeFunc is a client store made of a function.
type storeFunc func(ctx context.Context, id string) (*storage.Client, error)

func (f storeFunc) GetClient(ctx context.Context, id string) (*storage.Client, error) {
	return f(ctx, id)
}
