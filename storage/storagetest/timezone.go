package storagetest

import (
	"testing"
	"time"

	"github.com/madfam-org/janua/storage"
)

// testTimeZones writes instants expressed in zones far from UTC, with a clock
// that is itself in yet another zone, and expects the same instants back, in
// UTC, and comparisons by instant rather than by wall-clock text.
func testTimeZones(t *testing.T, b Backend) {
	h := newHarness(t, b)
	la := time.FixedZone("PDT", -7*3600)
	kiribati := time.FixedZone("LINT", 14*3600)
	kolkata := time.FixedZone("IST", 5*3600+1800)
	start := h.clock.Now()
	h.clock = NewClockAt(start.In(la))
	h.store = h.open(testSecret)

	u := newUser("tz@example.com")
	if err := h.store.CreateUser(h.ctx, u, ""); err != nil {
		t.Fatal(err)
	}
	auth := start.Add(-90 * time.Second).In(kolkata)
	expires := start.Add(time.Hour).In(la)           // wall clock earlier than "now" in Kiribati
	idle := start.Add(10 * time.Minute).In(kiribati) // wall clock a day ahead
	bs := &storage.BrowserSession{ID: "tz", SID: "tz", UserID: u.ID, AuthTime: auth, IdleExpiresAt: idle, ExpiresAt: expires}
	if err := h.store.CreateBrowserSession(h.ctx, bs); err != nil {
		t.Fatal(err)
	}
	got, err := h.store.GetBrowserSession(h.ctx, "tz")
	if err != nil {
		t.Fatalf("a session alive by instant was not found: %v", err)
	}
	for name, pair := range map[string][2]time.Time{
		"auth_time":       {got.AuthTime, auth},
		"idle_expires_at": {got.IdleExpiresAt, idle},
		"expires_at":      {got.ExpiresAt, expires},
		"created_at":      {got.CreatedAt, start},
	} {
		if !pair[0].Equal(pair[1].Truncate(time.Microsecond)) {
			t.Errorf("%s: got %v, want the instant %v", name, pair[0], pair[1])
		}
		if pair[0].Location() != time.UTC {
			t.Errorf("%s: returned in %v, want UTC", name, pair[0].Location())
		}
	}
	h.clock.Advance(11 * time.Minute)
	if _, err := h.store.GetBrowserSession(h.ctx, "tz"); !is(err, storage.ErrNotFound) {
		t.Fatalf("idle-expired (by instant) session still found: %v", err)
	}
}
