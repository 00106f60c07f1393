package storagetest

import (
	"testing"

	"github.com/google/uuid"

	"github.com/madfam-org/janua/storage"
)

// GetFactorEnrolment counts, in one statement, what CountPasskeys,
// TOTPConfirmedAt and CountBackupCodes report one by one: of this user only,
// a pending authenticator app and used backup codes not counted.
func testFactorEnrolment(t *testing.T, b Backend) {
	h := newHarness(t, b)
	u := h.passkeyUser("faith@example.com")
	other := h.passkeyUser("other@example.com")
	enrolment := func(userID string) storage.FactorEnrolment {
		t.Helper()
		before := h.store.Stats().Total()
		e, err := h.store.GetFactorEnrolment(h.ctx, userID)
		if err != nil {
			t.Fatal(err)
		}
		if n := h.store.Stats().Total() - before; n != 1 {
			t.Fatalf("GetFactorEnrolment took %d statements, want 1", n)
		}
		return e
	}
	if e := enrolment(u.ID); e != (storage.FactorEnrolment{}) {
		t.Fatalf("nothing enrolled: %+v", e)
	}
	if err := h.store.CreatePasskey(h.ctx, newPasskey(other.ID, "Other's"), 10); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"Laptop", "Phone"} {
		if err := h.store.CreatePasskey(h.ctx, newPasskey(u.ID, name), 10); err != nil {
			t.Fatal(err)
		}
	}
	id, err := h.store.BeginTOTP(h.ctx, u.ID, []byte("12345678901234567890"))
	if err != nil {
		t.Fatal(err)
	}
	if e := enrolment(u.ID); e != (storage.FactorEnrolment{Passkeys: 2}) {
		t.Fatalf("two passkeys, an authenticator pending: %+v", e)
	}
	if err := h.store.ConfirmTOTP(h.ctx, u.ID, id, 100); err != nil {
		t.Fatal(err)
	}
	codes := backupCodes("faith")
	if err := h.store.ReplaceBackupCodes(h.ctx, u.ID, codes); err != nil {
		t.Fatal(err)
	}
	if _, err := h.store.ConsumeBackupCode(h.ctx, u.ID, codes[0]); err != nil {
		t.Fatal(err)
	}
	if e := enrolment(u.ID); e != (storage.FactorEnrolment{Passkeys: 2, TOTP: true, BackupCodes: 9}) {
		t.Fatalf("everything enrolled, a code used: %+v", e)
	}
	if e := enrolment(other.ID); e != (storage.FactorEnrolment{Passkeys: 1}) {
		t.Fatalf("the other user: %+v", e)
	}
	if e, err := h.store.GetFactorEnrolment(h.ctx, uuid.NewString()); err != nil || e != (storage.FactorEnrolment{}) {
		t.Fatalf("no such user: %+v %v", e, err)
	}
}
