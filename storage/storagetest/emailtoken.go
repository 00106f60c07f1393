package storagetest

import (
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/openid"

	"github.com/madfam-org/janua/storage"
)

// newEmailToken stores a token of purpose for user (nil: no account) bound
// to flow and browser, with a link token and a code, live for 15 minutes.
func newEmailToken(h *harness, purpose storage.EmailTokenPurpose, user *storage.User, flow, browser string) (*storage.EmailToken, string, string) {
	h.t.Helper()
	t := &storage.EmailToken{Purpose: purpose, FlowID: flow, Browser: browser}
	if user != nil {
		t.UserID, t.Email = &user.ID, user.Email
	}
	token, code := storage.NewEmailSecret(), "12345678"
	if err := h.store.CreateEmailToken(h.ctx, t, token, code, 15*time.Minute); err != nil {
		h.t.Fatal(err)
	}
	return t, token, code
}

func testEmailTokens(t *testing.T, b Backend) {
	t.Run("LinkIsSingleUseAndKillsTheCode", func(t *testing.T) {
		h := newHarness(t, b)
		u := newUser("link@example.com")
		if err := h.store.CreateUser(h.ctx, u, ""); err != nil {
			t.Fatal(err)
		}
		tok, token, code := newEmailToken(h, storage.EmailTokenMagicLink, u, "flow-1", "browser-1")
		if len(tok.ID) < 20 || tok.TokenHash == nil || tok.CodeHash == nil || !tok.ExpiresAt.Equal(tok.CreatedAt.Add(15*time.Minute)) {
			t.Fatalf("created %+v", tok)
		}
		// Only hashes reach the database.
		var row string
		if err := h.raw().QueryRowContext(h.ctx, h.rebind("SELECT id || token_hash || code_hash || email FROM email_tokens WHERE id = ?"), tok.ID).Scan(&row); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(row, token) || strings.Contains(row, code) {
			t.Fatalf("the token or code is stored in the clear: %s", row)
		}
		got, err := h.store.GetEmailToken(h.ctx, storage.EmailTokenMagicLink, token)
		if err != nil || got.ID != tok.ID || got.User() != u.ID || got.FlowID != "flow-1" || got.Browser != "browser-1" || got.Email != u.Email {
			t.Fatalf("get: %+v %v", got, err)
		}
		if _, err := h.store.GetEmailToken(h.ctx, storage.EmailTokenPasswordReset, token); !is(err, storage.ErrNotFound) {
			t.Fatalf("another purpose: %v", err)
		}
		used, err := h.store.ConsumeEmailToken(h.ctx, storage.EmailTokenMagicLink, token)
		if err != nil || used.ID != tok.ID || used.UsedAt == nil || !used.UsedAt.Equal(h.clock.Now().Truncate(time.Microsecond)) {
			t.Fatalf("consume: %+v %v", used, err)
		}
		if _, err := h.store.ConsumeEmailToken(h.ctx, storage.EmailTokenMagicLink, token); !is(err, storage.ErrNotFound) {
			t.Fatalf("second use: %v", err)
		}
		if _, err := h.store.GetEmailToken(h.ctx, storage.EmailTokenMagicLink, token); !is(err, storage.ErrNotFound) {
			t.Fatalf("get after use: %v", err)
		}
		if _, left, err := h.store.ConsumeEmailCode(h.ctx, tok.ID, code, "flow-1", "browser-1"); !is(err, storage.ErrNotFound) || left != 0 {
			t.Fatalf("code after the link: %v, %d left", err, left)
		}
		if _, err := h.store.ConsumeEmailToken(h.ctx, storage.EmailTokenMagicLink, storage.NewEmailSecret()); !is(err, storage.ErrNotFound) {
			t.Fatalf("unknown token: %v", err)
		}
	})

	t.Run("CodeIsBoundAndDiesAfterFiveWrongTries", func(t *testing.T) {
		h := newHarness(t, b)
		u := newUser("code@example.com")
		_ = h.store.CreateUser(h.ctx, u, "")
		tok, token, code := newEmailToken(h, storage.EmailTokenMagicLink, u, "flow-1", "browser-1")
		// A right code from another browser or for another flow is a wrong try.
		for i, try := range []struct{ code, flow, browser string }{
			{"00000000", "flow-1", "browser-1"},
			{code, "flow-2", "browser-1"},
			{code, "flow-1", "browser-2"},
			{"1234567", "flow-1", "browser-1"},
		} {
			_, left, err := h.store.ConsumeEmailCode(h.ctx, tok.ID, try.code, try.flow, try.browser)
			if !is(err, storage.ErrNotFound) || left != storage.MaxEmailCodeAttempts-1-i {
				t.Fatalf("wrong try %d: %v, %d left", i, err, left)
			}
		}
		// One try left: the right code works.
		got, _, err := h.store.ConsumeEmailCode(h.ctx, tok.ID, code, "flow-1", "browser-1")
		// The right code's own try counts too: every try is counted in the
		// statement that compares it, so concurrent guesses cannot outrun
		// the limit.
		if err != nil || got.User() != u.ID || got.Attempts != storage.MaxEmailCodeAttempts {
			t.Fatalf("right code: %+v %v", got, err)
		}
		if _, err := h.store.ConsumeEmailToken(h.ctx, storage.EmailTokenMagicLink, token); !is(err, storage.ErrNotFound) {
			t.Fatalf("link after the code: %v", err)
		}

		tok2, token2, code2 := newEmailToken(h, storage.EmailTokenMagicLink, u, "flow-1", "browser-1")
		for i := range storage.MaxEmailCodeAttempts {
			if _, left, _ := h.store.ConsumeEmailCode(h.ctx, tok2.ID, "99999999", "flow-1", "browser-1"); left != storage.MaxEmailCodeAttempts-1-i {
				t.Fatalf("wrong try %d: %d left", i, left)
			}
		}
		if _, left, err := h.store.ConsumeEmailCode(h.ctx, tok2.ID, code2, "flow-1", "browser-1"); !is(err, storage.ErrNotFound) || left != 0 {
			t.Fatalf("right code after five wrong ones: %v, %d left", err, left)
		}
		if _, err := h.store.GetEmailToken(h.ctx, storage.EmailTokenMagicLink, token2); !is(err, storage.ErrNotFound) {
			t.Fatalf("link after five wrong codes: %v", err)
		}
		if _, left, err := h.store.ConsumeEmailCode(h.ctx, "no-such-row", code2, "flow-1", "browser-1"); !is(err, storage.ErrNotFound) || left != 0 {
			t.Fatalf("unknown row: %v, %d left", err, left)
		}
	})

	t.Run("CodeHashIsKeyed", func(t *testing.T) {
		h := newHarness(t, b)
		tok, _, code := newEmailToken(h, storage.EmailTokenCode, nil, "", "b")
		other := h.open([]byte("another key-encryption secret, 32+ bytes"))
		if _, _, err := other.ConsumeEmailCode(h.ctx, tok.ID, code, "", "b"); !is(err, storage.ErrNotFound) {
			t.Fatalf("a store with another secret accepted the code: %v", err)
		}
		got, _, err := h.store.ConsumeEmailCode(h.ctx, tok.ID, code, "", "b")
		if err != nil || got.User() != "" || got.UserID != nil {
			t.Fatalf("code of a row without a user: %+v %v", got, err)
		}
	})

	t.Run("Expiry", func(t *testing.T) {
		h := newHarness(t, b)
		tok, token, code := newEmailToken(h, storage.EmailTokenPasswordReset, nil, "", "")
		h.clock.Advance(15*time.Minute + time.Second)
		if _, err := h.store.GetEmailToken(h.ctx, storage.EmailTokenPasswordReset, token); !is(err, storage.ErrNotFound) {
			t.Fatalf("expired get: %v", err)
		}
		if _, err := h.store.ConsumeEmailToken(h.ctx, storage.EmailTokenPasswordReset, token); !is(err, storage.ErrNotFound) {
			t.Fatalf("expired consume: %v", err)
		}
		if _, left, err := h.store.ConsumeEmailCode(h.ctx, tok.ID, code, "", ""); !is(err, storage.ErrNotFound) || left != 0 {
			t.Fatalf("expired code: %v %d", err, left)
		}
		live, _, _ := newEmailToken(h, storage.EmailTokenPasswordReset, nil, "", "")
		res, err := h.store.CollectGarbage(h.ctx, storage.GCOptions{})
		if err != nil || res["email_tokens"] != 1 {
			t.Fatalf("gc: %v %v, want the expired token collected", res, err)
		}
		if _, _, err := h.store.ConsumeEmailCode(h.ctx, live.ID, "12345678", "", ""); err != nil {
			t.Fatalf("live token collected: %v", err)
		}
	})

	t.Run("ConcurrentUseSucceedsOnce", func(t *testing.T) {
		h := newHarness(t, b)
		u := newUser("race@example.com")
		_ = h.store.CreateUser(h.ctx, u, "")
		tok, token, code := newEmailToken(h, storage.EmailTokenMagicLink, u, "f", "b")
		var wins atomic.Int32
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Go(func() {
				var err error
				if i%2 == 0 {
					_, err = h.store.ConsumeEmailToken(h.ctx, storage.EmailTokenMagicLink, token)
				} else {
					_, _, err = h.store.ConsumeEmailCode(h.ctx, tok.ID, code, "f", "b")
				}
				if err == nil {
					wins.Add(1)
				} else if !is(err, storage.ErrNotFound) && !is(err, storage.ErrConflict) {
					t.Errorf("use %d: %v", i, err)
				}
			})
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("%d concurrent uses succeeded, want exactly 1", wins.Load())
		}
	})

	t.Run("InvalidateAndVerify", func(t *testing.T) {
		h := newHarness(t, b)
		u := newUser("Verify@Example.com")
		_ = h.store.CreateUser(h.ctx, u, "")
		_, reset, _ := newEmailToken(h, storage.EmailTokenPasswordReset, u, "", "")
		_, link, _ := newEmailToken(h, storage.EmailTokenMagicLink, u, "", "")
		_, verify, _ := newEmailToken(h, storage.EmailTokenVerifyEmail, u, "", "")
		n, err := h.store.InvalidateEmailTokens(h.ctx, u.ID, storage.EmailTokenPasswordReset, storage.EmailTokenMagicLink)
		if err != nil || n != 2 {
			t.Fatalf("invalidate: %d %v", n, err)
		}
		for p, tok := range map[storage.EmailTokenPurpose]string{storage.EmailTokenPasswordReset: reset, storage.EmailTokenMagicLink: link} {
			if _, err := h.store.ConsumeEmailToken(h.ctx, p, tok); !is(err, storage.ErrNotFound) {
				t.Fatalf("%s after invalidation: %v", p, err)
			}
		}
		v, err := h.store.ConsumeEmailToken(h.ctx, storage.EmailTokenVerifyEmail, verify)
		if err != nil {
			t.Fatalf("verification token invalidated with the others: %v", err)
		}
		if err := h.store.MarkEmailVerified(h.ctx, u.ID, "other@example.com"); !is(err, storage.ErrNotFound) {
			t.Fatalf("verify another address: %v", err)
		}
		if err := h.store.MarkEmailVerified(h.ctx, v.User(), "verify@EXAMPLE.com"); err != nil {
			t.Fatal(err)
		}
		got, _ := h.store.GetUser(h.ctx, u.ID)
		if !got.EmailVerified || got.Revision != u.Revision+1 {
			t.Fatalf("after verification: %+v", got)
		}
	})

	t.Run("RowsDieWithTheirUser", func(t *testing.T) {
		h := newHarness(t, b)
		u := newUser("gone@example.com")
		_ = h.store.CreateUser(h.ctx, u, "")
		_, token, _ := newEmailToken(h, storage.EmailTokenMagicLink, u, "", "")
		if _, _, err := h.store.RecordBrowserSignIn(h.ctx, u.ID, "b"); err != nil {
			t.Fatal(err)
		}
		if err := h.store.DeleteUser(h.ctx, u.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := h.store.GetEmailToken(h.ctx, storage.EmailTokenMagicLink, token); !is(err, storage.ErrNotFound) {
			t.Fatalf("token of a deleted user: %v", err)
		}
		bad := &storage.EmailToken{Purpose: "other"}
		if err := h.store.CreateEmailToken(h.ctx, bad, "t", "", time.Minute); err == nil {
			t.Fatal("unknown purpose accepted")
		}
	})
}

func testKnownBrowsers(t *testing.T, b Backend) {
	h := newHarness(t, b)
	u := newUser("kb@example.com")
	_ = h.store.CreateUser(h.ctx, u, "")
	for i, step := range []struct {
		browser          string
		isNew, hadOthers bool
		advance          time.Duration
	}{
		{"first", true, false, 0},
		{"first", false, true, time.Hour},
		{"second", true, true, 0},
		{"second", false, true, 0},
	} {
		h.clock.Advance(step.advance)
		isNew, hadOthers, err := h.store.RecordBrowserSignIn(h.ctx, u.ID, step.browser)
		if err != nil || isNew != step.isNew || hadOthers != step.hadOthers {
			t.Fatalf("step %d (%s): new %v others %v err %v", i, step.browser, isNew, hadOthers, err)
		}
	}
	// A browser unseen for the cookie's lifetime is forgotten.
	h.clock.Advance(storage.KnownBrowserRetention - time.Minute)
	if _, _, err := h.store.RecordBrowserSignIn(h.ctx, u.ID, "second"); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(2 * time.Minute)
	res, err := h.store.CollectGarbage(h.ctx, storage.GCOptions{})
	if err != nil || res["known_browsers"] != 1 {
		t.Fatalf("gc: %v %v, want the stale browser collected", res, err)
	}
	if isNew, hadOthers, _ := h.store.RecordBrowserSignIn(h.ctx, u.ID, "first"); !isNew || !hadOthers {
		t.Fatalf("collected browser: new %v others %v", isNew, hadOthers)
	}
	if _, _, err := h.store.RecordBrowserSignIn(h.ctx, "not-a-uuid", "b"); err == nil {
		t.Fatal("a browser of no user recorded")
	}
}

func testRevokeUserOAuth2Tokens(t *testing.T, b Backend) {
	f := newOAuth2Fixture(t, b)
	alice, bob := newUser("alice@example.com"), newUser("bob@example.com")
	for _, u := range []*storage.User{alice, bob} {
		if err := f.store.CreateUser(f.ctx, u, ""); err != nil {
			t.Fatal(err)
		}
	}
	a1, a2, other := f.issue(f.request(alice.ID)), f.issue(f.request(alice.ID)), f.issue(f.request(bob.ID))
	codeReq, code := f.request(alice.ID), sig()
	if err := f.store.CreateAuthorizeCodeSession(f.ctx, code, codeReq); err != nil {
		t.Fatal(err)
	}
	n, err := f.store.RevokeUserOAuth2Tokens(f.ctx, alice.ID)
	if err != nil || n != 5 {
		t.Fatalf("revoke: %d %v, want 2 access + 2 refresh + 1 code", n, err)
	}
	for _, p := range []pair{a1, a2} {
		access, refresh := f.live(p)
		if !errors.Is(access, fosite.ErrNotFound) || !errors.Is(refresh, fosite.ErrInactiveToken) {
			t.Fatalf("alice's tokens after revocation: access %v, refresh %v", access, refresh)
		}
	}
	if _, err := f.store.GetAuthorizeCodeSession(f.ctx, code, openid.NewDefaultSession()); !errors.Is(err, fosite.ErrInvalidatedAuthorizeCode) {
		t.Fatalf("alice's code after revocation: %v", err)
	}
	if access, refresh := f.live(other); access != nil || refresh != nil {
		t.Fatalf("bob's tokens: %v %v", access, refresh)
	}
}
