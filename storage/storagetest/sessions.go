package storagetest

import (
	"reflect"
	"testing"
	"time"

	"github.com/madfam-org/janua/storage"
)

// newSession creates a live session for userID: 30 min idle, 8 h absolute.
func newSession(h *harness, userID string) *storage.BrowserSession {
	h.t.Helper()
	now := h.clock.Now()
	bs := &storage.BrowserSession{
		ID:            "hash-" + randomHex(16),
		SID:           "sid-" + randomHex(8),
		UserID:        userID,
		AuthTime:      now,
		AMR:           []string{"pwd", "otp"},
		ACR:           "mfa",
		Remember:      true,
		IP:            "192.0.2.7",
		UserAgent:     "storagetest",
		IdleExpiresAt: now.Add(30 * time.Minute),
		ExpiresAt:     now.Add(8 * time.Hour),
	}
	if err := h.store.CreateBrowserSession(h.ctx, bs); err != nil {
		h.t.Fatal(err)
	}
	return bs
}

func testBrowserSessions(t *testing.T, b Backend) {
	t.Run("CreateGet", func(t *testing.T) {
		h := newHarness(t, b)
		u := newUser("s@example.com")
		if err := h.store.CreateUser(h.ctx, u, ""); err != nil {
			t.Fatal(err)
		}
		bs := newSession(h, u.ID)
		got, err := h.store.GetBrowserSession(h.ctx, bs.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.SID != bs.SID || got.UserID != u.ID || !reflect.DeepEqual(got.AMR, []string{"pwd", "otp"}) || got.ACR != "mfa" ||
			!got.Remember || !got.AuthTime.Equal(bs.AuthTime) || got.IP != "192.0.2.7" {
			t.Fatalf("got %+v, want %+v", got, bs)
		}
		dup := *bs
		dup.ID = "other"
		if err := h.store.CreateBrowserSession(h.ctx, &dup); !is(err, storage.ErrAlreadyExists) {
			t.Fatalf("duplicate sid: %v", err)
		}
		if _, err := h.store.GetBrowserSession(h.ctx, "unknown"); !is(err, storage.ErrNotFound) {
			t.Fatalf("unknown: %v", err)
		}
	})

	t.Run("UnknownUserRefused", func(t *testing.T) {
		h := newHarness(t, b)
		bs := &storage.BrowserSession{ID: "x", SID: "y", UserID: "0190a4a1-0000-7000-8000-000000000000",
			AuthTime: h.clock.Now(), IdleExpiresAt: h.clock.Now().Add(time.Hour), ExpiresAt: h.clock.Now().Add(time.Hour)}
		if err := h.store.CreateBrowserSession(h.ctx, bs); !is(err, storage.ErrConflict) {
			t.Fatalf("session of a missing user: %v, want ErrConflict (foreign key)", err)
		}
	})

	t.Run("IdleAndAbsoluteExpiry", func(t *testing.T) {
		h := newHarness(t, b)
		u := newUser("e@example.com")
		_ = h.store.CreateUser(h.ctx, u, "")
		bs := newSession(h, u.ID)
		h.clock.Advance(20 * time.Minute)
		if err := h.store.TouchBrowserSession(h.ctx, bs.ID, h.clock.Now().Add(30*time.Minute)); err != nil {
			t.Fatal(err)
		}
		h.clock.Advance(20 * time.Minute) // 40 min after start: alive only because of the touch
		got, err := h.store.GetBrowserSession(h.ctx, bs.ID)
		if err != nil {
			t.Fatalf("touched session expired: %v", err)
		}
		if !got.LastSeenAt.Equal(bs.CreatedAt.Add(20 * time.Minute)) {
			t.Fatalf("last seen %v", got.LastSeenAt)
		}
		h.clock.Advance(11 * time.Minute)
		if _, err := h.store.GetBrowserSession(h.ctx, bs.ID); !is(err, storage.ErrNotFound) {
			t.Fatalf("idle-expired session: %v", err)
		}
		bs2 := newSession(h, u.ID)
		for range 20 { // keep it busy until the absolute lifetime ends
			h.clock.Advance(25 * time.Minute)
			_ = h.store.TouchBrowserSession(h.ctx, bs2.ID, h.clock.Now().Add(30*time.Minute))
		}
		if _, err := h.store.GetBrowserSession(h.ctx, bs2.ID); !is(err, storage.ErrNotFound) {
			t.Fatalf("session past its absolute lifetime: %v", err)
		}
		if err := h.store.TouchBrowserSession(h.ctx, bs2.ID, h.clock.Now().Add(time.Hour)); !is(err, storage.ErrNotFound) {
			t.Fatalf("touch past absolute lifetime: %v", err)
		}
	})

	t.Run("RevokeOneAndAllOthers", func(t *testing.T) {
		h := newHarness(t, b)
		u := newUser("r@example.com")
		_ = h.store.CreateUser(h.ctx, u, "")
		a, b2, c := newSession(h, u.ID), newSession(h, u.ID), newSession(h, u.ID)
		if err := h.store.RevokeBrowserSession(h.ctx, a.ID); err != nil {
			t.Fatal(err)
		}
		if err := h.store.RevokeBrowserSession(h.ctx, a.ID); !is(err, storage.ErrNotFound) {
			t.Fatalf("second revoke: %v", err)
		}
		if _, err := h.store.GetBrowserSession(h.ctx, a.ID); !is(err, storage.ErrNotFound) {
			t.Fatalf("revoked session: %v", err)
		}
		n, err := h.store.RevokeUserBrowserSessions(h.ctx, u.ID, c.ID)
		if err != nil || n != 1 {
			t.Fatalf("revoke others: %d %v, want 1", n, err)
		}
		if _, err := h.store.GetBrowserSession(h.ctx, b2.ID); !is(err, storage.ErrNotFound) {
			t.Fatal("other session survived")
		}
		d := newSession(h, u.ID)
		if uid, err := h.store.RevokeBrowserSessionBySID(h.ctx, d.SID); err != nil || uid != u.ID {
			t.Fatalf("revoke by sid: %q %v, want the user's id", uid, err)
		}
		if uid, err := h.store.RevokeBrowserSessionBySID(h.ctx, d.SID); err != nil || uid != "" {
			t.Fatalf("revoking an ended session by sid: %q %v, want nothing", uid, err)
		}
		if _, err := h.store.GetBrowserSession(h.ctx, d.ID); !is(err, storage.ErrNotFound) {
			t.Fatalf("session revoked by sid still live: %v", err)
		}
		live, err := h.store.ListUserBrowserSessions(h.ctx, u.ID)
		if err != nil || len(live) != 1 || live[0].ID != c.ID {
			t.Fatalf("live sessions %+v %v", live, err)
		}
	})
}
