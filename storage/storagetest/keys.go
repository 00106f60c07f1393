package storagetest

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/madfam-org/janua/storage"
)

func testSigningKeys(t *testing.T, b Backend) {
	t.Run("SealedAtRest", func(t *testing.T) {
		h := newHarness(t, b)
		secretDER := []byte("-----PKCS8 PRIVATE KEY MATERIAL 0123456789-----")
		k := &storage.SigningKey{ID: "k1", Algorithm: "ES256", PublicJWK: json.RawMessage(`{"kty":"EC","kid":"k1"}`), PrivateKey: secretDER}
		if err := h.store.CreateSigningKey(h.ctx, k); err != nil {
			t.Fatal(err)
		}
		var onDisk []byte
		if err := h.raw().QueryRowContext(h.ctx, h.rebind("SELECT private_key FROM signing_keys WHERE id = ?"), "k1").Scan(&onDisk); err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(onDisk, secretDER) || bytes.Contains(onDisk, secretDER[:16]) {
			t.Fatal("private key is stored in clear")
		}
		keys, err := h.store.ListSigningKeys(h.ctx)
		if err != nil || len(keys) != 1 || !bytes.Equal(keys[0].PrivateKey, secretDER) || keys[0].Use != "sig" {
			t.Fatalf("list: %+v %v", keys, err)
		}
		var jwk map[string]any
		if err := json.Unmarshal(keys[0].PublicJWK, &jwk); err != nil || jwk["kid"] != "k1" {
			t.Fatalf("public jwk %s", keys[0].PublicJWK)
		}
		other := h.open([]byte("a different key-encryption secret, also long"))
		if _, err := other.ListSigningKeys(h.ctx); !is(err, storage.ErrUnsealable) {
			t.Fatalf("list with another secret: %v, want ErrUnsealable", err)
		}
	})

	t.Run("SealedValueBoundToRow", func(t *testing.T) {
		h := newHarness(t, b)
		for _, id := range []string{"a", "b"} {
			k := &storage.SigningKey{ID: id, Algorithm: "RS256", PublicJWK: json.RawMessage(`{}`), PrivateKey: []byte("key " + id)}
			if err := h.store.CreateSigningKey(h.ctx, k); err != nil {
				t.Fatal(err)
			}
		}
		db := h.raw()
		if _, err := db.ExecContext(h.ctx, h.rebind("UPDATE signing_keys SET private_key = (SELECT private_key FROM signing_keys WHERE id = ?) WHERE id = ?"), "a", "b"); err != nil {
			t.Fatal(err)
		}
		if _, err := h.store.ListSigningKeys(h.ctx); !is(err, storage.ErrUnsealable) {
			t.Fatalf("a sealed key copied to another row decrypted: %v", err)
		}
	})

	t.Run("RetireAndExpire", func(t *testing.T) {
		h := newHarness(t, b)
		for _, id := range []string{"old", "new"} {
			k := &storage.SigningKey{ID: id, Algorithm: "RS256", PublicJWK: json.RawMessage(`{}`), PrivateKey: []byte(id)}
			if err := h.store.CreateSigningKey(h.ctx, k); err != nil {
				t.Fatal(err)
			}
			h.clock.Advance(time.Minute)
		}
		now := h.clock.Now()
		if err := h.store.RetireSigningKey(h.ctx, "old", now, now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		keys, _ := h.store.ListSigningKeys(h.ctx)
		if len(keys) != 2 || keys[0].ID != "new" || keys[1].RetiredAt == nil || !keys[1].ExpiresAt.Equal(now.Add(time.Hour).Truncate(time.Microsecond)) {
			t.Fatalf("keys after retire: %+v", keys)
		}
		h.clock.Advance(time.Hour + time.Second)
		keys, _ = h.store.ListSigningKeys(h.ctx)
		if len(keys) != 1 || keys[0].ID != "new" {
			t.Fatalf("expired key still listed: %+v", keys)
		}
		if err := h.store.RetireSigningKey(h.ctx, "missing", now, now); !is(err, storage.ErrNotFound) {
			t.Fatalf("retire missing: %v", err)
		}
		dup := &storage.SigningKey{ID: "new", Algorithm: "RS256", PublicJWK: json.RawMessage(`{}`), PrivateKey: []byte("x")}
		if err := h.store.CreateSigningKey(h.ctx, dup); !is(err, storage.ErrAlreadyExists) {
			t.Fatalf("duplicate kid: %v", err)
		}
	})
}
