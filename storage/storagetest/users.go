package storagetest

import (
	"context"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/madfam-org/janua/storage"
)

func newUser(email string) *storage.User {
	return &storage.User{
		Email: email,
		Claims: map[string]any{
			"name":    "Buffy Summers",
			"address": map[string]any{"locality": "Sunnydale", "country": "US"},
		},
	}
}

func testUsers(t *testing.T, b Backend) {
	t.Run("CreateGetByIDAndEmail", func(t *testing.T) {
		h := newHarness(t, b)
		u := newUser("Buffy@Example.com")
		if err := h.store.CreateUser(h.ctx, u, ""); err != nil {
			t.Fatal(err)
		}
		if _, err := uuid.Parse(u.ID); err != nil || u.Revision != 1 || u.EmailKey != "buffy@example.com" {
			t.Fatalf("created %+v", u)
		}
		got, err := h.store.GetUser(h.ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Email != "Buffy@Example.com" || !reflect.DeepEqual(got.Claims, u.Claims) || !got.CreatedAt.Equal(h.clock.Now().Truncate(time.Microsecond)) {
			t.Fatalf("got %+v, want %+v", got, u)
		}
		byEmail, err := h.store.GetUserByEmail(h.ctx, "  BUFFY@example.COM ")
		if err != nil || byEmail.ID != u.ID {
			t.Fatalf("by email: %v %v", byEmail, err)
		}
	})

	t.Run("DuplicateEmailCaseInsensitive", func(t *testing.T) {
		h := newHarness(t, b)
		if err := h.store.CreateUser(h.ctx, newUser("willow@example.com"), ""); err != nil {
			t.Fatal(err)
		}
		err := h.store.CreateUser(h.ctx, newUser("WILLOW@example.com"), "")
		if !is(err, storage.ErrAlreadyExists) {
			t.Fatalf("duplicate email: %v, want ErrAlreadyExists", err)
		}
	})

	t.Run("DuplicateIDIsAlreadyExists", func(t *testing.T) {
		h := newHarness(t, b)
		u := newUser("a@example.com")
		if err := h.store.CreateUser(h.ctx, u, ""); err != nil {
			t.Fatal(err)
		}
		v := newUser("b@example.com")
		v.ID = u.ID
		if err := h.store.CreateUser(h.ctx, v, ""); !is(err, storage.ErrAlreadyExists) {
			t.Fatalf("duplicate id: %v", err)
		}
	})

	t.Run("NotFound", func(t *testing.T) {
		h := newHarness(t, b)
		for _, id := range []string{uuid.NewString(), "not-a-uuid", "", "'; DROP TABLE users; --"} {
			if _, err := h.store.GetUser(h.ctx, id); !is(err, storage.ErrNotFound) {
				t.Errorf("GetUser(%q): %v, want ErrNotFound", id, err)
			}
			if err := h.store.DeleteUser(h.ctx, id); !is(err, storage.ErrNotFound) {
				t.Errorf("DeleteUser(%q): %v, want ErrNotFound", id, err)
			}
			if err := h.store.SetUserDisabled(h.ctx, id, true); !is(err, storage.ErrNotFound) {
				t.Errorf("SetUserDisabled(%q): %v, want ErrNotFound", id, err)
			}
		}
		if _, err := h.store.GetUserByEmail(h.ctx, "nobody@example.com"); !is(err, storage.ErrNotFound) {
			t.Errorf("GetUserByEmail: %v, want ErrNotFound", err)
		}
	})

	// LockUser serialises transactions about one user: a second one waits
	// at its LockUser until the first ends, and then sees what it did.
	t.Run("LockUserSerialises", func(t *testing.T) {
		h := newHarness(t, b)
		u, other := newUser("lock@example.com"), newUser("other@example.com")
		for _, x := range []*storage.User{u, other} {
			if err := h.store.CreateUser(h.ctx, x, ""); err != nil {
				t.Fatal(err)
			}
		}
		if err := h.store.LockUser(h.ctx, uuid.NewString()); !is(err, storage.ErrNotFound) {
			t.Errorf("LockUser of nobody: %v", err)
		}
		release, locked := make(chan struct{}), make(chan struct{})
		first := make(chan error, 1)
		go func() {
			first <- h.store.InTx(h.ctx, func(ctx context.Context) error {
				if err := h.store.LockUser(ctx, u.ID); err != nil {
					return err
				}
				close(locked)
				<-release
				return h.store.SetUserDisabled(ctx, u.ID, true)
			})
		}()
		<-locked
		second := make(chan bool, 1)
		go func() {
			_ = h.store.InTx(h.ctx, func(ctx context.Context) error {
				if err := h.store.LockUser(ctx, u.ID); err != nil {
					t.Error(err)
					return err
				}
				got, err := h.store.GetUser(ctx, u.ID)
				second <- err == nil && got.Disabled()
				return nil
			})
		}()
		select {
		case <-second:
			t.Fatal("a second transaction got the user's lock while the first held it")
		case <-time.After(200 * time.Millisecond):
		}
		close(release)
		if err := <-first; err != nil {
			t.Fatal(err)
		}
		if sawDisabled := <-second; !sawDisabled {
			t.Error("after the lock, the second transaction did not see the first one's change")
		}
	})

	t.Run("ListPages", func(t *testing.T) {
		h := newHarness(t, b)
		var ids []string
		for _, e := range []string{"1@x.io", "2@x.io", "3@x.io", "4@x.io", "5@x.io"} {
			u := newUser(e)
			if err := h.store.CreateUser(h.ctx, u, ""); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, u.ID)
		}
		var seen []string
		after := ""
		for pages := 0; pages < 10; pages++ {
			us, next, err := h.store.ListUsers(h.ctx, storage.Page{After: after, Limit: 2})
			if err != nil {
				t.Fatal(err)
			}
			for _, u := range us {
				seen = append(seen, u.ID)
			}
			if next == "" {
				break
			}
			after = next
		}
		if !reflect.DeepEqual(seen, ids) {
			t.Fatalf("paged %v, want creation order %v", seen, ids)
		}
	})

	t.Run("UpdateWithRevision", func(t *testing.T) {
		h := newHarness(t, b)
		u := newUser("xander@example.com")
		if err := h.store.CreateUser(h.ctx, u, ""); err != nil {
			t.Fatal(err)
		}
		stale := *u
		u.Email = "Xander@Sunnydale.edu"
		u.EmailVerified = true
		u.Claims = map[string]any{"nickname": "Xan"}
		h.clock.Advance(time.Second)
		if err := h.store.UpdateUser(h.ctx, u); err != nil {
			t.Fatal(err)
		}
		got, _ := h.store.GetUser(h.ctx, u.ID)
		if got.Revision != 2 || got.EmailKey != "xander@sunnydale.edu" || !got.EmailVerified || got.Claims["nickname"] != "Xan" || !got.UpdatedAt.After(got.CreatedAt) {
			t.Fatalf("after update: %+v", got)
		}
		stale.Email = "lost@example.com"
		if err := h.store.UpdateUser(h.ctx, &stale); !is(err, storage.ErrConflict) {
			t.Fatalf("stale update: %v, want ErrConflict", err)
		}
		ghost := newUser("ghost@example.com")
		ghost.ID, ghost.Revision = uuid.NewString(), 1
		if err := h.store.UpdateUser(h.ctx, ghost); !is(err, storage.ErrNotFound) {
			t.Fatalf("update of missing user: %v, want ErrNotFound", err)
		}
	})

	t.Run("ConcurrentUpdatesOneWins", func(t *testing.T) {
		h := newHarness(t, b)
		u := newUser("giles@example.com")
		if err := h.store.CreateUser(h.ctx, u, ""); err != nil {
			t.Fatal(err)
		}
		const writers = 8
		errs := make([]error, writers)
		var wg sync.WaitGroup
		for i := range writers {
			wg.Go(func() {
				c := *u
				c.Claims = map[string]any{"nickname": string(rune('a' + i))}
				errs[i] = h.store.UpdateUser(h.ctx, &c)
			})
		}
		wg.Wait()
		wins := 0
		for _, err := range errs {
			switch {
			case err == nil:
				wins++
			case !is(err, storage.ErrConflict):
				t.Fatalf("concurrent update: %v, want nil or ErrConflict", err)
			}
		}
		if wins != 1 {
			t.Fatalf("%d concurrent updates of one revision succeeded, want exactly 1", wins)
		}
		got, _ := h.store.GetUser(h.ctx, u.ID)
		if got.Revision != 2 {
			t.Fatalf("revision %d, want 2", got.Revision)
		}
	})

	t.Run("DisableEnable", func(t *testing.T) {
		h := newHarness(t, b)
		u := newUser("spike@example.com")
		if err := h.store.CreateUser(h.ctx, u, ""); err != nil {
			t.Fatal(err)
		}
		if err := h.store.SetUserDisabled(h.ctx, u.ID, true); err != nil {
			t.Fatal(err)
		}
		got, _ := h.store.GetUser(h.ctx, u.ID)
		if !got.Disabled() || !got.DisabledAt.Equal(h.clock.Now().Truncate(time.Microsecond)) {
			t.Fatalf("disabled: %+v", got.DisabledAt)
		}
		if err := h.store.SetUserDisabled(h.ctx, u.ID, false); err != nil {
			t.Fatal(err)
		}
		got, _ = h.store.GetUser(h.ctx, u.ID)
		if got.Disabled() {
			t.Fatal("still disabled after enabling")
		}
	})

	t.Run("DeleteCascades", func(t *testing.T) {
		h := newHarness(t, b)
		u := newUser("anya@example.com")
		if err := h.store.CreateUser(h.ctx, u, "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"); err != nil {
			t.Fatal(err)
		}
		bs := newSession(h, u.ID)
		if err := h.store.DeleteUser(h.ctx, u.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := h.store.GetPasswordHash(h.ctx, u.ID); !is(err, storage.ErrNotFound) {
			t.Fatalf("password after delete: %v", err)
		}
		if _, err := h.store.GetBrowserSession(h.ctx, bs.ID); !is(err, storage.ErrNotFound) {
			t.Fatalf("session after delete: %v", err)
		}
	})
}

func testPasswords(t *testing.T, b Backend) {
	h := newHarness(t, b)
	u := newUser("tara@example.com")
	if err := h.store.CreateUser(h.ctx, u, "hash-1"); err != nil {
		t.Fatal(err)
	}
	if got, err := h.store.GetPasswordHash(h.ctx, u.ID); err != nil || got != "hash-1" {
		t.Fatalf("hash %q %v", got, err)
	}
	if err := h.store.SetPasswordHash(h.ctx, u.ID, "hash-2"); err != nil {
		t.Fatal(err)
	}
	if got, _ := h.store.GetPasswordHash(h.ctx, u.ID); got != "hash-2" {
		t.Fatalf("hash %q after replace", got)
	}
	v := newUser("dawn@example.com")
	if err := h.store.CreateUser(h.ctx, v, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := h.store.GetPasswordHash(h.ctx, v.ID); !is(err, storage.ErrNotFound) {
		t.Fatalf("user without password: %v", err)
	}
	if err := h.store.SetPasswordHash(h.ctx, v.ID, "hash-3"); err != nil {
		t.Fatal(err)
	}
	if got, _ := h.store.GetPasswordHash(h.ctx, v.ID); got != "hash-3" {
		t.Fatalf("first password %q", got)
	}
	if err := h.store.SetPasswordHash(h.ctx, uuid.NewString(), "x"); !is(err, storage.ErrNotFound) {
		t.Fatalf("password for a missing user: %v, want ErrNotFound", err)
	}
	// A password sign-in reads the user and the hash in one statement.
	before := h.store.Stats().Total()
	got, hash, err := h.store.GetUserByEmailWithPassword(h.ctx, " TARA@example.com")
	if err != nil || got.ID != u.ID || hash != "hash-2" || !reflect.DeepEqual(got.Claims, u.Claims) || !got.CreatedAt.Equal(u.CreatedAt.Truncate(time.Microsecond)) {
		t.Fatalf("user with password: %+v %q %v", got, hash, err)
	}
	if n := h.store.Stats().Total() - before; n != 1 {
		t.Fatalf("user with password took %d statements, want 1", n)
	}
	w := newUser("glory@example.com")
	if err := h.store.CreateUser(h.ctx, w, ""); err != nil {
		t.Fatal(err)
	}
	if got, hash, err := h.store.GetUserByEmailWithPassword(h.ctx, "glory@example.com"); err != nil || got.ID != w.ID || hash != "" {
		t.Fatalf("user without password: %+v %q %v", got, hash, err)
	}
	if _, _, err := h.store.GetUserByEmailWithPassword(h.ctx, "nobody@example.com"); !is(err, storage.ErrNotFound) {
		t.Fatalf("no such user: %v, want ErrNotFound", err)
	}
}
