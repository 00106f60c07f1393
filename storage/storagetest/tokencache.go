package storagetest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/openid"

	"github.com/madfam-org/janua/storage"
)

// Two instances over one database, each caching access tokens
// (Store.CacheAccessTokens) and sharing a hot state: a token read twice is
// read from the database once, and every way a token is deleted on one
// instance makes it unknown on the other (after the broadcast) and on the
// deleting one (at once), including a deletion committed while a read of
// the old row was under way.
func testOAuth2AccessTokenCache(t *testing.T, b Backend) {
	f := newOAuth2Fixture(t, b)
	hot := storage.NewMemoryHotState(storage.MemoryHotStateOptions{})
	t.Cleanup(func() { _ = hot.Close() })
	ctx, cancel := context.WithCancel(f.ctx)
	t.Cleanup(cancel)
	one, two := f.store, f.open(testSecret)
	for _, s := range []*storage.Store{one, two} {
		s.ResolveClientsWith(memoClients(s))
		if err := s.CacheAccessTokens(ctx, hot); err != nil {
			t.Fatal(err)
		}
	}
	get := func(s *storage.Store, sig string) (fosite.Requester, error) {
		return s.GetAccessTokenSession(f.ctx, sig, openid.NewDefaultSession())
	}
	// gone waits for the other instance to hear of a deletion.
	gone := func(s *storage.Store, sig, what string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			_, err := get(s, sig)
			if errors.Is(err, fosite.ErrNotFound) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: the other instance still reads the token 5 s later: %v", what, err)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	issue := func(subject string) (*fosite.Request, string) {
		t.Helper()
		req, at := f.request(subject), sig()
		if err := one.CreateAccessTokenSession(f.ctx, at, req); err != nil {
			t.Fatal(err)
		}
		for _, s := range []*storage.Store{one, two} {
			if _, err := get(s, at); err != nil {
				t.Fatal(err)
			}
		}
		return req, at
	}

	// Read twice: the second read sends no statement, and what a caller
	// does to its copy does not reach the next.
	req, at := issue("alice")
	before := two.Stats().Total()
	got, err := get(two, at)
	if err != nil {
		t.Fatal(err)
	}
	if n := two.Stats().Total() - before; n != 0 {
		t.Fatalf("a cached access token took %d statements", n)
	}
	if got.GetID() != req.ID || !got.GetGrantedScopes().Has("openid", "offline_access") ||
		got.GetSession().(*openid.DefaultSession).Subject != "alice" {
		t.Fatalf("cached access token %+v, want %+v", got, req)
	}
	got.(*fosite.Request).GrantedScope[0] = "changed"
	got.GetRequestForm().Set("state", "changed")
	if again, err := get(two, at); err != nil || again.GetGrantedScopes()[0] != "openid" || again.GetRequestForm().Get("state") != "state-xyz-123" {
		t.Fatalf("a caller's change reached the cache: %v %v", err, again)
	}

	// Deleted by signature.
	if err := one.DeleteAccessTokenSession(f.ctx, at); err != nil {
		t.Fatal(err)
	}
	if _, err := get(one, at); !errors.Is(err, fosite.ErrNotFound) {
		t.Fatalf("the deleting instance still reads the token: %v", err)
	}
	gone(two, at, "DeleteAccessTokenSession")

	// Revoked by request (RFC 7009 §2.1).
	req, at = issue("alice")
	if err := one.RevokeAccessToken(f.ctx, req.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := get(one, at); !errors.Is(err, fosite.ErrNotFound) {
		t.Fatalf("revoked, the revoking instance still reads the token: %v", err)
	}
	gone(two, at, "RevokeAccessToken")

	// Rotated away with the refresh token issued with it.
	req, at = issue("alice")
	rt := sig()
	if err := one.CreateRefreshTokenSession(f.ctx, rt, at, req); err != nil {
		t.Fatal(err)
	}
	if err := one.RotateRefreshToken(f.ctx, req.ID, rt); err != nil {
		t.Fatal(err)
	}
	gone(two, at, "RotateRefreshToken")

	// Every token of a user (a password reset).
	user := "8b7f3c2e-5d41-4a7b-9c3e-2f1a6b0d9e57"
	_, at = issue(user)
	if _, err := one.RevokeUserOAuth2Tokens(f.ctx, user); err != nil {
		t.Fatal(err)
	}
	gone(two, at, "RevokeUserOAuth2Tokens")

	// A read that runs while a revocation is open, and sees the row the
	// revocation has not yet committed, keeps it only until the commit.
	req, at = issue("alice")
	tx, err := one.BeginTX(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := one.RevokeAccessToken(tx, req.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := get(one, at); err != nil {
		t.Fatalf("read beside an open revocation: %v, want the committed row", err)
	}
	if err := one.Commit(tx); err != nil {
		t.Fatal(err)
	}
	if _, err := get(one, at); !errors.Is(err, fosite.ErrNotFound) {
		t.Fatalf("a row read before the revocation committed outlived it: %v", err)
	}
	gone(two, at, "a revocation in a transaction")

	// Nothing is kept once the cache's context ends.
	cancel()
	_, at = issue("alice")
	deadline := time.Now().Add(5 * time.Second)
	for {
		before := two.Stats().Total()
		if _, err := get(two, at); err != nil {
			t.Fatal(err)
		}
		if two.Stats().Total() > before {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the cache still answers after its context ended")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// memoClients resolves clients from s, each read once, as the oidc
// package's client cache does.
func memoClients(s *storage.Store) storage.ClientResolver {
	var mu sync.Mutex
	seen := map[string]*storage.Client{}
	return func(ctx context.Context, id string) (*storage.Client, error) {
		mu.Lock()
		defer mu.Unlock()
		if c, ok := seen[id]; ok {
			return c, nil
		}
		c, err := s.GetClient(ctx, id)
		if err != nil {
			return nil, err
		}
		seen[id] = c
		return c, nil
	}
}
