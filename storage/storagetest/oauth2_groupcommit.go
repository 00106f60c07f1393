package storagetest

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/ory/fosite/handler/openid"

	"github.com/madfam-org/janua/storage"
)

// testOAuth2GroupCommit covers the group commit of rows written outside a
// transaction (storage/groupcommit.go): concurrent grants share commits,
// every caller returns only once its own row is readable, and one bad row
// fails only its own caller.
func testOAuth2GroupCommit(t *testing.T, b Backend) {
	// concurrently creates one access token per request at the same
	// instant and returns the signatures and errors.
	concurrently := func(f *oauth2Fixture, reqs []func() error) []error {
		errs := make([]error, len(reqs))
		var start, done sync.WaitGroup
		start.Add(1)
		for i, fn := range reqs {
			done.Add(1)
			go func() {
				defer done.Done()
				start.Wait()
				errs[i] = fn()
			}()
		}
		start.Done()
		done.Wait()
		return errs
	}

	t.Run("SharedCommits", func(t *testing.T) {
		f := newOAuth2Fixture(t, b)
		const n = 32
		// Batching depends on timing: three rounds of 32 simultaneous
		// grants must share at least one commit, and every row must be
		// there each time.
		grouped := false
		for range 3 {
			sigs := make([]string, n)
			reqs := make([]func() error, n)
			for i := range reqs {
				sigs[i] = sig()
				req := f.request("alice")
				reqs[i] = func() error { return f.store.CreateAccessTokenSession(f.ctx, sigs[i], req) }
			}
			before := f.store.Stats().Of(storage.StatementCreate)
			for i, err := range concurrently(f, reqs) {
				if err != nil {
					t.Fatalf("grant %d: %v", i, err)
				}
			}
			if f.store.Stats().Of(storage.StatementCreate)-before < n {
				grouped = true
			}
			for i, s := range sigs {
				if _, err := f.store.GetAccessTokenSession(f.ctx, s, openid.NewDefaultSession()); err != nil {
					t.Fatalf("token %d after its grant returned: %v", i, err)
				}
			}
		}
		if !grouped {
			t.Fatalf("96 simultaneous grants took 96 INSERTs: no commit was shared")
		}
	})

	t.Run("OneBadRowFailsAlone", func(t *testing.T) {
		f := newOAuth2Fixture(t, b)
		ghost := newClient("ghost") // never stored: its row fails the foreign key
		dup := sig()
		var reqs []func() error
		for range 8 {
			s, req := sig(), f.request("alice")
			reqs = append(reqs, func() error { return f.store.CreateAccessTokenSession(f.ctx, s, req) })
		}
		bad := f.request("alice")
		bad.Client = storage.NewFositeClient(ghost)
		reqs = append(reqs, func() error { return f.store.CreateAccessTokenSession(f.ctx, sig(), bad) })
		for range 2 {
			req := f.request("alice")
			reqs = append(reqs, func() error { return f.store.CreateAccessTokenSession(f.ctx, dup, req) })
		}
		errs := concurrently(f, reqs)
		for i, err := range errs[:8] {
			if err != nil {
				t.Fatalf("good grant %d failed beside a bad one: %v", i, err)
			}
		}
		if errs[8] == nil {
			t.Fatal("a token of an unknown client was stored")
		}
		if d1, d2 := errs[9], errs[10]; (d1 == nil) == (d2 == nil) || !is(errors.Join(d1, d2), storage.ErrAlreadyExists) {
			t.Fatalf("two tokens with one signature: %v, %v; want one stored, one ErrAlreadyExists", d1, d2)
		}
	})

	t.Run("CancelledAndClosed", func(t *testing.T) {
		f := newOAuth2Fixture(t, b)
		ctx, cancel := context.WithCancel(f.ctx)
		cancel()
		s := sig()
		if err := f.store.CreateAccessTokenSession(ctx, s, f.request("alice")); err == nil {
			t.Fatal("a grant whose request was cancelled reported success")
		}
		other := f.open(testSecret)
		if err := other.CreateAccessTokenSession(f.ctx, sig(), f.request("alice")); err != nil {
			t.Fatal(err)
		}
		if err := other.Close(); err != nil {
			t.Fatal(err)
		}
		if err := other.CreateAccessTokenSession(f.ctx, sig(), f.request("alice")); err == nil {
			t.Fatal("a closed store reported a grant stored")
		}
	})
}

// testOAuth2ClientResolver: with ResolveClientsWith, a token read takes
// its client from the resolver (a cache) in one statement without the
// join, and a client the resolver does not know makes the token unknown,
// as the join did.
func testOAuth2ClientResolver(t *testing.T, b Backend) {
	f := newOAuth2Fixture(t, b)
	at := sig()
	if err := f.store.CreateAccessTokenSession(f.ctx, at, f.request("alice")); err != nil {
		t.Fatal(err)
	}
	cached := *f.client
	cached.Name = "from the cache"
	known := true
	var asked []string
	f.store.ResolveClientsWith(func(_ context.Context, id string) (*storage.Client, error) {
		asked = append(asked, id)
		if !known {
			return nil, storage.ErrNotFound
		}
		return &cached, nil
	})
	before := f.store.Stats().Total()
	got, err := f.store.GetAccessTokenSession(f.ctx, at, openid.NewDefaultSession())
	if err != nil {
		t.Fatal(err)
	}
	fc, ok := got.GetClient().(*storage.FositeClient)
	if !ok || fc.Client.Name != "from the cache" || fc.Client.ID != f.client.ID || len(asked) != 1 || asked[0] != f.client.ID {
		t.Fatalf("client %+v, resolver asked for %v", got.GetClient(), asked)
	}
	if n := f.store.Stats().Total() - before; n != 1 {
		t.Fatalf("%d statements for a token read", n)
	}
	fc.Client.Name = "changed by a caller"
	if cached.Name != "from the cache" {
		t.Fatal("a caller changed the resolver's shared client")
	}
	known = false
	if _, err := f.store.GetAccessTokenSession(f.ctx, at, openid.NewDefaultSession()); !is(err, storage.ErrNotFound) {
		t.Fatalf("token of a client the resolver does not know: %v, want ErrNotFound", err)
	}
}
