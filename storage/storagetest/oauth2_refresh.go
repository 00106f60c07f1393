package storagetest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/openid"

	"github.com/madfam-org/janua/storage"
)

// pair is an access and a refresh token issued together.
type pair struct{ access, refresh string }

// issue stores a token pair for req, as fosite's token endpoint does.
func (f *oauth2Fixture) issue(req fosite.Requester) pair {
	f.t.Helper()
	p := pair{access: sig(), refresh: sig()}
	if err := f.store.CreateAccessTokenSession(f.ctx, p.access, req); err != nil {
		f.t.Fatal(err)
	}
	if err := f.store.CreateRefreshTokenSession(f.ctx, p.refresh, p.access, req); err != nil {
		f.t.Fatal(err)
	}
	return p
}

// refresh rotates p.refresh and issues the next pair in one transaction, as
// fosite's refresh handler does.
func (f *oauth2Fixture) refresh(req fosite.Requester, p pair) pair {
	f.t.Helper()
	ctx, err := f.store.BeginTX(f.ctx)
	if err != nil {
		f.t.Fatal(err)
	}
	defer func() { _ = f.store.Rollback(ctx) }()
	if err := f.store.RotateRefreshToken(ctx, req.GetID(), p.refresh); err != nil {
		f.t.Fatal(err)
	}
	next := pair{access: sig(), refresh: sig()}
	if err := f.store.CreateAccessTokenSession(ctx, next.access, req); err != nil {
		f.t.Fatal(err)
	}
	if err := f.store.CreateRefreshTokenSession(ctx, next.refresh, next.access, req); err != nil {
		f.t.Fatal(err)
	}
	if err := f.store.Commit(ctx); err != nil {
		f.t.Fatal(err)
	}
	return next
}

// live reports whether both tokens of p work: the access token loads and the
// refresh token loads active.
func (f *oauth2Fixture) live(p pair) (access, refresh error) {
	_, access = f.store.GetAccessTokenSession(f.ctx, p.access, openid.NewDefaultSession())
	_, refresh = f.store.GetRefreshTokenSession(f.ctx, p.refresh, openid.NewDefaultSession())
	return access, refresh
}

func testOAuth2RefreshTokens(t *testing.T, b Backend) {
	t.Run("RotateKeepsTheFamily", func(t *testing.T) {
		f := newOAuth2Fixture(t, b)
		req := f.request("alice")
		first := f.issue(req)
		other := f.issue(f.request("bob"))
		f.clock.Advance(time.Minute)
		second := f.refresh(req, first)

		got, err := f.store.GetRefreshTokenSession(f.ctx, first.refresh, openid.NewDefaultSession())
		if !errors.Is(err, fosite.ErrInactiveToken) {
			t.Fatalf("rotated refresh token: %v, want ErrInactiveToken", err)
		}
		if got == nil || got.GetID() != req.ID || got.GetSession().GetSubject() != "alice" {
			t.Fatalf("rotated refresh token returned %+v, want its request (fosite revokes the family by its ID)", got)
		}
		if _, err := f.store.GetAccessTokenSession(f.ctx, first.access, openid.NewDefaultSession()); !errors.Is(err, fosite.ErrNotFound) {
			t.Fatalf("access token of a rotated refresh token: %v, want ErrNotFound", err)
		}
		if a, r := f.live(second); a != nil || r != nil {
			t.Fatalf("new pair: access %v, refresh %v", a, r)
		}
		next, _ := f.store.GetRefreshTokenSession(f.ctx, second.refresh, openid.NewDefaultSession())
		if next.GetID() != req.ID {
			t.Fatalf("new refresh token in request %q, want the family %q", next.GetID(), req.ID)
		}
		if a, r := f.live(other); a != nil || r != nil {
			t.Fatalf("another family was touched: access %v, refresh %v", a, r)
		}
		var rotatedAt time.Time
		if err := f.raw().QueryRowContext(f.ctx, f.rebind("SELECT rotated_at FROM oauth2_sessions WHERE kind = 'refresh' AND signature = ?"), rowKey(first.refresh)).Scan(&rotatedAt); err != nil {
			t.Fatal(err)
		}
		if !rotatedAt.Equal(f.clock.Now().Truncate(time.Microsecond)) {
			t.Fatalf("rotated_at %v, want %v", rotatedAt, f.clock.Now())
		}
		// Rotating a token that is no longer active is refused.
		if err := f.store.RotateRefreshToken(f.ctx, req.ID, first.refresh); !errors.Is(err, fosite.ErrSerializationFailure) || !is(err, storage.ErrConflict) {
			t.Fatalf("rotate a rotated token: %v, want ErrSerializationFailure", err)
		}
		if err := f.store.RotateRefreshToken(f.ctx, "another-request", second.refresh); !errors.Is(err, fosite.ErrNotFound) {
			t.Fatalf("rotate under another request ID: %v, want ErrNotFound", err)
		}
		// ... and left it as it was: its own request still rotates it.
		if err := f.store.RotateRefreshToken(f.ctx, req.ID, second.refresh); err != nil {
			t.Fatalf("rotate after a refused attempt under another request ID: %v", err)
		}
	})

	t.Run("ConcurrentRefreshesRotateOnce", func(t *testing.T) {
		f := newOAuth2Fixture(t, b)
		req := f.request("alice")
		p := f.issue(req)
		const racers = 6
		errs := make([]error, racers)
		var wg sync.WaitGroup
		for i := range racers {
			wg.Go(func() {
				ctx, err := f.store.BeginTX(f.ctx)
				if err != nil {
					errs[i] = err
					return
				}
				if errs[i] = f.store.RotateRefreshToken(ctx, req.ID, p.refresh); errs[i] == nil {
					errs[i] = f.store.CreateRefreshTokenSession(ctx, sig(), "", req)
				}
				if errs[i] != nil {
					_ = f.store.Rollback(ctx)
					return
				}
				errs[i] = f.store.Commit(ctx)
			})
		}
		wg.Wait()
		wins := 0
		for _, err := range errs {
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, fosite.ErrSerializationFailure):
				t.Fatalf("racer: %v", err)
			}
		}
		if wins != 1 {
			t.Fatalf("%d concurrent refreshes rotated one token, want exactly 1", wins)
		}
	})

	t.Run("RollbackKeepsTheOldToken", func(t *testing.T) {
		f := newOAuth2Fixture(t, b)
		req := f.request("alice")
		p := f.issue(req)
		ctx, err := f.store.BeginTX(f.ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = f.store.Rollback(ctx) }()
		if err := f.store.RotateRefreshToken(ctx, req.ID, p.refresh); err != nil {
			t.Fatal(err)
		}
		next := sig()
		if err := f.store.CreateRefreshTokenSession(ctx, next, "", req); err != nil {
			t.Fatal(err)
		}
		if _, err := f.store.GetRefreshTokenSession(ctx, p.refresh, nil); !errors.Is(err, fosite.ErrInactiveToken) {
			t.Fatalf("inside the transaction the old token is %v, want inactive", err)
		}
		if err := f.store.Rollback(ctx); err != nil {
			t.Fatal(err)
		}
		if a, r := f.live(p); a != nil || r != nil {
			t.Fatalf("after rollback: access %v, refresh %v, want both untouched", a, r)
		}
		if _, err := f.store.GetRefreshTokenSession(f.ctx, next, nil); !errors.Is(err, fosite.ErrNotFound) {
			t.Fatalf("refresh token of a rolled-back rotation: %v", err)
		}
	})

	// A refresh token stored without its access token's key takes every
	// access token of its request with it when it rotates, and none of
	// another request.
	t.Run("RotateWithoutARecordedAccessToken", func(t *testing.T) {
		f := newOAuth2Fixture(t, b)
		req := f.request("alice")
		access1, access2, refresh := sig(), sig(), sig()
		for _, err := range []error{
			f.store.CreateAccessTokenSession(f.ctx, access1, req),
			f.store.CreateAccessTokenSession(f.ctx, access2, req),
			f.store.CreateRefreshTokenSession(f.ctx, refresh, "", req),
		} {
			if err != nil {
				t.Fatal(err)
			}
		}
		other := f.issue(f.request("bob"))
		if err := f.store.RotateRefreshToken(f.ctx, req.ID, refresh); err != nil {
			t.Fatal(err)
		}
		for _, a := range []string{access1, access2} {
			if _, err := f.store.GetAccessTokenSession(f.ctx, a, openid.NewDefaultSession()); !errors.Is(err, fosite.ErrNotFound) {
				t.Fatalf("access token of the rotated request: %v, want ErrNotFound", err)
			}
		}
		if a, r := f.live(other); a != nil || r != nil {
			t.Fatalf("another request's pair: access %v, refresh %v", a, r)
		}
	})

	t.Run("DeleteRefreshToken", func(t *testing.T) {
		f := newOAuth2Fixture(t, b)
		p := f.issue(f.request("alice"))
		if err := f.store.DeleteRefreshTokenSession(f.ctx, p.refresh); err != nil {
			t.Fatal(err)
		}
		if _, err := f.store.GetRefreshTokenSession(f.ctx, p.refresh, nil); !errors.Is(err, fosite.ErrNotFound) {
			t.Fatalf("deleted refresh token: %v", err)
		}
		if err := f.store.DeleteRefreshTokenSession(f.ctx, p.refresh); !errors.Is(err, fosite.ErrNotFound) {
			t.Fatalf("second delete: %v", err)
		}
	})
}

// testOAuth2Revocation covers revocation by request ID: RFC 7009, and what
// fosite does on reuse of a code (RFC 6749 §4.1.2) or a refresh token
// (RFC 9700 §4.14.2).
func testOAuth2Revocation(t *testing.T, b Backend) {
	t.Run("RefreshTokenFamily", func(t *testing.T) {
		f := newOAuth2Fixture(t, b)
		req := f.request("alice")
		first := f.issue(req)
		second := f.refresh(req, first)
		third := f.refresh(req, second)
		other := f.issue(f.request("alice"))

		if err := f.store.RevokeRefreshToken(f.ctx, req.ID); err != nil {
			t.Fatal(err)
		}
		for _, p := range []pair{first, second, third} {
			if _, err := f.store.GetRefreshTokenSession(f.ctx, p.refresh, nil); !errors.Is(err, fosite.ErrInactiveToken) {
				t.Fatalf("refresh token of a revoked family: %v, want ErrInactiveToken", err)
			}
		}
		if a, r := f.live(other); a != nil || r != nil {
			t.Fatalf("another grant of the same user was revoked: access %v, refresh %v", a, r)
		}
		if err := f.store.RevokeRefreshToken(f.ctx, req.ID); err != nil {
			t.Fatalf("revoking again: %v, want nil (RFC 7009 §2.2)", err)
		}
	})

	t.Run("AccessTokensOfARequest", func(t *testing.T) {
		f := newOAuth2Fixture(t, b)
		req := f.request("alice")
		p := f.issue(req)
		extra := sig()
		if err := f.store.CreateAccessTokenSession(f.ctx, extra, req); err != nil {
			t.Fatal(err)
		}
		other := f.issue(f.request("alice"))
		if err := f.store.RevokeAccessToken(f.ctx, req.ID); err != nil {
			t.Fatal(err)
		}
		for _, at := range []string{p.access, extra} {
			if _, err := f.store.GetAccessTokenSession(f.ctx, at, nil); !errors.Is(err, fosite.ErrNotFound) {
				t.Fatalf("access token of a revoked request: %v", err)
			}
		}
		if _, err := f.store.GetRefreshTokenSession(f.ctx, p.refresh, nil); err != nil {
			t.Fatalf("RevokeAccessToken touched the refresh token: %v", err)
		}
		if a, r := f.live(other); a != nil || r != nil {
			t.Fatalf("another request was revoked: access %v, refresh %v", a, r)
		}
		if err := f.store.RevokeAccessToken(f.ctx, "no-such-request"); err != nil {
			t.Fatalf("revoking an unknown request: %v, want nil", err)
		}
	})

	t.Run("CodeReuse", func(t *testing.T) {
		f := newOAuth2Fixture(t, b)
		req, code := f.request("alice"), sig()
		if err := f.store.CreateAuthorizeCodeSession(f.ctx, code, req); err != nil {
			t.Fatal(err)
		}
		_ = f.store.InvalidateAuthorizeCodeSession(f.ctx, code)
		p := f.issue(req)
		// What fosite does when the code comes back.
		used, err := f.store.GetAuthorizeCodeSession(f.ctx, code, openid.NewDefaultSession())
		if !errors.Is(err, fosite.ErrInvalidatedAuthorizeCode) {
			t.Fatal(err)
		}
		if err := f.store.RevokeAccessToken(f.ctx, used.GetID()); err != nil {
			t.Fatal(err)
		}
		if err := f.store.RevokeRefreshToken(f.ctx, used.GetID()); err != nil {
			t.Fatal(err)
		}
		a, r := f.live(p)
		if !errors.Is(a, fosite.ErrNotFound) || !errors.Is(r, fosite.ErrInactiveToken) {
			t.Fatalf("tokens of a reused code: access %v, refresh %v", a, r)
		}
	})
}
