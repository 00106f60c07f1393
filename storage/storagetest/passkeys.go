package storagetest

import (
	"bytes"
	"crypto/rand"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/madfam-org/janua/storage"
)

// newPasskey is a passkey of userID with a random credential ID.
func newPasskey(userID, name string) *storage.Passkey {
	id := make([]byte, 32)
	_, _ = rand.Read(id)
	return &storage.Passkey{UserID: userID, CredentialID: id, PublicKey: []byte{0xa5, 0x01, 0x02, 0x03, 0x26},
		AttestationType: "self", AttestationFormat: "packed", AAGUID: bytes.Repeat([]byte{7}, 16),
		Attestation: storage.PasskeyAttestation{ClientDataJSON: []byte(`{"type":"webauthn.create"}`), AuthenticatorData: []byte{1, 2, 3},
			PublicKeyAlgorithm: -7, Object: []byte{0xa3}},
		SignCount: 1, Transports: []string{"internal", "hybrid"}, Attachment: "platform",
		UserPresent: true, UserVerified: true, BackupEligible: true, Name: name}
}

// passkeyUser creates a user with a user handle.
func (h *harness) passkeyUser(email string) *storage.User {
	h.t.Helper()
	u := newUser(email)
	if err := h.store.CreateUser(h.ctx, u, ""); err != nil {
		h.t.Fatal(err)
	}
	if _, err := h.store.PasskeyUserHandle(h.ctx, u.ID); err != nil {
		h.t.Fatal(err)
	}
	return u
}

func testPasskeys(t *testing.T, b Backend) {
	t.Run("UserHandleIsStableRandomAndUnique", func(t *testing.T) {
		h := newHarness(t, b)
		a, c := newUser("a@example.com"), newUser("c@example.com")
		for _, u := range []*storage.User{a, c} {
			if err := h.store.CreateUser(h.ctx, u, ""); err != nil {
				t.Fatal(err)
			}
		}
		// Concurrent first uses agree on one handle.
		handles := make([][]byte, 8)
		var wg sync.WaitGroup
		for i := range handles {
			wg.Add(1)
			go func() {
				defer wg.Done()
				hd, err := h.store.PasskeyUserHandle(h.ctx, a.ID)
				if err != nil {
					t.Error(err)
				}
				handles[i] = hd
			}()
		}
		wg.Wait()
		for _, hd := range handles {
			if len(hd) != storage.PasskeyUserHandleSize || !bytes.Equal(hd, handles[0]) {
				t.Fatalf("handles %x", handles)
			}
		}
		if bytes.Contains(handles[0], []byte(a.ID)) || bytes.Contains(handles[0], []byte("a@example.com")) {
			t.Fatal("the user handle carries the user's ID or email")
		}
		other, err := h.store.PasskeyUserHandle(h.ctx, c.ID)
		if err != nil || bytes.Equal(other, handles[0]) {
			t.Fatalf("second user's handle %x (%v)", other, err)
		}
		if id, err := h.store.UserIDByPasskeyHandle(h.ctx, handles[0]); err != nil || id != a.ID {
			t.Fatalf("by handle: %q %v", id, err)
		}
		for _, bad := range [][]byte{nil, make([]byte, 32), make([]byte, 65)} {
			if _, err := h.store.UserIDByPasskeyHandle(h.ctx, bad); !is(err, storage.ErrNotFound) {
				t.Errorf("handle %x: %v", bad, err)
			}
		}
		for _, id := range []string{uuid.NewString(), "nope"} {
			if _, err := h.store.PasskeyUserHandle(h.ctx, id); !is(err, storage.ErrNotFound) {
				t.Errorf("handle of missing user %q: %v", id, err)
			}
		}
	})

	t.Run("CreateListGet", func(t *testing.T) {
		h := newHarness(t, b)
		u := h.passkeyUser("ana@example.com")
		first := newPasskey(u.ID, "Laptop")
		if err := h.store.CreatePasskey(h.ctx, first, 10); err != nil {
			t.Fatal(err)
		}
		if _, err := uuid.Parse(first.ID); err != nil || !first.CreatedAt.Equal(h.clock.Now().Truncate(time.Microsecond)) {
			t.Fatalf("created %+v", first)
		}
		h.clock.Advance(time.Second)
		second := newPasskey(u.ID, "Phone")
		second.BackupEligible, second.BackupState, second.SignCount, second.Transports = false, false, 0, nil
		if err := h.store.CreatePasskey(h.ctx, second, 10); err != nil {
			t.Fatal(err)
		}
		got, err := h.store.GetPasskeyByCredentialID(h.ctx, first.CredentialID)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, first) {
			t.Fatalf("read back\n%+v\nwant\n%+v", got, first)
		}
		list, err := h.store.ListPasskeys(h.ctx, u.ID)
		if err != nil || len(list) != 2 || list[0].ID != first.ID || list[1].ID != second.ID || list[1].Name != "Phone" ||
			list[1].BackupEligible || list[1].SignCount != 0 || len(list[1].Transports) != 0 || list[1].Transports == nil {
			t.Fatalf("list %+v %v", list, err)
		}
		if n, err := h.store.CountPasskeys(h.ctx, u.ID); err != nil || n != 2 {
			t.Fatalf("count %d %v", n, err)
		}
		// A credential ID is registered once, whoever registers it.
		other := h.passkeyUser("other@example.com")
		dup := newPasskey(other.ID, "Copy")
		dup.CredentialID = first.CredentialID
		if err := h.store.CreatePasskey(h.ctx, dup, 10); !is(err, storage.ErrAlreadyExists) {
			t.Fatalf("duplicate credential ID: %v", err)
		}
		for _, id := range [][]byte{{1, 2, 3}, nil, make([]byte, 1024)} {
			if _, err := h.store.GetPasskeyByCredentialID(h.ctx, id); !is(err, storage.ErrNotFound) {
				t.Errorf("unknown credential %x: %v", id, err)
			}
		}
		// A user without a handle (so no registration begun) cannot get one.
		bare := newUser("bare@example.com")
		if err := h.store.CreateUser(h.ctx, bare, ""); err != nil {
			t.Fatal(err)
		}
		if err := h.store.CreatePasskey(h.ctx, newPasskey(bare.ID, "x"), 10); !is(err, storage.ErrNotFound) {
			t.Fatalf("without a user handle: %v", err)
		}
		// Deleting the user deletes their passkeys and handle.
		if err := h.store.DeleteUser(h.ctx, u.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := h.store.GetPasskeyByCredentialID(h.ctx, first.CredentialID); !is(err, storage.ErrNotFound) {
			t.Fatalf("passkey outlived its user: %v", err)
		}
	})

	t.Run("LimitPerUserIsAtomic", func(t *testing.T) {
		h := newHarness(t, b)
		u := h.passkeyUser("ana@example.com")
		const limit = 3
		var ok, refused atomic.Int32
		var wg sync.WaitGroup
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				switch err := h.store.CreatePasskey(h.ctx, newPasskey(u.ID, "k"), limit); {
				case err == nil:
					ok.Add(1)
				case is(err, storage.ErrPasskeyLimit) && is(err, storage.ErrConflict):
					refused.Add(1)
				default:
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if n, _ := h.store.CountPasskeys(h.ctx, u.ID); ok.Load() != limit || refused.Load() != 8-limit || n != limit {
			t.Fatalf("%d created, %d refused, %d stored; want %d", ok.Load(), refused.Load(), n, limit)
		}
		// The limit is per user.
		if err := h.store.CreatePasskey(h.ctx, newPasskey(h.passkeyUser("b@example.com").ID, "k"), limit); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("RenameAndDeleteOnlyYourOwn", func(t *testing.T) {
		h := newHarness(t, b)
		u, mallory := h.passkeyUser("ana@example.com"), h.passkeyUser("mallory@example.com")
		pk := newPasskey(u.ID, "Laptop")
		if err := h.store.CreatePasskey(h.ctx, pk, 0); err != nil {
			t.Fatal(err)
		}
		if err := h.store.RenamePasskey(h.ctx, mallory.ID, pk.ID, "mine"); !is(err, storage.ErrNotFound) {
			t.Fatalf("rename by another user: %v", err)
		}
		if _, err := h.store.DeletePasskey(h.ctx, mallory.ID, pk.ID); !is(err, storage.ErrNotFound) {
			t.Fatalf("delete by another user: %v", err)
		}
		for _, id := range []string{"", "nope", uuid.NewString()} {
			if err := h.store.RenamePasskey(h.ctx, u.ID, id, "x"); !is(err, storage.ErrNotFound) {
				t.Errorf("rename %q: %v", id, err)
			}
		}
		if err := h.store.RenamePasskey(h.ctx, u.ID, pk.ID, "Work laptop"); err != nil {
			t.Fatal(err)
		}
		gone, err := h.store.DeletePasskey(h.ctx, u.ID, pk.ID)
		if err != nil || gone.Name != "Work laptop" || !bytes.Equal(gone.CredentialID, pk.CredentialID) {
			t.Fatalf("delete: %+v %v", gone, err)
		}
		if _, err := h.store.DeletePasskey(h.ctx, u.ID, pk.ID); !is(err, storage.ErrNotFound) {
			t.Fatalf("second delete: %v", err)
		}
	})

	t.Run("UseMovesTheCounterForwardOnly", func(t *testing.T) {
		h := newHarness(t, b)
		u := h.passkeyUser("ana@example.com")
		pk := newPasskey(u.ID, "Key")
		pk.SignCount, pk.BackupState = 5, false
		if err := h.store.CreatePasskey(h.ctx, pk, 0); err != nil {
			t.Fatal(err)
		}
		read := func() storage.Passkey {
			t.Helper()
			got, err := h.store.GetPasskeyByCredentialID(h.ctx, pk.CredentialID)
			if err != nil {
				t.Fatal(err)
			}
			return *got
		}
		h.clock.Advance(time.Minute)
		if err := h.store.UsePasskey(h.ctx, pk.ID, storage.PasskeyUse{SignCount: 6, BackupEligible: true, BackupState: true}); err != nil {
			t.Fatal(err)
		}
		if got := read(); got.SignCount != 6 || !got.BackupState || got.LastUsedAt == nil || !got.LastUsedAt.Equal(h.clock.Now().Truncate(time.Microsecond)) {
			t.Fatalf("after use: %+v", got)
		}
		for _, n := range []uint32{6, 3, 0} { // equal, lower, reset: a clone or a replay
			if err := h.store.UsePasskey(h.ctx, pk.ID, storage.PasskeyUse{SignCount: n, BackupEligible: true}); !is(err, storage.ErrConflict) {
				t.Errorf("count %d after 6: %v", n, err)
			}
		}
		if got := read(); got.SignCount != 6 || !got.BackupState {
			t.Fatalf("a refused use changed the record: %+v", got)
		}
		// Two uses racing with the same count: exactly one is recorded.
		var won atomic.Int32
		var wg sync.WaitGroup
		for i := 0; i < 6; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := h.store.UsePasskey(h.ctx, pk.ID, storage.PasskeyUse{SignCount: 9, BackupEligible: true})
				if err == nil {
					won.Add(1)
				} else if !is(err, storage.ErrConflict) {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if won.Load() != 1 || read().SignCount != 9 {
			t.Fatalf("%d concurrent uses recorded", won.Load())
		}
		// An authenticator without a counter reports 0 every time.
		zero := newPasskey(u.ID, "Synced")
		zero.SignCount = 0
		if err := h.store.CreatePasskey(h.ctx, zero, 0); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 2; i++ {
			if err := h.store.UsePasskey(h.ctx, zero.ID, storage.PasskeyUse{SignCount: 0, BackupEligible: true, BackupState: true}); err != nil {
				t.Fatalf("zero counter use %d: %v", i, err)
			}
		}
		for _, id := range []string{uuid.NewString(), "nope"} {
			if err := h.store.UsePasskey(h.ctx, id, storage.PasskeyUse{SignCount: 1}); !is(err, storage.ErrNotFound) {
				t.Errorf("use %q: %v", id, err)
			}
		}
	})
}
