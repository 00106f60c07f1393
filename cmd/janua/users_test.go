package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/madfam-org/janua/login"
	"github.com/madfam-org/janua/storage"
)

// store opens the CLI's database directly, to check what was really stored.
func (c *cli) store() *storage.Store {
	c.t.Helper()
	cfg, err := loadConfig("", c.getenv, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	sec, err := secret(cfg, (&app{io: streams{err: &strings.Builder{}}}).logger(cfg))
	if err != nil {
		c.t.Fatal(err)
	}
	s, err := storage.Open(context.Background(), storage.Options{URL: cfg.databaseURL(), Secret: sec})
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestUsersLifecycle(t *testing.T) {
	c := newCLI(t)
	ctx := context.Background()
	out := c.must("users", "create", "--email", "Buffy@Example.com", "--output", "json",
		"--claims", `{"name":"Buffy Summers","given_name":"Buffy","locale":"en-US","address":{"locality":"Sunnydale"},"email_verified":true}`)
	var created userView
	if err := json.Unmarshal([]byte(out), &created); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if created.ID == "" || created.Email != "Buffy@Example.com" || !created.EmailVerified || created.Claims["name"] != "Buffy Summers" {
		t.Fatalf("created %+v", created)
	}
	if len(created.Password) < 20 {
		t.Fatalf("generated password %q: want ≥ 20 characters printed once", created.Password)
	}
	// The password is stored as an argon2id hash that verifies.
	s := c.store()
	hash, err := s.GetPasswordHash(ctx, created.ID)
	if err != nil || !strings.HasPrefix(hash, "$argon2id$") || strings.Contains(hash, created.Password) {
		t.Fatalf("stored hash %q: %v", hash, err)
	}
	if _, err := login.NewPasswords(login.Argon2Params{MemoryKiB: 8192, Iterations: 1, Parallelism: 1}, login.HashLimits{Concurrent: 1}).Verify(ctx, created.Password, hash); err != nil {
		t.Fatalf("generated password does not verify: %v", err)
	}
	// Duplicate (case-insensitive) email: a clear error, non-zero exit.
	if _, _, err := c.run("users", "create", "--email", "BUFFY@example.com"); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("duplicate email: %v", err)
	}
	// Password from stdin, checked against the policy.
	if _, _, err := c.runIn(strings.NewReader("short\n"), "users", "create", "--email", "willow@example.com", "--password-stdin"); err == nil || !strings.Contains(err.Error(), "at least 12") {
		t.Fatalf("short password: %v", err)
	}
	_, _, err = c.runIn(strings.NewReader("correct horse battery staple\n"), "users", "create", "--email", "willow@example.com", "--password-stdin")
	if err != nil {
		t.Fatal(err)
	}
	// List as a table and as JSON.
	table := c.must("users", "list")
	if !strings.Contains(table, "Buffy@Example.com") || !strings.Contains(table, "willow@example.com") {
		t.Fatalf("list:\n%s", table)
	}
	var listed struct {
		Users []userView `json:"users"`
	}
	_ = json.Unmarshal([]byte(c.must("users", "list", "-o", "json")), &listed)
	if len(listed.Users) != 2 || listed.Users[0].Password != "" {
		t.Fatalf("json list %+v", listed)
	}
	// Disable by email ends sessions; enable; delete by id.
	bs := &storage.BrowserSession{ID: "h", SID: "s", UserID: created.ID, AuthTime: created.CreatedAt,
		IdleExpiresAt: created.CreatedAt.Add(24 * 3600e9), ExpiresAt: created.CreatedAt.Add(24 * 3600e9)}
	if err := s.CreateBrowserSession(ctx, bs); err != nil {
		t.Fatal(err)
	}
	if out := c.must("users", "disable", "buffy@example.com"); !strings.Contains(out, "disabled user "+created.ID) {
		t.Fatalf("disable: %s", out)
	}
	if _, err := s.GetBrowserSession(ctx, "h"); err == nil {
		t.Fatal("disabling a user left their browser session alive")
	}
	u, _ := s.GetUser(ctx, created.ID)
	if !u.Disabled() {
		t.Fatal("not disabled")
	}
	c.must("users", "enable", created.ID)
	c.must("users", "delete", created.ID)
	if _, _, err := c.run("users", "delete", created.ID); err == nil || !strings.Contains(err.Error(), "no user") {
		t.Fatalf("second delete: %v", err)
	}
	// Every change was audited.
	events, _ := s.ListAuditEvents(ctx, storage.AuditFilter{Subject: created.ID})
	var types []string
	for _, e := range events {
		types = append(types, e.Type)
		if e.Actor != cliActor {
			t.Errorf("event %s actor %q", e.Type, e.Actor)
		}
	}
	if strings.Join(types, ",") != "user.deleted,user.enabled,user.disabled,user.created" {
		t.Fatalf("audit trail %v", types)
	}
}

func TestUsersCreateRejectsBadInput(t *testing.T) {
	c := newCLI(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--email", "not-an-email"}, "not a valid address"},
		{[]string{"--email", "Buffy <b@example.com>"}, "not a valid address"},
		{[]string{"--email", "b@example.com", "--claims", `{"favourite_colour":"red"}`}, "not a standard OpenID Connect claim"},
		{[]string{"--email", "b@example.com", "--claims", `{"sub":"x"}`}, "managed by Janua"},
		{[]string{"--email", "b@example.com", "--claims", `{"birthdate":"12/01/1981"}`}, "birthdate"},
		{[]string{"--email", "b@example.com", "--claims", `{"phone_number_verified":"yes"}`}, "true or false"},
		{[]string{"--email", "b@example.com", "--claims", `{"address":{"planet":"Earth"}}`}, "not an address member"},
		{[]string{"--email", "b@example.com", "--claims", `not json`}, "--claims must be a JSON object"},
		{[]string{"--email", "b@example.com", "--password", "x", "--password-stdin"}, "not both"},
		{[]string{}, `"email" not set`},
	} {
		_, _, err := c.run(append([]string{"users", "create"}, tc.args...)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("users create %v: %v, want %q", tc.args, err, tc.want)
		}
	}
	out := c.must("users", "list", "-o", "json")
	if !strings.Contains(out, `"users": []`) {
		t.Fatalf("a rejected user was stored: %s", out)
	}
}
