package storagetest

import (
	"testing"
	"time"

	"github.com/madfam-org/janua/storage"
)

func testAuditEvents(t *testing.T, b Backend) {
	h := newHarness(t, b)
	for i, typ := range []string{"user.created", "login.failed", "login.failed", "client.created", "login.failed"} {
		e := &storage.AuditEvent{Type: typ, Actor: "cli", Subject: []string{"u1", "u2"}[i%2], IP: "198.51.100.1",
			RequestID: "req", Details: map[string]any{"n": i}}
		if typ == "login.failed" {
			e.Outcome = storage.AuditFailure
		}
		if err := h.store.RecordAuditEvent(h.ctx, e); err != nil {
			t.Fatal(err)
		}
		if e.ID == 0 || !e.OccurredAt.Equal(h.clock.Now().Truncate(time.Microsecond)) {
			t.Fatalf("recorded %+v", e)
		}
		h.clock.Advance(time.Minute)
	}
	all, err := h.store.ListAuditEvents(h.ctx, storage.AuditFilter{})
	if err != nil || len(all) != 5 || all[0].Type != "login.failed" || all[4].Type != "user.created" {
		t.Fatalf("all events newest first: %+v %v", all, err)
	}
	if all[4].Outcome != storage.AuditSuccess || all[0].Outcome != storage.AuditFailure || all[4].Details["n"] != float64(0) {
		t.Fatalf("outcomes/details: %+v", all)
	}
	failed, _ := h.store.ListAuditEvents(h.ctx, storage.AuditFilter{Type: "login.failed", Limit: 2})
	if len(failed) != 2 || failed[0].ID <= failed[1].ID {
		t.Fatalf("filtered page: %+v", failed)
	}
	older, _ := h.store.ListAuditEvents(h.ctx, storage.AuditFilter{Type: "login.failed", BeforeID: failed[1].ID})
	if len(older) != 1 {
		t.Fatalf("next page: %+v", older)
	}
	u2, _ := h.store.ListAuditEvents(h.ctx, storage.AuditFilter{Subject: "u2"})
	if len(u2) != 2 {
		t.Fatalf("by subject: %d", len(u2))
	}
	recent, _ := h.store.ListAuditEvents(h.ctx, storage.AuditFilter{Since: h.clock.Now().Add(-2 * time.Minute)})
	if len(recent) != 2 {
		t.Fatalf("since: %d", len(recent))
	}
	if err := h.store.RecordAuditEvent(h.ctx, &storage.AuditEvent{}); err == nil {
		t.Fatal("event without type accepted")
	}
	// Several events in one statement, in order, each with its ID.
	before := h.store.Stats().Total()
	first, second := &storage.AuditEvent{Type: "login.new_browser", Subject: "u3"}, &storage.AuditEvent{Type: "login.succeeded", Subject: "u3", Details: map[string]any{"amr": []string{"pwd"}}}
	if err := h.store.RecordAuditEvents(h.ctx, first, second); err != nil {
		t.Fatal(err)
	}
	if n := h.store.Stats().Total() - before; n != 1 {
		t.Fatalf("two events took %d statements, want 1", n)
	}
	if first.ID == 0 || second.ID <= first.ID {
		t.Fatalf("IDs %d, %d: want both, in order", first.ID, second.ID)
	}
	u3, _ := h.store.ListAuditEvents(h.ctx, storage.AuditFilter{Subject: "u3"})
	if len(u3) != 2 || u3[0].Type != "login.succeeded" || u3[1].Type != "login.new_browser" || u3[1].Outcome != storage.AuditSuccess ||
		u3[0].Details["amr"] == nil || u3[1].Details == nil {
		t.Fatalf("recorded together: %+v", u3)
	}
	if err := h.store.RecordAuditEvents(h.ctx, &storage.AuditEvent{Type: "ok"}, &storage.AuditEvent{}); err == nil {
		t.Fatal("a batch with an event without type accepted")
	}
	if err := h.store.RecordAuditEvents(h.ctx); err != nil {
		t.Fatalf("no events: %v", err)
	}
}
