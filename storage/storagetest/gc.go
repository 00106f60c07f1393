package storagetest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/madfam-org/janua/storage"
)

func testGarbageCollection(t *testing.T, b Backend) {
	h := newHarness(t, b)
	u := newUser("gc@example.com")
	if err := h.store.CreateUser(h.ctx, u, ""); err != nil {
		t.Fatal(err)
	}
	live := newSession(h, u.ID)
	revoked := newSession(h, u.ID)
	_ = h.store.RevokeBrowserSession(h.ctx, revoked.ID)
	now := h.clock.Now()
	idle := &storage.BrowserSession{ID: "idle", SID: "idle", UserID: u.ID, AuthTime: now,
		IdleExpiresAt: now.Add(time.Minute), ExpiresAt: now.Add(8 * time.Hour)}
	abs := &storage.BrowserSession{ID: "abs", SID: "abs", UserID: u.ID, AuthTime: now,
		IdleExpiresAt: now.Add(time.Hour), ExpiresAt: now.Add(2 * time.Minute)}
	for _, bs := range []*storage.BrowserSession{idle, abs} {
		if err := h.store.CreateBrowserSession(h.ctx, bs); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []string{"expiring", "kept"} {
		k := &storage.SigningKey{ID: id, Algorithm: "ES256", PublicJWK: json.RawMessage(`{}`), PrivateKey: []byte(id)}
		if err := h.store.CreateSigningKey(h.ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	_ = h.store.RetireSigningKey(h.ctx, "expiring", now, now.Add(time.Minute))
	for range 5 {
		_ = h.store.RecordAuditEvent(h.ctx, &storage.AuditEvent{Type: "old"})
	}
	h.clock.Advance(48 * time.Hour)
	_ = h.store.RecordAuditEvent(h.ctx, &storage.AuditEvent{Type: "new"})
	// Keep the live session alive across the jump.
	live.IdleExpiresAt = h.clock.Now().Add(time.Hour)

	res, err := h.store.CollectGarbage(h.ctx, storage.GCOptions{BatchSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	// Without a retention, audit events stay; the 8 h sessions all expired in 48 h.
	if res["audit_events"] != 0 || res["browser_sessions"] != 4 || res["signing_keys"] != 1 {
		t.Fatalf("gc result %v, want 4 sessions, 1 key, 0 audit events", res)
	}
	events, _ := h.store.ListAuditEvents(h.ctx, storage.AuditFilter{})
	if len(events) != 6 {
		t.Fatalf("%d audit events kept, want 6", len(events))
	}
	keys, _ := h.store.ListSigningKeys(h.ctx)
	if len(keys) != 1 || keys[0].ID != "kept" {
		t.Fatalf("keys after gc: %+v", keys)
	}

	res, err = h.store.CollectGarbage(h.ctx, storage.GCOptions{BatchSize: 2, AuditRetention: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if res["audit_events"] != 5 {
		t.Fatalf("gc with 24 h retention deleted %d audit events, want 5 (in batches of 2)", res["audit_events"])
	}
	events, _ = h.store.ListAuditEvents(h.ctx, storage.AuditFilter{})
	if len(events) != 1 || events[0].Type != "new" {
		t.Fatalf("audit events after retention: %+v", events)
	}

	// A fresh session survives a collection.
	fresh := newSession(h, u.ID)
	if _, err := h.store.CollectGarbage(h.ctx, storage.GCOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.store.GetBrowserSession(h.ctx, fresh.ID); err != nil {
		t.Fatalf("live session collected: %v", err)
	}
}
