package login_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/madfam-org/janua/login"
)

// cheap keeps tests fast; the format and logic are the same at any cost.
func cheap() login.Argon2Params {
	return login.Argon2Params{MemoryKiB: 8192, Iterations: 1, Parallelism: 1}
}

func TestHashAndVerify(t *testing.T) {
	ctx := context.Background()
	pw := login.NewPasswords(cheap(), login.HashLimits{Concurrent: 2})
	h1, err := pw.Hash(ctx, "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	h2, _ := pw.Hash(ctx, "correct horse battery staple")
	if !strings.HasPrefix(h1, "$argon2id$v=19$m=8192,t=1,p=1$") || h1 == h2 {
		t.Fatalf("hashes %q %q: want PHC argon2id with a random salt", h1, h2)
	}
	rehash, err := pw.Verify(ctx, "correct horse battery staple", h1)
	if err != nil || rehash {
		t.Fatalf("verify: rehash=%v err=%v", rehash, err)
	}
	if _, err := pw.Verify(ctx, "correct horse battery stapler", h1); !errors.Is(err, login.ErrPasswordMismatch) {
		t.Fatalf("wrong password: %v", err)
	}
	// Parameters changed: the old hash still verifies and asks for a rehash.
	stronger := login.NewPasswords(login.Argon2Params{MemoryKiB: 16384, Iterations: 2, Parallelism: 1}, login.HashLimits{Concurrent: 1})
	rehash, err = stronger.Verify(ctx, "correct horse battery staple", h1)
	if err != nil || !rehash {
		t.Fatalf("after a parameter change: rehash=%v err=%v", rehash, err)
	}
}

func TestVerifyImportedBcrypt(t *testing.T) {
	ctx := context.Background()
	b, _ := bcrypt.GenerateFromPassword([]byte("imported from auth0"), bcrypt.MinCost)
	pw := login.NewPasswords(cheap(), login.HashLimits{Concurrent: 1})
	rehash, err := pw.Verify(ctx, "imported from auth0", string(b))
	if err != nil || !rehash {
		t.Fatalf("bcrypt import: rehash=%v err=%v (a match must ask for an argon2id rehash)", rehash, err)
	}
	if _, err := pw.Verify(ctx, "wrong", string(b)); !errors.Is(err, login.ErrPasswordMismatch) {
		t.Fatalf("bcrypt mismatch: %v", err)
	}
}

func TestVerifyRefusesMalformedAndHostileHashes(t *testing.T) {
	ctx := context.Background()
	pw := login.NewPasswords(cheap(), login.HashLimits{Concurrent: 1})
	for _, h := range []string{
		"", "plaintext", "$argon2i$v=19$m=8192,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=18$m=8192,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", // 95 GiB: refused, not attempted
		"$argon2id$v=19$m=8192,t=100000,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=8192,t=1,p=0$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=8192,t=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=8192,t=1,p=1$!!!$aGFzaA",
		"$argon2id$v=19$m=8192,t=1,p=1,x=2$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$2b$04$tooshort",
	} {
		if _, err := pw.Verify(ctx, "pw", h); !errors.Is(err, login.ErrUnknownHash) {
			t.Errorf("Verify(%q): %v, want ErrUnknownHash", h, err)
		}
	}
	if _, err := pw.Verify(ctx, strings.Repeat("x", 2000), "$argon2id$v=19$m=8192,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"); !errors.Is(err, login.ErrPasswordMismatch) {
		t.Errorf("over-long password: %v", err)
	}
	if _, err := pw.Hash(ctx, strings.Repeat("x", 2000)); err == nil {
		t.Error("hashed a 2000-byte password")
	}
}

// A burst of more callers than slots queues: every hash completes.
func TestConcurrencyIsBounded(t *testing.T) {
	// A burst of callers all finish (the bound queues, it does not drop).
	pw := login.NewPasswords(cheap(), login.HashLimits{Concurrent: 2})
	var wg sync.WaitGroup
	var failed atomic.Int32
	for range 8 {
		wg.Go(func() {
			if _, err := pw.Hash(context.Background(), "burst password"); err != nil {
				failed.Add(1)
			}
		})
	}
	wg.Wait()
	if failed.Load() != 0 {
		t.Fatalf("%d hashes of a burst failed", failed.Load())
	}

}

func TestBurnCostsLikeAVerify(t *testing.T) {
	pw := login.NewPasswords(cheap(), login.HashLimits{Concurrent: 1})
	if err := pw.Burn(context.Background(), "anything"); err != nil {
		t.Fatal(err)
	}
}

func TestPasswordPolicy(t *testing.T) {
	p := login.PasswordPolicy{MinLength: 12}
	for pw, ok := range map[string]bool{
		"short":                          false,
		"exactly12chr":                   true,
		"ñññññññññññ":                    false, // 11 runes, 22 bytes: length counts characters
		"ññññññññññññ":                   true,
		string([]byte{0xff, 0xfe, 0xfd}): false,
		strings.Repeat("a", 1025):        false,
	} {
		if err := p.Check(pw); (err == nil) != ok {
			t.Errorf("Check(%q) = %v, want ok=%v", pw, err, ok)
		}
	}
	seen := map[string]bool{}
	for range 50 {
		g := login.GeneratePassword()
		if len(g) != 20 || seen[g] || p.Check(g) != nil || strings.ContainsAny(g, "0O1lI") {
			t.Fatalf("generated %q", g)
		}
		seen[g] = true
	}
}
