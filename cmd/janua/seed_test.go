package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/madfam-org/janua/login"
	"github.com/madfam-org/janua/storage/storagetest"
)

// janua seed adds the rows it is asked for, on every backend; a second run
// adds more beside them; seeded users sign in with the seed password.
func TestSeed(t *testing.T) {
	for _, b := range storagetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			c := newCLI(t)
			c.env["JANUA_DATABASE_URL"] = b.NewDatabaseURL(t)
			if _, _, err := c.run("seed", "--tokens", "4"); err == nil || !strings.Contains(err.Error(), "needs clients") {
				t.Fatalf("tokens without clients: %v", err)
			}
			const password = "seeded users' shared password"
			out, errOut, err := c.runIn(strings.NewReader(password+"\n"), "seed", "--users", "7", "--clients", "3", "--tokens", "9", "--batch", "2", "--password-stdin", "--output", "json")
			if err != nil {
				t.Fatalf("seed: %v\n%s", err, errOut)
			}
			var sum seedSummary
			if err := json.Unmarshal([]byte(out), &sum); err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			if sum.Users != 7 || sum.Clients != 3 || sum.Tokens != 9 || sum.Totals.Users != 7 || sum.Totals.Clients != 3 || sum.Totals.Tokens != 9 || sum.Password != "" {
				t.Fatalf("summary: %+v", sum)
			}
			if !strings.Contains(errOut, "seed: token rows 9/9") {
				t.Errorf("no progress on stderr: %q", errOut)
			}
			// Again, with a generated password and tokens over the clients there.
			out = c.must("seed", "--users", "2", "--tokens", "3", "--output", "json")
			var again seedSummary
			if err := json.Unmarshal([]byte(out), &again); err != nil {
				t.Fatal(err)
			}
			if again.Tag == sum.Tag || again.Password == "" || again.Totals.Users != 9 || again.Totals.Clients != 3 || again.Totals.Tokens != 12 {
				t.Fatalf("second run: %+v", again)
			}

			ctx := context.Background()
			cfg, err := loadConfig("", c.getenv, nil)
			if err != nil {
				t.Fatal(err)
			}
			s, err := openStore(ctx, cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			u, err := s.GetUserByEmail(ctx, fmt.Sprintf(sum.UserEmailFormat, 7))
			if err != nil {
				t.Fatal(err)
			}
			if !u.EmailVerified || u.Claims["name"] != "Seed User 7" {
				t.Errorf("seeded user: %+v", u)
			}
			hash, err := s.GetPasswordHash(ctx, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			a2 := cfg.Passwords.Argon2
			pw := login.NewPasswords(a2.params(), login.HashLimits{Concurrent: 1})
			if rehash, err := pw.Verify(ctx, password, hash); err != nil || rehash {
				t.Errorf("seed password: rehash %v, %v", rehash, err)
			}
			cl, err := s.GetClient(ctx, fmt.Sprintf(sum.ClientIDFormat, 3))
			if err != nil {
				t.Fatal(err)
			}
			if len(cl.SecretHash) != 32 || cl.TokenEndpointAuthMethod != "client_secret_basic" {
				t.Errorf("seeded client: %+v", cl)
			}
			if _, err := s.GetClient(ctx, fmt.Sprintf(sum.ClientIDFormat, 4)); err == nil {
				t.Error("a fourth client was seeded")
			}
		})
	}
}
