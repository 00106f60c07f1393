package storagetest

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/openid"

	"github.com/madfam-org/janua/storage"
)

// testOAuth2Batching covers the statements fosite's requests cost: the rows
// a transaction creates are written in one INSERT at its commit (and
// before any other statement about OAuth 2.0 rows in it), and a code memo
// reads an authorization code's rows in one query.
func testOAuth2Batching(t *testing.T, b Backend) {
	t.Run("TransactionWritesItsTokensInOneInsert", func(t *testing.T) {
		f := newOAuth2Fixture(t, b)
		req := f.request("alice")
		first := f.issue(req)
		before := f.store.Stats()
		second := f.refresh(req, first) // rotate, create access, create refresh, commit
		after := f.store.Stats()
		if f.store.Dialect() == storage.Postgres {
			// The rotation waits for the commit too, which sends it with
			// the rows as one statement (oauth2_rotate.go).
			if n := after.Total() - before.Total(); n != 1 {
				t.Fatalf("a refresh's transaction took %d statements on PostgreSQL, want 1", n)
			}
		} else if n := after.Of(storage.StatementCreate) - before.Of(storage.StatementCreate); n != 1 {
			t.Fatalf("a refresh's transaction took %d INSERTs, want 1", n)
		}
		if a, r := f.live(second); a != nil || r != nil {
			t.Fatalf("new pair: access %v, refresh %v", a, r)
		}
	})

	t.Run("TransactionReadsItsOwnRows", func(t *testing.T) {
		f := newOAuth2Fixture(t, b)
		req := f.request("alice")
		ctx, err := f.store.BeginTX(f.ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = f.store.Rollback(ctx) }()
		access := sig()
		if err := f.store.CreateAccessTokenSession(ctx, access, req); err != nil {
			t.Fatal(err)
		}
		if _, err := f.store.GetAccessTokenSession(ctx, access, openid.NewDefaultSession()); err != nil {
			t.Fatalf("inside its transaction a new access token is %v, want it", err)
		}
		if err := f.store.Rollback(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := f.store.GetAccessTokenSession(f.ctx, access, openid.NewDefaultSession()); !errors.Is(err, fosite.ErrNotFound) {
			t.Fatalf("access token of a rolled-back transaction: %v, want ErrNotFound", err)
		}
	})

	t.Run("FailedInsertFailsTheCommit", func(t *testing.T) {
		f := newOAuth2Fixture(t, b)
		req := f.request("alice")
		p, other := f.issue(req), f.issue(f.request("bob"))
		ctx, err := f.store.BeginTX(f.ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = f.store.Rollback(ctx) }()
		if err := f.store.RotateRefreshToken(ctx, req.ID, p.refresh); err != nil {
			t.Fatal(err)
		}
		// A signature already stored: the deferred INSERT fails.
		if err := f.store.CreateAccessTokenSession(ctx, other.access, req); err != nil {
			t.Fatalf("create waits for the commit, got %v", err)
		}
		if err := f.store.Commit(ctx); err == nil {
			t.Fatal("commit with a duplicate token succeeded")
		}
		if a, r := f.live(p); a != nil || r != nil {
			t.Fatalf("after the failed commit: access %v, refresh %v, want the rotation undone", a, r)
		}
	})

	// A rotation that fails ends its transaction: it waits for the first
	// statement that needs the transaction, that statement fails and so
	// does the commit, and nothing written in the transaction is kept.
	t.Run("AFailedRotationCommitsNothing", func(t *testing.T) {
		f := newOAuth2Fixture(t, b)
		req := f.request("alice")
		ctx, err := f.store.BeginTX(f.ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = f.store.Rollback(ctx) }()
		rotErr := f.store.RotateRefreshToken(ctx, req.ID, sig()) // no such token
		if rotErr != nil {
			t.Fatalf("the rotation waits for the transaction: %v", rotErr)
		}
		at := sig()
		if err := f.store.CreateAccessTokenSession(ctx, at, req); err != nil {
			t.Fatal(err)
		}
		if _, err := f.store.GetAccessTokenSession(ctx, at, openid.NewDefaultSession()); !errors.Is(err, fosite.ErrNotFound) {
			t.Fatalf("the statement that ran the failed rotation: %v, want its ErrNotFound", err)
		}
		if err := f.store.Commit(ctx); err == nil {
			t.Fatal("committed a transaction whose rotation failed")
		}
		if _, err := f.store.GetAccessTokenSession(f.ctx, at, openid.NewDefaultSession()); !errors.Is(err, fosite.ErrNotFound) {
			t.Fatalf("a token of the failed transaction: %v, want ErrNotFound", err)
		}
	})

	// Codes redeemed at once, each by two racing transactions: their work
	// waits for the commit, where on SQLite one transaction of the group
	// commit may carry several of them. Each code is redeemed exactly
	// once, and each transaction gets its own answer: the winner's token
	// is stored, the loser's is not and it hears that its code was used.
	t.Run("ConcurrentRedemptionsAnswerEachTheirOwn", func(t *testing.T) {
		f := newOAuth2Fixture(t, b)
		const codes = 6
		type try struct {
			code, access string
			req          fosite.Requester
			err          error
		}
		tries := make([]try, 2*codes)
		for i := range codes {
			req, code := f.request("alice"), sig()
			if err := f.store.CreateAuthorizeCodeSession(f.ctx, code, req); err != nil {
				t.Fatal(err)
			}
			tries[2*i] = try{code: code, access: sig(), req: req}
			tries[2*i+1] = try{code: code, access: sig(), req: req}
		}
		var wg sync.WaitGroup
		for i := range tries {
			wg.Go(func() {
				tr := &tries[i]
				ctx, err := f.store.BeginTX(f.ctx)
				if err != nil {
					tr.err = err
					return
				}
				defer func() { _ = f.store.Rollback(ctx) }()
				if tr.err = f.store.InvalidateAuthorizeCodeSession(ctx, tr.code); tr.err != nil {
					return
				}
				if tr.err = f.store.CreateAccessTokenSession(ctx, tr.access, tr.req); tr.err != nil {
					return
				}
				tr.err = f.store.Commit(ctx)
			})
		}
		wg.Wait()
		for i := 0; i < len(tries); i += 2 {
			pair := tries[i : i+2]
			won := 0
			for _, tr := range pair {
				_, gerr := f.store.GetAccessTokenSession(f.ctx, tr.access, openid.NewDefaultSession())
				switch {
				case tr.err == nil:
					won++
					if gerr != nil {
						t.Errorf("code %d: the winner's access token: %v", i/2, gerr)
					}
				case errors.Is(tr.err, fosite.ErrInvalidatedAuthorizeCode):
					if !errors.Is(gerr, fosite.ErrNotFound) {
						t.Errorf("code %d: the loser's access token: %v, want ErrNotFound", i/2, gerr)
					}
				default:
					t.Errorf("code %d: a redemption failed with %v", i/2, tr.err)
				}
			}
			if won != 1 {
				t.Errorf("code %d was redeemed %d times, want once", i/2, won)
			}
		}
	})

	// The same rotation with nothing read before the commit: the commit
	// runs it (on PostgreSQL in one statement with the rows, on SQLite in
	// the group commit's transaction), fails with its error, and writes
	// none of the transaction's rows.
	t.Run("AFailedRotationAtTheCommitWritesNothing", func(t *testing.T) {
		f := newOAuth2Fixture(t, b)
		req := f.request("alice")
		ctx, err := f.store.BeginTX(f.ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = f.store.Rollback(ctx) }()
		if err := f.store.RotateRefreshToken(ctx, req.ID, sig()); err != nil { // no such token
			t.Fatalf("the rotation waits for the commit: %v", err)
		}
		at := sig()
		if err := f.store.CreateAccessTokenSession(ctx, at, req); err != nil {
			t.Fatal(err)
		}
		if err := f.store.Commit(ctx); !errors.Is(err, fosite.ErrNotFound) {
			t.Fatalf("commit of a transaction whose rotation failed: %v, want ErrNotFound", err)
		}
		if _, err := f.store.GetAccessTokenSession(f.ctx, at, openid.NewDefaultSession()); !errors.Is(err, fosite.ErrNotFound) {
			t.Fatalf("a token of the failed transaction: %v, want ErrNotFound", err)
		}
	})

	// With the join of the clients table, and with clients from a resolver
	// (a cache), as the server reads them.
	for _, resolved := range []bool{false, true} {
		name := "CodeMemoReadsTheFamilyOnce"
		if resolved {
			name += "WithResolvedClients"
		}
		t.Run(name, func(t *testing.T) {
			f := newOAuth2Fixture(t, b)
			if resolved {
				r := memoClients(f.store)
				if _, err := r(f.ctx, f.client.ID); err != nil { // warm, as the server's cache is
					t.Fatal(err)
				}
				f.store.ResolveClientsWith(r)
			}
			req, code, signature := f.request("alice"), "code-"+randomHex(16), sig()
			other, otherSig := f.request("bob"), sig()
			for _, err := range []error{
				f.store.CreateAuthorizeCodeSession(f.ctx, signature, req),
				f.store.CreatePKCERequestSession(f.ctx, signature, req),
				f.store.CreateOpenIDConnectSession(f.ctx, code, req),
				f.store.CreateAuthorizeCodeSession(f.ctx, otherSig, other), // no PKCE, no OpenID Connect
			} {
				if err != nil {
					t.Fatal(err)
				}
			}
			ctx := storage.WithCodeMemo(f.ctx)
			before := f.store.Stats()
			reads := f.codeReads(ctx, signature, code)
			// The code twice, as fosite reads it.
			for i, get := range []func() (fosite.Requester, error){reads[0], reads[1], reads[0], reads[2]} {
				got, err := get()
				if err != nil || got.GetID() != req.ID || got.GetSession().GetSubject() != "alice" || got.GetClient().GetID() != "rp" {
					t.Fatalf("read %d: %+v, %v", i, got, err)
				}
				if got.GetRequestForm().Get("code_challenge") == "" || !got.GetGrantedScopes().Has("openid") {
					t.Fatalf("read %d lost the request: %+v", i, got)
				}
			}
			if n := f.store.Stats().Total() - before.Total(); n != 1 {
				t.Fatalf("four reads of one code's rows took %d statements, want 1", n)
			}
			// Another code in the same context: its own rows, and no PKCE row.
			if got, err := f.store.GetAuthorizeCodeSession(ctx, otherSig, openid.NewDefaultSession()); err != nil || got.GetID() != other.ID {
				t.Fatalf("the other code: %+v, %v", got, err)
			}
			if _, err := f.store.GetPKCERequestSession(ctx, otherSig, openid.NewDefaultSession()); !errors.Is(err, fosite.ErrNotFound) {
				t.Fatalf("PKCE of a code without one: %v, want ErrNotFound", err)
			}
			if n := f.store.Stats().Total() - before.Total(); n != 2 {
				t.Fatalf("the second code took %d statements in all, want 2", n)
			}
			// A write goes past the memo: the code reads as used at once.
			if err := f.store.InvalidateAuthorizeCodeSession(ctx, signature); err != nil {
				t.Fatal(err)
			}
			if got, err := f.store.GetAuthorizeCodeSession(ctx, signature, openid.NewDefaultSession()); !errors.Is(err, fosite.ErrInvalidatedAuthorizeCode) || got == nil {
				t.Fatalf("a used code through the memo: %v, want ErrInvalidatedAuthorizeCode with its request", err)
			}
			if err := f.store.InvalidateAuthorizeCodeSession(ctx, signature); !errors.Is(err, fosite.ErrInvalidatedAuthorizeCode) {
				t.Fatalf("second redemption: %v, want ErrInvalidatedAuthorizeCode", err)
			}
			if err := f.store.DeletePKCERequestSession(ctx, signature); err != nil {
				t.Fatal(err)
			}
			if _, err := f.store.GetPKCERequestSession(ctx, signature, openid.NewDefaultSession()); !errors.Is(err, fosite.ErrNotFound) {
				t.Fatalf("a deleted PKCE request through the memo: %v, want ErrNotFound", err)
			}
			if _, err := f.store.GetAuthorizeCodeSession(ctx, sig(), openid.NewDefaultSession()); !errors.Is(err, fosite.ErrNotFound) {
				t.Fatalf("an unknown code through the memo: %v, want ErrNotFound", err)
			}
		})
	}
}

// testCodeHandoff: the rows of an authorization response written outside a
// transaction reach the token request that redeems the code without a
// statement, once; the redemption still refuses a code that changed
// meanwhile (another instance's revocation), and a replay reads the
// database.
func testCodeHandoff(t *testing.T, b Backend) {
	f := newOAuth2Fixture(t, b)
	r := memoClients(f.store)
	if _, err := r(f.ctx, f.client.ID); err != nil { // warm, as the server's cache is
		t.Fatal(err)
	}
	f.store.ResolveClientsWith(r)
	// authorize writes a code's rows as the authorization endpoint does.
	const subject = "5f0c7a8e-2d1b-4c3a-9e8f-7a6b5c4d3e2f" // a user ID, as the server's subjects are
	authorize := func(ctx context.Context) (req *fosite.Request, code, signature string) {
		t.Helper()
		req, code, signature = f.request(subject), "code-"+randomHex(16), sig()
		req.RequestedAt = req.RequestedAt.Add(123456789) // nanoseconds, which the database does not keep
		err := f.store.BatchOAuth2Inserts(ctx, func(ctx context.Context) error {
			return errors.Join(
				f.store.CreateAuthorizeCodeSession(ctx, signature, req),
				f.store.CreatePKCERequestSession(ctx, signature, req),
				f.store.CreateOpenIDConnectSession(ctx, code, req))
		})
		if err != nil {
			t.Fatal(err)
		}
		return req, code, signature
	}
	// read reads the code as the token endpoint does, and counts statements.
	read := func(signature, code string) (requests []fosite.Requester, statements uint64) {
		t.Helper()
		before := f.store.Stats()
		for i, get := range f.codeReads(storage.WithCodeMemo(f.ctx), signature, code) {
			got, err := get()
			if err != nil {
				t.Fatalf("read %d: %v", i, err)
			}
			requests = append(requests, got)
		}
		return requests, f.store.Stats().Total() - before.Total()
	}

	req, code, signature := authorize(f.ctx)
	handed, n := read(signature, code)
	if n != 0 {
		t.Fatalf("the token request read its code's rows with %d statements, want 0", n)
	}
	again, n := read(signature, code) // a replay: from the database
	if n != 1 {
		t.Fatalf("a second token request took %d statements, want 1 (the database)", n)
	}
	for i := range handed {
		h, d := handed[i], again[i]
		if h.GetID() != req.ID || h.GetID() != d.GetID() || !h.GetRequestedAt().Equal(d.GetRequestedAt()) ||
			h.GetRequestForm().Encode() != d.GetRequestForm().Encode() || h.GetClient().GetID() != d.GetClient().GetID() ||
			strings.Join(h.GetGrantedScopes(), " ") != strings.Join(d.GetGrantedScopes(), " ") ||
			h.GetSession().GetSubject() != d.GetSession().GetSubject() ||
			!h.GetSession().GetExpiresAt(fosite.AuthorizeCode).Equal(d.GetSession().GetExpiresAt(fosite.AuthorizeCode)) {
			t.Errorf("read %d: the handoff gave %+v, the database %+v", i, h, d)
		}
	}

	// Another instance revokes the code between the authorization
	// response and the token request: the handoff still has it unused,
	// the redemption refuses it.
	_, code, signature = authorize(f.ctx)
	if _, err := f.raw().ExecContext(f.ctx, f.rebind("UPDATE oauth2_sessions SET active = ? WHERE kind = 'code' AND signature = ?"), false, rowKey(signature)); err != nil {
		t.Fatal(err)
	}
	if _, n := read(signature, code); n != 0 {
		t.Fatalf("the token request took %d statements, want 0 (the handoff)", n)
	}
	if err := f.store.InvalidateAuthorizeCodeSession(f.ctx, signature); !errors.Is(err, fosite.ErrInvalidatedAuthorizeCode) {
		t.Fatalf("redemption of a code revoked meanwhile: %v, want ErrInvalidatedAuthorizeCode", err)
	}

	// A password reset on this instance forgets the codes it issued.
	_, _, signature = authorize(f.ctx)
	if _, err := f.store.RevokeUserOAuth2Tokens(f.ctx, subject); err != nil {
		t.Fatal(err)
	}
	ctx := storage.WithCodeMemo(f.ctx)
	if _, err := f.store.GetAuthorizeCodeSession(ctx, signature, openid.NewDefaultSession()); !errors.Is(err, fosite.ErrInvalidatedAuthorizeCode) {
		t.Fatalf("a code after the password reset: %v, want ErrInvalidatedAuthorizeCode", err)
	}

	// Rows written in a transaction are not handed off: they are not
	// committed when the write returns.
	tx, err := f.store.BeginTX(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, code, signature = authorize(tx)
	if err := f.store.Commit(tx); err != nil {
		t.Fatal(err)
	}
	if _, n := read(signature, code); n != 1 {
		t.Fatalf("a code written in a transaction: %d statements, want 1", n)
	}
}

// codeReads are the token endpoint's reads of a code's rows: the code, its
// PKCE request and its OpenID Connect request.
func (f *oauth2Fixture) codeReads(ctx context.Context, signature, code string) []func() (fosite.Requester, error) {
	return []func() (fosite.Requester, error){
		func() (fosite.Requester, error) {
			return f.store.GetAuthorizeCodeSession(ctx, signature, openid.NewDefaultSession())
		},
		func() (fosite.Requester, error) {
			return f.store.GetPKCERequestSession(ctx, signature, openid.NewDefaultSession())
		},
		func() (fosite.Requester, error) {
			return f.store.GetOpenIDConnectSession(ctx, code, &fosite.Request{Session: openid.NewDefaultSession()})
		},
	}
}
