package storagetest

import (
	"sync"
	"testing"
	"time"

	"github.com/madfam-org/janua/storage"
)

func newFlow(h *harness, id string) *storage.Flow {
	h.t.Helper()
	f := &storage.Flow{ID: id, ClientID: "app", Browser: "b1", ExpiresAt: h.clock.Now().Add(10 * time.Minute),
		Request: map[string][]string{"scope": {"openid email"}, "state": {"xyz"}, "prompt": {"login", "consent"}}}
	if err := h.store.CreateFlow(h.ctx, f); err != nil {
		h.t.Fatal(err)
	}
	return f
}

func testFlows(t *testing.T, b Backend) {
	t.Run("StateMachine", func(t *testing.T) {
		h := newHarness(t, b)
		f := newFlow(h, "f1")
		got, err := h.store.GetFlow(h.ctx, "f1")
		if err != nil || got.State != storage.FlowCreated || got.Request["prompt"][1] != "consent" || got.Revision != 1 {
			t.Fatalf("created: %+v %v", got, err)
		}
		at := h.clock.Now().Add(-time.Second)
		got.State, got.Subject, got.SessionID, got.AuthTime, got.AMR, got.ACR = storage.FlowAuthenticated, "user-1", "sess", &at, []string{"pwd"}, "1"
		if err := h.store.AdvanceFlow(h.ctx, got, storage.FlowCreated); err != nil {
			t.Fatal(err)
		}
		got.State, got.GrantedScopes = storage.FlowConsented, []string{"openid", "email"}
		if err := h.store.AdvanceFlow(h.ctx, got, storage.FlowAuthenticated); err != nil {
			t.Fatal(err)
		}
		re, _ := h.store.GetFlow(h.ctx, "f1")
		if re.State != storage.FlowConsented || re.Subject != "user-1" || !re.AuthTime.Equal(at.Truncate(time.Microsecond)) ||
			len(re.GrantedScopes) != 2 || re.AMR[0] != "pwd" || re.Revision != 3 {
			t.Fatalf("consented: %+v", re)
		}
		// Going backwards, or skipping from a final state, is refused.
		re.State = storage.FlowAuthenticated
		if err := h.store.AdvanceFlow(h.ctx, re, storage.FlowConsented); !is(err, storage.ErrConflict) {
			t.Fatalf("consented → authenticated: %v", err)
		}
		re.State = storage.FlowCompleted
		if err := h.store.AdvanceFlow(h.ctx, re, storage.FlowConsented); err != nil {
			t.Fatal(err)
		}
		re.State = storage.FlowRejected
		if err := h.store.AdvanceFlow(h.ctx, re, storage.FlowCompleted); !is(err, storage.ErrConflict) {
			t.Fatalf("completed → rejected: %v", err)
		}
		_ = f
	})

	t.Run("CompletesExactlyOnce", func(t *testing.T) {
		h := newHarness(t, b)
		newFlow(h, "once")
		base, _ := h.store.GetFlow(h.ctx, "once")
		const racers = 8
		errs := make([]error, racers)
		var wg sync.WaitGroup
		for i := range racers {
			wg.Go(func() {
				f := *base
				f.State = storage.FlowCompleted
				errs[i] = h.store.AdvanceFlow(h.ctx, &f, storage.FlowCreated)
			})
		}
		wg.Wait()
		wins := 0
		for _, err := range errs {
			if err == nil {
				wins++
			} else if !is(err, storage.ErrConflict) {
				t.Fatalf("racer: %v", err)
			}
		}
		if wins != 1 {
			t.Fatalf("%d concurrent completions of one flow, want 1", wins)
		}
	})

	t.Run("ExpiredIsGone", func(t *testing.T) {
		h := newHarness(t, b)
		newFlow(h, "old")
		f, _ := h.store.GetFlow(h.ctx, "old")
		h.clock.Advance(11 * time.Minute)
		if _, err := h.store.GetFlow(h.ctx, "old"); !is(err, storage.ErrNotFound) {
			t.Fatalf("expired flow: %v", err)
		}
		f.State = storage.FlowAuthenticated
		if err := h.store.AdvanceFlow(h.ctx, f, storage.FlowCreated); !is(err, storage.ErrNotFound) {
			t.Fatalf("advancing an expired flow: %v", err)
		}
		res, err := h.store.CollectGarbage(h.ctx, storage.GCOptions{})
		if err != nil || res["flows"] != 1 {
			t.Fatalf("gc: %v %v", res, err)
		}
		if _, err := h.store.GetFlow(h.ctx, "missing"); !is(err, storage.ErrNotFound) {
			t.Fatalf("missing: %v", err)
		}
		if err := h.store.CreateFlow(h.ctx, &storage.Flow{ID: "x"}); err == nil {
			t.Fatal("flow without client and expiry accepted")
		}
	})
}

func testConsentGrants(t *testing.T, b Backend) {
	h := newHarness(t, b)
	u := newUser("c@example.com")
	if err := h.store.CreateUser(h.ctx, u, ""); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"app", "other"} {
		if err := h.store.CreateClient(h.ctx, newClient(id)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := h.store.GetConsentGrant(h.ctx, u.ID, "app"); !is(err, storage.ErrNotFound) {
		t.Fatalf("no grant yet: %v", err)
	}
	if err := h.store.SaveConsentGrant(h.ctx, &storage.ConsentGrant{UserID: u.ID, ClientID: "app", Scopes: []string{"openid"}}); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(time.Minute)
	exp := h.clock.Now().Add(time.Hour)
	if err := h.store.SaveConsentGrant(h.ctx, &storage.ConsentGrant{UserID: u.ID, ClientID: "app", Scopes: []string{"openid", "email"}, ExpiresAt: &exp}); err != nil {
		t.Fatal(err)
	}
	g, err := h.store.GetConsentGrant(h.ctx, u.ID, "app")
	if err != nil || len(g.Scopes) != 2 || g.ExpiresAt == nil {
		t.Fatalf("replaced grant: %+v %v", g, err)
	}
	if err := h.store.SaveConsentGrant(h.ctx, &storage.ConsentGrant{UserID: u.ID, ClientID: "other", Scopes: []string{"openid"}}); err != nil {
		t.Fatal(err)
	}
	if all, _ := h.store.ListConsentGrants(h.ctx, u.ID); len(all) != 2 {
		t.Fatalf("list: %+v", all)
	}
	h.clock.Advance(2 * time.Hour)
	if _, err := h.store.GetConsentGrant(h.ctx, u.ID, "app"); !is(err, storage.ErrNotFound) {
		t.Fatalf("expired grant: %v", err)
	}
	if err := h.store.DeleteClient(h.ctx, "other"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.store.GetConsentGrant(h.ctx, u.ID, "other"); !is(err, storage.ErrNotFound) {
		t.Fatalf("grant of a deleted client survived: %v", err)
	}
	if err := h.store.DeleteConsentGrant(h.ctx, u.ID, "app"); err != nil {
		t.Fatal(err)
	}
	if err := h.store.DeleteConsentGrant(h.ctx, u.ID, "app"); !is(err, storage.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	if err := h.store.SaveConsentGrant(h.ctx, &storage.ConsentGrant{UserID: u.ID, ClientID: "ghost"}); !is(err, storage.ErrConflict) {
		t.Fatalf("grant to a missing client: %v", err)
	}
}
