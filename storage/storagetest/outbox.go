package storagetest

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/madfam-org/janua/storage"
)

func newMail(to string) *storage.OutboxMessage {
	return &storage.OutboxMessage{Recipient: to, Lang: "es", Kind: "magic_link",
		Data: map[string]string{"url": "https://id.example.com/magic?t=secret-token", "code": "493817"}}
}

func testMailOutbox(t *testing.T, b Backend) {
	t.Run("EnqueueClaimSent", func(t *testing.T) {
		h := newHarness(t, b)
		m := newMail("ana@example.com")
		if err := h.store.EnqueueMail(h.ctx, m); err != nil {
			t.Fatal(err)
		}
		got, err := h.store.GetMail(h.ctx, m.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != storage.MailPending || got.Attempts != 0 || got.Data["code"] != "493817" || got.Lang != "es" ||
			!got.NextAttemptAt.Equal(h.clock.Now().Truncate(time.Microsecond)) || got.ClaimedUntil != nil {
			t.Fatalf("enqueued %+v", got)
		}
		// Links and codes are sealed at rest.
		var raw []byte
		if err := h.raw().QueryRowContext(h.ctx, h.rebind("SELECT data FROM mail_outbox WHERE id = ?"), m.ID).Scan(&raw); err != nil {
			t.Fatal(err)
		}
		if len(raw) == 0 || bytes.Contains(raw, []byte("secret-token")) || bytes.Contains(raw, []byte("493817")) {
			t.Fatalf("data stored in clear: %q", raw)
		}

		claimed, err := h.store.ClaimMail(h.ctx, time.Minute, 10)
		if err != nil || len(claimed) != 1 {
			t.Fatalf("claim: %v %v", claimed, err)
		}
		c := claimed[0]
		if c.ID != m.ID || c.Attempts != 1 || c.Claim == "" || c.Data["url"] != m.Data["url"] || c.Recipient != "ana@example.com" ||
			c.ClaimedUntil == nil || !c.ClaimedUntil.Equal(h.clock.Now().Add(time.Minute).Truncate(time.Microsecond)) {
			t.Fatalf("claimed %+v", c)
		}
		if again, err := h.store.ClaimMail(h.ctx, time.Minute, 10); err != nil || len(again) != 0 {
			t.Fatalf("a leased message was claimed again: %v %v", again, err)
		}
		if err := h.store.MarkMailSent(h.ctx, c.ID, "another-claim"); !is(err, storage.ErrConflict) {
			t.Fatalf("mark sent with a foreign claim: %v", err)
		}
		h.clock.Advance(time.Second)
		if err := h.store.MarkMailSent(h.ctx, c.ID, c.Claim); err != nil {
			t.Fatal(err)
		}
		got, _ = h.store.GetMail(h.ctx, m.ID)
		if got.Status != storage.MailSent || got.SentAt == nil || !got.SentAt.Equal(h.clock.Now().Truncate(time.Microsecond)) ||
			len(got.Data) != 0 || got.Claim != "" || got.ClaimedUntil != nil || got.Attempts != 1 {
			t.Fatalf("sent %+v (data must be emptied)", got)
		}
		if err := h.store.MarkMailSent(h.ctx, c.ID, c.Claim); !is(err, storage.ErrConflict) {
			t.Fatalf("marked sent twice: %v", err)
		}
		h.clock.Advance(time.Hour)
		if again, _ := h.store.ClaimMail(h.ctx, time.Minute, 10); len(again) != 0 {
			t.Fatalf("a sent message was claimed: %+v", again)
		}
	})

	t.Run("FailedRetryThenDead", func(t *testing.T) {
		h := newHarness(t, b)
		m := newMail("bo@example.com")
		if err := h.store.EnqueueMail(h.ctx, m); err != nil {
			t.Fatal(err)
		}
		c := claimOne(t, h)
		reason := "451 4.3.0 try\r\nlater " + strings.Repeat("é", 400)
		if err := h.store.MarkMailFailed(h.ctx, c.ID, c.Claim, reason, h.clock.Now().Add(30*time.Second)); err != nil {
			t.Fatal(err)
		}
		got, _ := h.store.GetMail(h.ctx, m.ID)
		if got.Status != storage.MailPending || strings.ContainsAny(got.LastError, "\r\n") || !strings.HasPrefix(got.LastError, "451 4.3.0 try later é") ||
			len(got.LastError) > 510 || !strings.HasSuffix(got.LastError, "…") || got.Claim != "" || got.Data["code"] != "493817" {
			t.Fatalf("failed %+v", got)
		}
		h.clock.Advance(29 * time.Second)
		if again, _ := h.store.ClaimMail(h.ctx, time.Minute, 10); len(again) != 0 {
			t.Fatal("claimed before its next attempt")
		}
		h.clock.Advance(time.Second)
		c = claimOne(t, h)
		if c.Attempts != 2 || c.Data["code"] != "493817" {
			t.Fatalf("second attempt %+v", c)
		}
		if err := h.store.MarkMailDead(h.ctx, c.ID, c.Claim, "550 5.1.1 no such user"); err != nil {
			t.Fatal(err)
		}
		got, _ = h.store.GetMail(h.ctx, m.ID)
		if got.Status != storage.MailDead || len(got.Data) != 0 || got.LastError != "550 5.1.1 no such user" || got.SentAt != nil {
			t.Fatalf("dead %+v", got)
		}
		h.clock.Advance(24 * time.Hour)
		if again, _ := h.store.ClaimMail(h.ctx, time.Minute, 10); len(again) != 0 {
			t.Fatal("a dead message was claimed")
		}
	})

	t.Run("ExpiredLeaseIsClaimedAgain", func(t *testing.T) {
		h := newHarness(t, b)
		if err := h.store.EnqueueMail(h.ctx, newMail("cy@example.com")); err != nil {
			t.Fatal(err)
		}
		first := claimOne(t, h) // this worker dies without a word
		h.clock.Advance(time.Minute)
		second := claimOne(t, h)
		if second.Claim == first.Claim || second.Attempts != 2 {
			t.Fatalf("re-claim %+v after %+v", second, first)
		}
		if err := h.store.MarkMailFailed(h.ctx, first.ID, first.Claim, "late", h.clock.Now()); !is(err, storage.ErrConflict) {
			t.Fatalf("the first worker's late report was accepted: %v", err)
		}
		if err := h.store.MarkMailSent(h.ctx, second.ID, second.Claim); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("ClaimOrderAndLimit", func(t *testing.T) {
		h := newHarness(t, b)
		var ids []string
		for i := range 5 {
			m := newMail("d@example.com")
			m.NextAttemptAt = h.clock.Now().Add(-time.Duration(i) * time.Minute) // the last enqueued is the most overdue
			if err := h.store.EnqueueMail(h.ctx, m); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, m.ID)
		}
		future := newMail("later@example.com")
		future.NextAttemptAt = h.clock.Now().Add(time.Hour)
		if err := h.store.EnqueueMail(h.ctx, future); err != nil {
			t.Fatal(err)
		}
		got, err := h.store.ClaimMail(h.ctx, time.Minute, 3)
		if err != nil || len(got) != 3 {
			t.Fatalf("claim 3: %d %v", len(got), err)
		}
		rest, _ := h.store.ClaimMail(h.ctx, time.Minute, 10)
		if len(rest) != 2 {
			t.Fatalf("then %d, want the 2 other due messages (not the future one)", len(rest))
		}
		seen := map[string]bool{}
		for _, m := range append(got, rest...) {
			seen[m.ID] = true
		}
		if len(seen) != 5 || seen[future.ID] {
			t.Fatalf("claimed %v", seen)
		}
		for _, m := range got {
			if m.ID == ids[0] || m.ID == ids[1] {
				t.Fatalf("the least overdue were claimed first: %v", got)
			}
		}
		counts, err := h.store.MailCounts(h.ctx)
		if err != nil || counts[storage.MailPending] != 6 || counts[storage.MailSent] != 0 {
			t.Fatalf("counts %v %v", counts, err)
		}
		if l, err := h.store.ListMail(h.ctx, storage.MailPending, 0); err != nil || len(l) != 6 || l[0].Data["code"] != "493817" {
			t.Fatalf("list pending: %d %v", len(l), err)
		}
		if l, err := h.store.ListMail(h.ctx, storage.MailSent, 0); err != nil || len(l) != 0 {
			t.Fatalf("list sent: %d %v", len(l), err)
		}
	})

	t.Run("JoinsTheTransaction", func(t *testing.T) {
		h := newHarness(t, b)
		ran := 0
		var kept, dropped *storage.OutboxMessage
		err := h.store.InTx(h.ctx, func(ctx context.Context) error {
			kept = newMail("kept@example.com")
			h.store.AfterCommit(ctx, func() { ran++ })
			if err := h.store.EnqueueMail(ctx, kept); err != nil {
				return err
			}
			if ran != 0 {
				t.Error("after-commit hook ran before the commit")
			}
			return nil
		})
		if err != nil || ran != 1 {
			t.Fatalf("commit: %v, hook ran %d times", err, ran)
		}
		boom := errors.New("boom")
		err = h.store.InTx(h.ctx, func(ctx context.Context) error {
			dropped = newMail("dropped@example.com")
			h.store.AfterCommit(ctx, func() { ran++ })
			if err := h.store.EnqueueMail(ctx, dropped); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) || ran != 1 {
			t.Fatalf("rollback: %v, hook ran %d times", err, ran)
		}
		if _, err := h.store.GetMail(h.ctx, kept.ID); err != nil {
			t.Fatalf("committed message: %v", err)
		}
		if _, err := h.store.GetMail(h.ctx, dropped.ID); !is(err, storage.ErrNotFound) {
			t.Fatalf("rolled-back message: %v", err)
		}
		h.store.AfterCommit(h.ctx, func() { ran++ })
		if ran != 2 {
			t.Fatal("AfterCommit without a transaction did not run at once")
		}
		got, _ := h.store.ClaimMail(h.ctx, time.Minute, 10)
		if len(got) != 1 || got[0].ID != kept.ID {
			t.Fatalf("claimable: %+v", got)
		}
	})

	t.Run("UnsealableDataDies", func(t *testing.T) {
		h := newHarness(t, b)
		m := newMail("e@example.com")
		if err := h.store.EnqueueMail(h.ctx, m); err != nil {
			t.Fatal(err)
		}
		other := h.open([]byte("another key-encryption secret, also 32+ bytes"))
		got, err := other.ClaimMail(h.ctx, time.Minute, 10)
		if err != nil || len(got) != 0 {
			t.Fatalf("claim under another secret: %v %v", got, err)
		}
		dead, _ := h.store.GetMail(h.ctx, m.ID)
		if dead.Status != storage.MailDead || !strings.Contains(dead.LastError, "JANUA_SECRET") {
			t.Fatalf("unsealable message %+v", dead)
		}
	})

	t.Run("ConcurrentWorkersClaimEachOnce", func(t *testing.T) {
		h := newHarness(t, b)
		const n, workers = 60, 4
		for range n {
			if err := h.store.EnqueueMail(h.ctx, newMail("f@example.com")); err != nil {
				t.Fatal(err)
			}
		}
		var mu sync.Mutex
		got := map[string]int{}
		var wg sync.WaitGroup
		for range workers {
			s := h.open(testSecret)
			wg.Go(func() {
				for {
					batch, err := s.ClaimMail(h.ctx, time.Minute, 3)
					if err != nil {
						t.Error(err)
						return
					}
					if len(batch) == 0 {
						return
					}
					for _, m := range batch {
						mu.Lock()
						got[m.ID]++
						mu.Unlock()
						if err := s.MarkMailSent(h.ctx, m.ID, m.Claim); err != nil {
							t.Error(err)
						}
					}
				}
			})
		}
		wg.Wait()
		if len(got) != n {
			t.Fatalf("%d distinct messages claimed, want %d", len(got), n)
		}
		for id, k := range got {
			if k != 1 {
				t.Errorf("message %s claimed %d times", id, k)
			}
		}
		counts, _ := h.store.MailCounts(h.ctx)
		if counts[storage.MailSent] != n {
			t.Fatalf("counts %v", counts)
		}
	})

	t.Run("GarbageCollection", func(t *testing.T) {
		h := newHarness(t, b)
		var sent, dead, pending *storage.OutboxMessage
		for _, p := range []**storage.OutboxMessage{&sent, &dead, &pending} {
			*p = newMail("g@example.com")
			if err := h.store.EnqueueMail(h.ctx, *p); err != nil {
				t.Fatal(err)
			}
		}
		for _, c := range claimAll(t, h) {
			switch c.ID {
			case sent.ID:
				_ = h.store.MarkMailSent(h.ctx, c.ID, c.Claim)
			case dead.ID:
				_ = h.store.MarkMailDead(h.ctx, c.ID, c.Claim, "550")
			default:
				_ = h.store.MarkMailFailed(h.ctx, c.ID, c.Claim, "451", h.clock.Now().Add(time.Hour))
			}
		}
		h.clock.Advance(storage.DefaultMailRetention - time.Minute)
		if res, _ := h.store.CollectGarbage(h.ctx, storage.GCOptions{}); res["mail_outbox"] != 0 {
			t.Fatalf("collected %d messages inside the retention", res["mail_outbox"])
		}
		h.clock.Advance(2 * time.Minute)
		res, err := h.store.CollectGarbage(h.ctx, storage.GCOptions{})
		if err != nil || res["mail_outbox"] != 2 {
			t.Fatalf("gc: %v %v, want the sent and the dead message", res, err)
		}
		if _, err := h.store.GetMail(h.ctx, pending.ID); err != nil {
			t.Fatalf("pending message collected: %v", err)
		}
		fresh := newMail("h@example.com")
		_ = h.store.EnqueueMail(h.ctx, fresh)
		c := claimAll(t, h)
		for _, m := range c {
			_ = h.store.MarkMailSent(h.ctx, m.ID, m.Claim)
		}
		h.clock.Advance(2 * time.Hour)
		if res, _ := h.store.CollectGarbage(h.ctx, storage.GCOptions{MailRetention: time.Hour}); res["mail_outbox"] != 2 {
			t.Fatalf("gc with a 1 h retention: %v", res)
		}
	})
}

// claimOne claims exactly one message.
func claimOne(t *testing.T, h *harness) storage.OutboxMessage {
	t.Helper()
	got, err := h.store.ClaimMail(h.ctx, time.Minute, 10)
	if err != nil || len(got) != 1 {
		t.Fatalf("claim: %+v %v, want one message", got, err)
	}
	return got[0]
}

// claimAll claims every due message.
func claimAll(t *testing.T, h *harness) []storage.OutboxMessage {
	t.Helper()
	got, err := h.store.ClaimMail(h.ctx, time.Minute, 100)
	if err != nil {
		t.Fatal(err)
	}
	return got
}
