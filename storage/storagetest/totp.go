package storagetest

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"github.com/madfam-org/janua/storage"
)

// mfaUser creates a user for the second-factor tests.
func (h *harness) mfaUser(email string) string {
	h.t.Helper()
	u := newUser(email)
	if err := h.store.CreateUser(h.ctx, u, ""); err != nil {
		h.t.Fatal(err)
	}
	return u.ID
}

func testTOTP(t *testing.T, b Backend) {
	secret := []byte("12345678901234567890") // RFC 6238 Appendix B's SHA-1 secret

	t.Run("SealedAtRest", func(t *testing.T) {
		h := newHarness(t, b)
		uid := h.mfaUser("totp@example.com")
		id, err := h.store.BeginTOTP(h.ctx, uid, secret)
		if err != nil {
			t.Fatal(err)
		}
		var onDisk []byte
		if err := h.raw().QueryRowContext(h.ctx, h.rebind("SELECT secret FROM totp_authenticators WHERE id = ?"), id).Scan(&onDisk); err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(onDisk, secret[:10]) || bytes.Contains(onDisk, secret[10:]) {
			t.Fatal("the TOTP secret is stored in clear")
		}
		a, err := h.store.GetTOTP(h.ctx, uid)
		if err != nil || !bytes.Equal(a.Secret, secret) || a.ID != id || a.Confirmed() || a.LastUsedStep != 0 {
			t.Fatalf("get: %+v %v", a, err)
		}
		if _, err := h.open([]byte("a different key-encryption secret, also long")).GetTOTP(h.ctx, uid); !is(err, storage.ErrUnsealable) {
			t.Fatalf("get with another secret: %v, want ErrUnsealable", err)
		}
		// A sealed secret copied to another user's row does not decrypt.
		other := h.mfaUser("other@example.com")
		if _, err := h.store.BeginTOTP(h.ctx, other, []byte("another secret 12345")); err != nil {
			t.Fatal(err)
		}
		if _, err := h.raw().ExecContext(h.ctx, h.rebind("UPDATE totp_authenticators SET secret = ? WHERE user_id = ?"), onDisk, other); err != nil {
			t.Fatal(err)
		}
		if _, err := h.store.GetTOTP(h.ctx, other); !is(err, storage.ErrUnsealable) {
			t.Fatalf("a secret moved to another row decrypted: %v", err)
		}
	})

	t.Run("EnrolConfirmUseRemove", func(t *testing.T) {
		h := newHarness(t, b)
		uid := h.mfaUser("totp@example.com")
		if _, err := h.store.GetTOTP(h.ctx, uid); !is(err, storage.ErrNotFound) {
			t.Fatalf("no authenticator: %v", err)
		}
		first, _ := h.store.BeginTOTP(h.ctx, uid, secret)
		second, err := h.store.BeginTOTP(h.ctx, uid, []byte("a second fresh secret"))
		if err != nil || second == first {
			t.Fatalf("enrolment started again: %q %v", second, err)
		}
		if at, err := h.store.TOTPConfirmedAt(h.ctx, uid); at != nil || err != nil {
			t.Fatalf("pending counts as confirmed: %v %v", at, err)
		}
		if err := h.store.UseTOTPStep(h.ctx, uid, 5); !is(err, storage.ErrNotFound) {
			t.Fatalf("use of a pending authenticator: %v", err)
		}
		// The first secret was replaced: a code checked against it confirms nothing.
		if err := h.store.ConfirmTOTP(h.ctx, uid, first, 100); !is(err, storage.ErrNotFound) {
			t.Fatalf("confirm a replaced secret: %v", err)
		}
		if err := h.store.ConfirmTOTP(h.ctx, uid, second, 100); err != nil {
			t.Fatal(err)
		}
		if err := h.store.ConfirmTOTP(h.ctx, uid, second, 101); !is(err, storage.ErrNotFound) {
			t.Fatalf("confirm twice: %v", err)
		}
		a, _ := h.store.GetTOTP(h.ctx, uid)
		if !a.Confirmed() || !a.ConfirmedAt.Equal(h.clock.Now().Truncate(time.Microsecond)) || a.LastUsedStep != 100 || !bytes.Equal(a.Secret, []byte("a second fresh secret")) {
			t.Fatalf("confirmed: %+v", a)
		}
		if at, _ := h.store.TOTPConfirmedAt(h.ctx, uid); at == nil || !at.Equal(*a.ConfirmedAt) {
			t.Fatalf("confirmed at %v", at)
		}
		if _, err := h.store.BeginTOTP(h.ctx, uid, []byte("would replace it")); !is(err, storage.ErrAlreadyExists) {
			t.Fatalf("enrol over a confirmed authenticator: %v", err)
		}
		if a2, _ := h.store.GetTOTP(h.ctx, uid); a2.ID != second || !bytes.Equal(a2.Secret, a.Secret) {
			t.Fatalf("a refused enrolment changed the authenticator: %+v", a2)
		}
		// The confirming step is used; only later ones are accepted, once.
		for _, tc := range []struct {
			step int64
			ok   bool
		}{{100, false}, {99, false}, {102, true}, {101, false}, {102, false}, {103, true}} {
			err := h.store.UseTOTPStep(h.ctx, uid, tc.step)
			if tc.ok != (err == nil) || (!tc.ok && !is(err, storage.ErrConflict)) {
				t.Fatalf("use step %d: %v, want ok=%v", tc.step, err, tc.ok)
			}
		}
		if err := h.store.DeleteTOTP(h.ctx, uid); err != nil {
			t.Fatal(err)
		}
		if err := h.store.DeleteTOTP(h.ctx, uid); !is(err, storage.ErrNotFound) {
			t.Fatalf("delete twice: %v", err)
		}
		if err := h.store.UseTOTPStep(h.ctx, uid, 200); !is(err, storage.ErrNotFound) {
			t.Fatalf("use after removal: %v", err)
		}
		if _, err := h.store.BeginTOTP(h.ctx, uid, secret); err != nil {
			t.Fatalf("enrol again after removal: %v", err)
		}
		if err := h.store.DeleteUser(h.ctx, uid); err != nil {
			t.Fatal(err)
		}
		if _, err := h.store.GetTOTP(h.ctx, uid); !is(err, storage.ErrNotFound) {
			t.Fatalf("authenticator outlived its user: %v", err)
		}
	})

	// Two instances accepting the same code at once: one conditional
	// update decides, so exactly one wins.
	t.Run("ConcurrentUseOfOneStep", func(t *testing.T) {
		h := newHarness(t, b)
		uid := h.mfaUser("totp@example.com")
		id, _ := h.store.BeginTOTP(h.ctx, uid, secret)
		if err := h.store.ConfirmTOTP(h.ctx, uid, id, 10); err != nil {
			t.Fatal(err)
		}
		stores := []*storage.Store{h.store, h.open(testSecret), h.open(testSecret), h.open(testSecret)}
		const n = 12
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { errs[i] = stores[i%len(stores)].UseTOTPStep(h.ctx, uid, 11) })
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case is(err, storage.ErrConflict):
			default:
				t.Fatalf("concurrent use: %v", err)
			}
		}
		if won != 1 {
			t.Fatalf("%d requests accepted the same code, want 1", won)
		}
	})
}
