package storagetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/madfam-org/janua/storage"
)

func backupCodes(prefix string) []string {
	out := make([]string, 10)
	for i := range out {
		out[i] = fmt.Sprintf("%s%05d", prefix, i)
	}
	return out
}

func testBackupCodes(t *testing.T, b Backend) {
	t.Run("KeyedHashesAtRest", func(t *testing.T) {
		h := newHarness(t, b)
		uid := h.mfaUser("codes@example.com")
		codes := backupCodes("abcde")
		if err := h.store.ReplaceBackupCodes(h.ctx, uid, codes); err != nil {
			t.Fatal(err)
		}
		rows, err := h.raw().QueryContext(h.ctx, h.rebind("SELECT code_hash FROM backup_codes WHERE user_id = ?"), uid)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		n := 0
		for rows.Next() {
			var hash []byte
			if err := rows.Scan(&hash); err != nil {
				t.Fatal(err)
			}
			n++
			for _, c := range codes {
				plain := sha256.Sum256([]byte(c))
				if bytes.Contains(hash, []byte(c)) || bytes.Equal(hash, plain[:]) {
					t.Fatalf("code %s is stored in clear or as a plain SHA-256", c)
				}
			}
		}
		if n != 10 {
			t.Fatalf("%d rows, want 10", n)
		}
		// The HMAC key comes from the key-encryption secret: the hashes are
		// useless without it.
		if _, err := h.open([]byte("a different key-encryption secret, also long")).ConsumeBackupCode(h.ctx, uid, codes[0]); !is(err, storage.ErrNotFound) {
			t.Fatalf("consumed under another secret: %v", err)
		}
	})

	t.Run("SingleUseCountRegenerate", func(t *testing.T) {
		h := newHarness(t, b)
		uid, other := h.mfaUser("codes@example.com"), h.mfaUser("other@example.com")
		if n, err := h.store.CountBackupCodes(h.ctx, uid); n != 0 || err != nil {
			t.Fatalf("count before any: %d %v", n, err)
		}
		old := backupCodes("first")
		if err := h.store.ReplaceBackupCodes(h.ctx, uid, old); err != nil {
			t.Fatal(err)
		}
		if err := h.store.ReplaceBackupCodes(h.ctx, other, backupCodes("other")); err != nil {
			t.Fatal(err)
		}
		left, err := h.store.ConsumeBackupCode(h.ctx, uid, old[3])
		if err != nil || left != 9 {
			t.Fatalf("consume: %d %v", left, err)
		}
		if _, err := h.store.ConsumeBackupCode(h.ctx, uid, old[3]); !is(err, storage.ErrNotFound) {
			t.Fatalf("a used code again: %v", err)
		}
		if _, err := h.store.ConsumeBackupCode(h.ctx, other, old[4]); !is(err, storage.ErrNotFound) {
			t.Fatalf("another user's code: %v", err)
		}
		if _, err := h.store.ConsumeBackupCode(h.ctx, uid, "nonsense"); !is(err, storage.ErrNotFound) {
			t.Fatalf("a wrong code: %v", err)
		}
		if n, _ := h.store.CountBackupCodes(h.ctx, uid); n != 9 {
			t.Fatalf("count %d, want 9", n)
		}
		fresh := backupCodes("fresh")
		if err := h.store.ReplaceBackupCodes(h.ctx, uid, fresh); err != nil {
			t.Fatal(err)
		}
		if _, err := h.store.ConsumeBackupCode(h.ctx, uid, old[5]); !is(err, storage.ErrNotFound) {
			t.Fatalf("a code of the replaced set still works: %v", err)
		}
		if n, _ := h.store.CountBackupCodes(h.ctx, uid); n != 10 {
			t.Fatalf("count after regenerating %d, want 10", n)
		}
		if left, err := h.store.ConsumeBackupCode(h.ctx, uid, fresh[9]); err != nil || left != 9 {
			t.Fatalf("a fresh code: %d %v", left, err)
		}
		if n, err := h.store.DeleteBackupCodes(h.ctx, uid); n != 10 || err != nil {
			t.Fatalf("delete: %d %v", n, err)
		}
		if n, _ := h.store.CountBackupCodes(h.ctx, other); n != 10 {
			t.Fatalf("another user's codes changed: %d", n)
		}
	})

	t.Run("ReplaceRollsBackWithTheTransaction", func(t *testing.T) {
		h := newHarness(t, b)
		uid := h.mfaUser("codes@example.com")
		old := backupCodes("first")
		if err := h.store.ReplaceBackupCodes(h.ctx, uid, old); err != nil {
			t.Fatal(err)
		}
		boom := errors.New("boom")
		err := h.store.InTx(h.ctx, func(ctx context.Context) error {
			if err := h.store.ReplaceBackupCodes(ctx, uid, backupCodes("fresh")); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatal(err)
		}
		if left, err := h.store.ConsumeBackupCode(h.ctx, uid, old[0]); err != nil || left != 9 {
			t.Fatalf("the old codes after a rolled-back regeneration: %d %v", left, err)
		}
	})

	t.Run("ConcurrentUseOfOneCode", func(t *testing.T) {
		h := newHarness(t, b)
		uid := h.mfaUser("codes@example.com")
		codes := backupCodes("race")
		if err := h.store.ReplaceBackupCodes(h.ctx, uid, codes); err != nil {
			t.Fatal(err)
		}
		stores := []*storage.Store{h.store, h.open(testSecret), h.open(testSecret), h.open(testSecret)}
		const n = 12
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { _, errs[i] = stores[i%len(stores)].ConsumeBackupCode(h.ctx, uid, codes[0]) })
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case is(err, storage.ErrNotFound):
			default:
				t.Fatalf("concurrent use: %v", err)
			}
		}
		if won != 1 {
			t.Fatalf("%d requests used the same backup code, want 1", won)
		}
	})
}
