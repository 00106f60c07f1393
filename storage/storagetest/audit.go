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
}
