package storagetest

import (
	"testing"
	"time"

	"github.com/madfam-org/janua/storage"
)

// testRevokedTokenIDs covers the revocations of access tokens issued
// without a row (storage/revokedtoken.go): recorded by jti, seen by another
// store on the same database (another instance, or this one restarted),
// idempotent, and collected once the token would have expired.
func testRevokedTokenIDs(t *testing.T, b Backend) {
	h := newHarness(t, b)
	exp := h.clock.Now().Add(time.Hour)
	if revoked, err := h.store.TokenIDRevoked(h.ctx, "jti-1"); err != nil || revoked {
		t.Fatalf("a jti never revoked: %v, %v", revoked, err)
	}
	for range 2 { // again is not an error (RFC 7009 §2.2)
		if err := h.store.RevokeTokenID(h.ctx, "jti-1", "client-a", exp); err != nil {
			t.Fatal(err)
		}
	}
	for name, s := range map[string]*storage.Store{"this store": h.store, "another store": h.open(testSecret)} {
		if r, err := s.TokenIDRevoked(h.ctx, "jti-1"); err != nil || !r {
			t.Fatalf("%s: the revoked jti: %v, %v", name, r, err)
		}
		if r, err := s.TokenIDRevoked(h.ctx, "jti-2"); err != nil || r {
			t.Fatalf("%s: another jti: %v, %v", name, r, err)
		}
	}
	if err := h.store.RevokeTokenID(h.ctx, "", "client-a", exp); err == nil {
		t.Fatal("a revocation without a jti was accepted")
	}

	h.clock.Advance(time.Hour + time.Second)
	res, err := h.store.CollectGarbage(h.ctx, storage.GCOptions{})
	if err != nil || res["revoked_access_tokens"] != 1 {
		t.Fatalf("gc after the token expired: %v %v", res, err)
	}
}
