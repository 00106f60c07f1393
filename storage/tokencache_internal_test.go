package storage

import (
	"fmt"
	"testing"
	"time"
)

// A row read before a deletion was seen is not kept: the deletion may have
// been of that very row (the read overlapped it).
func TestAccessCacheSkipsARowReadBeforeADeletion(t *testing.T) {
	now := time.Now()
	c := newAccessCache(time.Minute, 10)
	c.live.Store(true)
	row := &oauth2Session{RequestID: "r1", Active: true, ExpiresAt: now.Add(time.Hour)}
	gen := c.generation()
	c.apply("r r1")
	c.put("k1", row, time.Time{}, gen, now)
	if _, _, ok := c.get("k1", now); ok {
		t.Fatal("a row read before a deletion was kept")
	}
	c.put("k1", row, time.Time{}, c.generation(), now)
	if _, _, ok := c.get("k1", now); !ok {
		t.Fatal("a row read after the deletion was not kept")
	}
	// Inactive, expired, or past the TTL: not served.
	c.put("k2", &oauth2Session{RequestID: "r2", ExpiresAt: now.Add(time.Hour)}, time.Time{}, c.generation(), now)
	c.put("k3", &oauth2Session{RequestID: "r3", Active: true, ExpiresAt: now}, time.Time{}, c.generation(), now)
	for _, k := range []string{"k2", "k3"} {
		if _, _, ok := c.get(k, now); ok {
			t.Fatalf("%s kept", k)
		}
	}
	if _, _, ok := c.get("k1", now.Add(time.Minute)); ok {
		t.Fatal("served past the TTL")
	}
}

// The cache holds at most its bound, and a request's index follows its rows.
func TestAccessCacheBound(t *testing.T) {
	now := time.Now()
	c := newAccessCache(time.Minute, 8)
	c.live.Store(true)
	for i := range 100 {
		c.put(fmt.Sprint("k", i), &oauth2Session{RequestID: fmt.Sprint("r", i%3), Active: true, ExpiresAt: now.Add(time.Hour)}, time.Time{}, c.generation(), now)
	}
	n := 0
	for _, keys := range c.byRequest {
		n += len(keys)
	}
	if len(c.rows) != 8 || n != 8 {
		t.Fatalf("%d rows, %d indexed, want 8", len(c.rows), n)
	}
	c.apply("r r0", "r r1", "r r2")
	if len(c.rows) != 0 || len(c.byRequest) != 0 {
		t.Fatalf("after revoking every request: %d rows, %d requests", len(c.rows), len(c.byRequest))
	}
	// Another instance's broadcast applies; this one's own is skipped.
	c.put("k", &oauth2Session{RequestID: "r", Active: true, ExpiresAt: now.Add(time.Hour)}, time.Time{}, c.generation(), now)
	c.receive(c.self + " *")
	if len(c.rows) != 1 {
		t.Fatal("applied its own broadcast")
	}
	c.receive("other k x\nr r")
	if len(c.rows) != 0 {
		t.Fatal("ignored another instance's broadcast")
	}
	// Broadcasts lost: everything goes.
	c.put("k", &oauth2Session{RequestID: "r", Active: true, ExpiresAt: now.Add(time.Hour)}, time.Time{}, c.generation(), now)
	c.receive(MessagesLost)
	if len(c.rows) != 0 {
		t.Fatal("kept rows after broadcasts were lost")
	}
}

// Until the other instances' deletions can be heard, nothing is kept.
func TestAccessCacheKeepsNothingUnheard(t *testing.T) {
	now := time.Now()
	c := newAccessCache(time.Minute, 8)
	c.put("k", &oauth2Session{RequestID: "r", Active: true, ExpiresAt: now.Add(time.Hour)}, time.Time{}, c.generation(), now)
	if _, _, ok := c.get("k", now); ok || len(c.rows) != 0 {
		t.Fatal("kept a row with no subscription")
	}
}
