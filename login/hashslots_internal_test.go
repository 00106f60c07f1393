package login

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/madfam-org/janua/storage"
	"github.com/madfam-org/janua/storage/storagetest"
	"github.com/madfam-org/janua/templates"
)

// With every slot taken, Hash, Verify and Burn wait, and give up with their
// context or, after HashLimits.Wait, with ErrBusy: a burst of sign-ins
// cannot hold more than Concurrent × memory, nor queue for ever.
func TestHashWaitsForASlot(t *testing.T) {
	pw := NewPasswords(Argon2Params{MemoryKiB: 8192, Iterations: 1, Parallelism: 1}, HashLimits{Concurrent: 2, Wait: time.Hour})
	a, _ := pw.slots.acquire(context.Background())
	b, _ := pw.slots.acquire(context.Background())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := pw.Hash(ctx, "waits"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Hash with no free slot: %v", err)
	}
	if err := pw.Burn(ctx, "waits"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Burn with no free slot: %v", err)
	}
	pw.slots.wait = time.Nanosecond
	if _, err := pw.Verify(context.Background(), "waits", "$argon2id$v=19$m=8192,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"); !errors.Is(err, ErrBusy) {
		t.Fatalf("Verify with no free slot past the wait: %v", err)
	}
	pw.slots.release(a)
	if _, err := pw.Hash(context.Background(), "now runs"); err != nil {
		t.Fatalf("Hash with a slot free: %v", err)
	}
	if len(pw.slots.free) != 1 {
		t.Fatalf("%d slots free after Hash returned, want the 1 the test left", len(pw.slots.free))
	}
	pw.slots.release(b)
}

// The slots are GOMAXPROCS by default, each with memory for one hash of the
// configured cost, and the same memory serves hash after hash.
func TestSlotsKeepTheirMemory(t *testing.T) {
	p := Argon2Params{MemoryKiB: 8192, Iterations: 1, Parallelism: 1}
	pw := NewPasswords(p, HashLimits{})
	if got, want := cap(pw.slots.free), len(pw.slots.free); got != want || got < 1 {
		t.Fatalf("%d of %d slots free", want, got)
	}
	if pw.slots.wait != DefaultHashWait {
		t.Fatalf("wait %v, want DefaultHashWait", pw.slots.wait)
	}
	one := NewPasswords(p, HashLimits{Concurrent: 1})
	mem := <-one.slots.free
	one.slots.free <- mem
	for range 3 {
		if _, err := one.Hash(context.Background(), "same memory"); err != nil {
			t.Fatal(err)
		}
		if got := <-one.slots.free; got != mem {
			t.Fatal("a hash replaced its slot's memory")
		}
		one.slots.free <- mem
	}
}

// A sign-in that cannot get a hashing slot within the wait is refused with
// 503 and Retry-After on the sign-in page, which says why; it counts as no
// failed attempt of the account (no password was checked). Once a slot is
// free the same sign-in goes through.
func TestSignInWhenEverySlotIsTaken(t *testing.T) {
	ctx := context.Background()
	store := storagetest.OpenSQLite(t)
	set, err := templates.New(templates.Options{})
	if err != nil {
		t.Fatal(err)
	}
	hot := storage.NewMemoryHotState(storage.MemoryHotStateOptions{})
	t.Cleanup(func() { _ = hot.Close() })
	pw := NewPasswords(Argon2Params{MemoryKiB: 8192, Iterations: 1, Parallelism: 1}, HashLimits{Concurrent: 1, Wait: time.Nanosecond})
	hash, err := pw.Hash(ctx, "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if err := store.CreateUser(ctx, &storage.User{Email: "ana@example.com"}, hash); err != nil {
		t.Fatal(err)
	}
	limits := DefaultLimits()
	limits.LockoutFailures = 1 // one counted failure would lock the account
	p := New(store, Options{Templates: set, Sessions: NewSessions(store, SessionOptions{}), HotState: hot, Issuer: "http://janua.test",
		Passwords: pw, Limits: limits, LoginPath: "/login", ResumePath: "/oauth2/resume"})
	e := echo.New()
	p.Routes(e)
	post := func() *httptest.ResponseRecorder {
		form := url.Values{"email": {"ana@example.com"}, "password": {"correct horse battery staple"}}
		req := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(form.Encode()))
		req.Header.Set(echo.HeaderContentType, echo.MIMEApplicationForm)
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		return rec
	}
	mem, err := pw.slots.acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rec := post()
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" ||
		!strings.Contains(rec.Body.String(), "Too many sign-ins at this moment") || !strings.Contains(rec.Body.String(), `value="ana@example.com"`) {
		t.Fatalf("every slot taken: %d Retry-After %q\n%s", rec.Code, rec.Header().Get("Retry-After"), rec.Body)
	}
	pw.slots.release(mem)
	if rec := post(); rec.Code != http.StatusSeeOther {
		t.Fatalf("a slot free: %d\n%s", rec.Code, rec.Body)
	}
}

// The hashing slots give their memory back once no hash has run for
// IdleRelease, and hash correctly after.
func TestHashSlotsReleaseIdleMemory(t *testing.T) {
	ctx := context.Background()
	p := Argon2Params{MemoryKiB: 1024, Iterations: 1, Parallelism: 1}
	pw := NewPasswords(p, HashLimits{Concurrent: 2, IdleRelease: 20 * time.Millisecond})
	h, err := pw.Hash(ctx, "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for pw.slots.idle.released.Load() < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("%d of 2 slots released 5 s after the last hash", pw.slots.idle.released.Load())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := pw.Verify(ctx, "correct horse", h); err != nil {
		t.Fatalf("verify after the release: %v", err)
	}
	if _, err := pw.Verify(ctx, "wrong horse", h); !errors.Is(err, ErrPasswordMismatch) {
		t.Fatalf("a wrong password after the release: %v, want ErrPasswordMismatch", err)
	}
}
