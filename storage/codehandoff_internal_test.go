package storage

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// The handoff keeps at most its bound of codes, the oldest going first,
// serves none past its TTL, and its queue of keys stays bounded however
// many codes are taken early.
func TestCodeHandoffBounds(t *testing.T) {
	ctx := context.Background()
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	resolve := func(_ context.Context, id string) (*Client, error) { return &Client{ID: id, CreatedAt: created}, nil }
	family := func(i int) []oauth2Session {
		req := fmt.Sprintf("req-%d", i)
		key := fmt.Sprintf("key-%d", i)
		return []oauth2Session{
			{Kind: string(kindCode), Signature: key, RequestID: req, ClientID: "rp", Scopes: []string{"openid"}},
			{Kind: string(kindPKCE), Signature: key, RequestID: req, ClientID: "rp"},
			{Kind: string(kindOIDC), Signature: "oidc-" + key, RequestID: req, ClientID: "rp"},
		}
	}
	now := time.Unix(1_800_000_000, 0)
	h := newCodeHandoff(30*time.Second, 8)
	for i := range 20 {
		h.put(ctx, family(i), resolve, now.Add(time.Duration(i)*time.Millisecond))
	}
	if len(h.codes) != 8 {
		t.Fatalf("%d codes kept, want the bound, 8", len(h.codes))
	}
	if _, ok, _ := h.take(ctx, "key-11", resolve, now); ok {
		t.Error("an evicted code (one of the oldest) was served")
	}
	rows, ok, err := h.take(ctx, "key-19", resolve, now)
	if err != nil || !ok || len(rows) != 3 || rows[0].Client.ID != "rp" {
		t.Fatalf("the newest code: %v %v %+v", ok, err, rows)
	}
	if _, ok, _ := h.take(ctx, "key-19", resolve, now); ok {
		t.Error("a code was served twice")
	}
	if _, ok, _ := h.take(ctx, "key-18", resolve, now.Add(31*time.Second)); ok {
		t.Error("a code was served past its TTL")
	}
	if len(h.codes) != 0 {
		t.Errorf("%d codes left after every TTL passed", len(h.codes))
	}
	// Codes taken at once: the queue of their keys does not grow past
	// a few times the bound.
	for i := range 1000 {
		h.put(ctx, family(i), resolve, now)
		if _, ok, _ := h.take(ctx, fmt.Sprintf("key-%d", i), resolve, now); !ok {
			t.Fatalf("code %d not served", i)
		}
	}
	if len(h.queue) > 4*8+1 {
		t.Errorf("queue of %d keys for %d codes", len(h.queue), len(h.codes))
	}
	// A client made again under the same ID is another client.
	h.put(ctx, family(1), resolve, now)
	later := func(_ context.Context, id string) (*Client, error) {
		return &Client{ID: id, CreatedAt: created.Add(time.Second)}, nil
	}
	if _, ok, _ := h.take(ctx, "key-1", later, now); ok {
		t.Error("a code was served with a client made after it")
	}
	// Rows kept are copies: the writer changing its slices changes nothing.
	rowsIn := family(2)
	h.put(ctx, rowsIn, resolve, now)
	rowsIn[0].Scopes[0] = "changed"
	if rows, _, _ := h.take(ctx, "key-2", resolve, now); len(rows) == 0 || rows[0].Row.Scopes[0] != "openid" {
		t.Errorf("kept rows share the writer's slices: %+v", rows)
	}
}
