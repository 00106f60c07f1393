package directory_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/madfam-org/janua/directory"
	"github.com/madfam-org/janua/storage"
	"github.com/madfam-org/janua/storage/storagetest"
)

func TestValidateClaims(t *testing.T) {
	for _, tc := range []struct {
		claims map[string]any
		want   string // "" = valid
	}{
		{map[string]any{"name": "Buffy", "given_name": "Buffy", "family_name": "Summers", "middle_name": "Anne", "nickname": "B",
			"preferred_username": "buffy", "profile": "https://b.example.com", "picture": "https://b.example.com/p.png",
			"website": "https://b.example.com", "gender": "female", "birthdate": "1981-01-19", "zoneinfo": "America/Los_Angeles",
			"locale": "en-US", "phone_number": "+1 555 0100", "phone_number_verified": true, "email_verified": false,
			"address": map[string]any{"formatted": "1630 Revello Drive", "street_address": "1630 Revello Drive", "locality": "Sunnydale",
				"region": "CA", "postal_code": "95037", "country": "US"}}, ""},
		{map[string]any{"birthdate": "1981"}, ""},
		{map[string]any{"birthdate": "0000-01-19"}, ""},
		{map[string]any{"birthdate": "19/01/1981"}, "birthdate"},
		{map[string]any{"locale": "not a locale!"}, "locale"},
		{map[string]any{"picture": "javascript:alert(1)"}, "picture"},
		{map[string]any{"name": 42}, "name: must be a string"},
		{map[string]any{"name": strings.Repeat("x", 2000)}, "at most 1024"},
		{map[string]any{"address": "Sunnydale"}, "JSON object"},
		{map[string]any{"address": map[string]any{"country": 1}}, "country must be a string"},
		{map[string]any{"email": "x@example.com"}, "managed by Janua"},
		{map[string]any{"updated_at": 1}, "managed by Janua"},
		{map[string]any{"role": "admin"}, "not a standard"},
	} {
		probs := directory.ValidateClaims(tc.claims)
		got := strings.Join(probs, "; ")
		if tc.want == "" && len(probs) > 0 || tc.want != "" && !strings.Contains(got, tc.want) {
			t.Errorf("ValidateClaims(%v) = %q, want %q", tc.claims, got, tc.want)
		}
	}
}

func TestUsers(t *testing.T) {
	ctx := context.Background()
	s := storagetest.OpenSQLite(t)
	d := directory.NewUsers(s)
	u, err := d.Create(ctx, directory.UserSpec{Email: "  faith@example.com ", Claims: map[string]any{"name": "Faith", "email_verified": true}, PasswordHash: "$argon2id$x"}, "cli")
	if err != nil {
		t.Fatal(err)
	}
	if u.Email != "faith@example.com" || !u.EmailVerified || u.Claims["email_verified"] != nil || u.Claims["name"] != "Faith" {
		t.Fatalf("created %+v", u)
	}
	if h, _ := s.GetPasswordHash(ctx, u.ID); h != "$argon2id$x" {
		t.Fatalf("hash %q", h)
	}
	for _, ref := range []string{u.ID, "FAITH@example.com"} {
		if f, err := d.Find(ctx, ref); err != nil || f.ID != u.ID {
			t.Fatalf("Find(%q): %v %v", ref, f, err)
		}
	}
	if _, err := d.Create(ctx, directory.UserSpec{Email: "bad", Claims: map[string]any{"x": 1}}, "cli"); !errors.Is(err, directory.ErrInvalidUser) ||
		!strings.Contains(err.Error(), "not a valid address") || !strings.Contains(err.Error(), "x is not a standard") {
		t.Fatalf("invalid user: %v (both problems must be named)", err)
	}
	now := time.Now()
	if err := s.CreateBrowserSession(ctx, &storage.BrowserSession{ID: "h1", SID: "s1", UserID: u.ID, AuthTime: now,
		IdleExpiresAt: now.Add(time.Hour), ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	dis, err := d.SetDisabled(ctx, "faith@example.com", true, "admin-1")
	if err != nil || !dis.Disabled() {
		t.Fatalf("disable: %+v %v", dis, err)
	}
	if _, err := s.GetBrowserSession(ctx, "h1"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatal("disabled user kept a session")
	}
	events, _ := s.ListAuditEvents(ctx, storage.AuditFilter{Subject: u.ID})
	if len(events) != 2 || events[0].Type != "user.disabled" || events[0].Actor != "admin-1" || events[0].Details["sessions_ended"] != float64(1) {
		t.Fatalf("audit %+v", events)
	}
	if _, err := d.SetDisabled(ctx, "ghost@example.com", true, "cli"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("disable ghost: %v", err)
	}
	if _, err := d.Delete(ctx, u.ID, "cli"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Find(ctx, u.ID); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
}
