package storagetest

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/openid"

	"github.com/madfam-org/janua/storage"
)

// testOAuth2Rows covers what every kind of row shares: what is persisted,
// how a request is rebuilt, its client, not-found answers, time zones and
// garbage collection.
func testOAuth2Rows(t *testing.T, b Backend) {
	t.Run("FormSanitised", func(t *testing.T) {
		f := newOAuth2Fixture(t, b)
		req := f.request("alice")
		store := map[string]func(string) error{
			"code":    func(s string) error { return f.store.CreateAuthorizeCodeSession(f.ctx, s, req) },
			"access":  func(s string) error { return f.store.CreateAccessTokenSession(f.ctx, s, req) },
			"refresh": func(s string) error { return f.store.CreateRefreshTokenSession(f.ctx, s, "a", req) },
			"oidc":    func(s string) error { return f.store.CreateOpenIDConnectSession(f.ctx, s, req) },
			"pkce":    func(s string) error { return f.store.CreatePKCERequestSession(f.ctx, s, req) },
		}
		for kind, create := range store {
			if err := create("sig-" + kind); err != nil {
				t.Fatalf("%s: %v", kind, err)
			}
		}
		rows, err := f.raw().QueryContext(f.ctx, "SELECT kind, signature, access_signature, form, session FROM oauth2_sessions")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		n := 0
		for rows.Next() {
			n++
			var kind, key, accessKey, form, session string
			if err := rows.Scan(&kind, &key, &accessKey, &form, &session); err != nil {
				t.Fatal(err)
			}
			// Keys are hashed: no token signature (nor code) is stored as such.
			if key != rowKey("sig-"+kind) || (kind == "refresh" && accessKey != rowKey("a")) {
				t.Errorf("%s row keyed %q / %q, want the SHA-256 of the signatures", kind, key, accessKey)
			}
			if strings.Contains(form, "SECRET") || strings.Contains(session, "SECRET") {
				t.Errorf("%s row persisted a credential: form %s", kind, form)
			}
			var values map[string][]string
			if err := json.Unmarshal([]byte(form), &values); err != nil {
				t.Fatalf("%s form %q: %v", kind, form, err)
			}
			for _, k := range []string{"redirect_uri", "response_type", "scope", "state", "nonce", "prompt", "code_challenge", "code_challenge_method", "client_id"} {
				if len(values[k]) != 1 || values[k][0] != secretForm().Get(k) {
					t.Errorf("%s row lost %s: %v", kind, k, values[k])
				}
			}
		}
		if err := rows.Err(); err != nil || n != len(store) {
			t.Fatalf("%d rows (%v), want %d", n, err, len(store))
		}
		if !req.Form.Has("client_secret") {
			t.Fatal("sanitising changed the caller's form")
		}
	})

	t.Run("RequestAndSessionRoundTrip", func(t *testing.T) {
		f := newOAuth2Fixture(t, b)
		req, code := f.request("alice"), sig()
		if err := f.store.CreateAuthorizeCodeSession(f.ctx, code, req); err != nil {
			t.Fatal(err)
		}
		into := openid.NewDefaultSession()
		got, err := f.store.GetAuthorizeCodeSession(f.ctx, code, into)
		if err != nil {
			t.Fatal(err)
		}
		if got.GetSession() != into {
			t.Fatalf("session is %p, want the caller's %p", got.GetSession(), into)
		}
		want := req.Session.(*openid.DefaultSession)
		if !reflect.DeepEqual(into, want) {
			t.Fatalf("session round trip:\n got %#v\n     %#v\nwant %#v\n     %#v", into, into.Claims, want, want.Claims)
		}
		if got.GetID() != req.ID || !got.GetRequestedAt().Equal(req.RequestedAt.Truncate(time.Microsecond)) ||
			!reflect.DeepEqual(got.GetRequestedScopes(), req.RequestedScope) || !reflect.DeepEqual(got.GetGrantedScopes(), req.GrantedScope) ||
			!reflect.DeepEqual(got.GetRequestedAudience(), req.RequestedAudience) || !reflect.DeepEqual(got.GetGrantedAudience(), req.GrantedAudience) ||
			got.GetRequestForm().Get("redirect_uri") != "https://app.example.com/callback" {
			t.Fatalf("request round trip: got %+v\nwant %+v", got, req)
		}
		// fosite's revocation handler passes no session.
		got, err = f.store.GetAuthorizeCodeSession(f.ctx, code, nil)
		if err != nil || got.GetSession() != nil || got.GetID() != req.ID {
			t.Fatalf("load without a session: %+v, %v", got, err)
		}
	})

	t.Run("ClientJoined", func(t *testing.T) {
		f := newOAuth2Fixture(t, b)
		p := f.issue(f.request("alice"))
		got, err := f.store.GetAccessTokenSession(f.ctx, p.access, nil)
		if err != nil {
			t.Fatal(err)
		}
		fc, ok := got.GetClient().(*storage.FositeClient)
		if !ok {
			t.Fatalf("client is %T, want *storage.FositeClient", got.GetClient())
		}
		// The join reads every column GetClient reads, normalised the same way.
		want, err := f.store.GetClient(f.ctx, "rp")
		if err != nil {
			t.Fatal(err)
		}
		if c := fc.Client; !reflect.DeepEqual(c, want) || c.Metadata.AccessTokenTTL != 600 || c.Metadata.RefreshTokenAbsoluteTTL != 86400 {
			t.Fatalf("joined client\n %+v\nwant\n %+v", c, want)
		}
	})

	t.Run("DeletedClientTakesItsSessions", func(t *testing.T) {
		// Deleting a client deletes its codes and tokens (a foreign key with
		// ON DELETE CASCADE): none of them works any more, and re-creating a
		// client with the same ID does not bring them back.
		f := newOAuth2Fixture(t, b)
		req, code := f.request("alice"), sig()
		p := f.issue(req)
		if err := f.store.CreateAuthorizeCodeSession(f.ctx, code, req); err != nil {
			t.Fatal(err)
		}
		if err := f.store.DeleteClient(f.ctx, "rp"); err != nil {
			t.Fatal(err)
		}
		if err := f.store.CreateClient(f.ctx, newClient("rp")); err != nil {
			t.Fatal(err)
		}
		a, r := f.live(p)
		_, c := f.store.GetAuthorizeCodeSession(f.ctx, code, nil)
		for name, err := range map[string]error{"access": a, "refresh": r, "code": c} {
			if !errors.Is(err, fosite.ErrNotFound) {
				t.Errorf("%s of a deleted client: %v, want ErrNotFound", name, err)
			}
		}
		var n int
		if err := f.raw().QueryRowContext(f.ctx, "SELECT COUNT(*) FROM oauth2_sessions").Scan(&n); err != nil || n != 0 {
			t.Fatalf("%d rows left (%v), want 0", n, err)
		}
		// A request naming an unknown client is refused.
		ghost := f.request("alice")
		ghost.Client = storage.NewFositeClient(&storage.Client{ID: "ghost"})
		if err := f.store.CreateAccessTokenSession(f.ctx, sig(), ghost); !is(err, storage.ErrConflict) {
			t.Fatalf("token of an unknown client: %v, want ErrConflict", err)
		}
	})

	t.Run("NotFound", func(t *testing.T) {
		f := newOAuth2Fixture(t, b)
		s := openid.NewDefaultSession()
		tokenReq := &fosite.Request{Session: s}
		for name, call := range map[string]func() error{
			"GetAuthorizeCodeSession":        func() error { _, err := f.store.GetAuthorizeCodeSession(f.ctx, "x", s); return err },
			"InvalidateAuthorizeCodeSession": func() error { return f.store.InvalidateAuthorizeCodeSession(f.ctx, "x") },
			"GetAccessTokenSession":          func() error { _, err := f.store.GetAccessTokenSession(f.ctx, "x", s); return err },
			"DeleteAccessTokenSession":       func() error { return f.store.DeleteAccessTokenSession(f.ctx, "x") },
			"GetRefreshTokenSession":         func() error { _, err := f.store.GetRefreshTokenSession(f.ctx, "x", s); return err },
			"DeleteRefreshTokenSession":      func() error { return f.store.DeleteRefreshTokenSession(f.ctx, "x") },
			"RotateRefreshToken":             func() error { return f.store.RotateRefreshToken(f.ctx, "r", "x") },
			"GetOpenIDConnectSession":        func() error { _, err := f.store.GetOpenIDConnectSession(f.ctx, "x", tokenReq); return err },
			"DeleteOpenIDConnectSession":     func() error { return f.store.DeleteOpenIDConnectSession(f.ctx, "x") },
			"GetPKCERequestSession":          func() error { _, err := f.store.GetPKCERequestSession(f.ctx, "x", s); return err },
			"DeletePKCERequestSession":       func() error { return f.store.DeletePKCERequestSession(f.ctx, "x") },
		} {
			err := call()
			if !errors.Is(err, fosite.ErrNotFound) || !is(err, storage.ErrNotFound) {
				t.Errorf("%s of nothing: %v, want fosite.ErrNotFound and storage.ErrNotFound", name, err)
			}
		}
		// Kinds do not leak into each other: a code signature is no access token.
		p := f.issue(f.request("alice"))
		if _, err := f.store.GetAuthorizeCodeSession(f.ctx, p.access, s); !errors.Is(err, fosite.ErrNotFound) {
			t.Fatalf("access token signature as a code: %v", err)
		}
		for name, call := range map[string]func(ctx context.Context, id string) error{
			"RevokeAccessToken": f.store.RevokeAccessToken, "RevokeRefreshToken": f.store.RevokeRefreshToken,
		} {
			if err := call(f.ctx, "no-such-request"); err != nil {
				t.Errorf("%s of an unknown request: %v, want nil", name, err)
			}
		}
	})

	t.Run("TimeZones", func(t *testing.T) {
		f := newOAuth2Fixture(t, b)
		kolkata := time.FixedZone("IST", 5*3600+1800)
		la := time.FixedZone("PDT", -7*3600)
		start := f.clock.Now()
		f.clock = NewClockAt(start.In(la))
		f.store = f.open(testSecret)
		req := f.request("alice")
		req.RequestedAt = start.In(kolkata)
		sess := req.Session.(*openid.DefaultSession)
		sess.ExpiresAt[fosite.AccessToken] = start.Add(time.Hour).In(kolkata)
		at := sig()
		if err := f.store.CreateAccessTokenSession(f.ctx, at, req); err != nil {
			t.Fatal(err)
		}
		got, err := f.store.GetAccessTokenSession(f.ctx, at, openid.NewDefaultSession())
		if err != nil {
			t.Fatal(err)
		}
		if !got.GetRequestedAt().Equal(start.Truncate(time.Microsecond)) || got.GetRequestedAt().Location() != time.UTC {
			t.Fatalf("requested_at %v, want the instant %v in UTC", got.GetRequestedAt(), start)
		}
		if exp := got.GetSession().GetExpiresAt(fosite.AccessToken); !exp.Equal(start.Add(time.Hour)) {
			t.Fatalf("session expiry %v, want %v", exp, start.Add(time.Hour))
		}
		var expiresAt time.Time
		if err := f.raw().QueryRowContext(f.ctx, f.rebind("SELECT expires_at FROM oauth2_sessions WHERE signature = ?"), rowKey(at)).Scan(&expiresAt); err != nil {
			t.Fatal(err)
		}
		if !expiresAt.Equal(start.Add(time.Hour)) {
			t.Fatalf("expires_at %v, want the instant %v", expiresAt, start.Add(time.Hour))
		}
		// 59 minutes later by the instant (in Kiribati's wall clock a day
		// ahead), the token is not collected.
		f.clock.Advance(59 * time.Minute)
		if res, err := f.store.CollectGarbage(f.ctx, storage.GCOptions{}); err != nil || res["oauth2_sessions"] != 0 {
			t.Fatalf("gc before expiry: %v %v", res, err)
		}
		f.clock.Advance(2 * time.Minute)
		if res, err := f.store.CollectGarbage(f.ctx, storage.GCOptions{}); err != nil || res["oauth2_sessions"] != 1 {
			t.Fatalf("gc after expiry: %v %v, want 1 row", res, err)
		}
	})

	t.Run("GarbageCollection", testOAuth2GarbageCollection(b))
}

// testOAuth2GarbageCollection checks that each kind leaves at its horizon
// (see storage.OAuth2CodeRetention and friends), used or not, in batches.
func testOAuth2GarbageCollection(b Backend) func(t *testing.T) {
	return func(t *testing.T) {
		f := newOAuth2Fixture(t, b)
		req := f.request("alice") // code 10 min, access 1 h, refresh 30 d
		unlimited := f.request("alice")
		delete(unlimited.Session.(*openid.DefaultSession).ExpiresAt, fosite.RefreshToken)
		code, used := sig(), sig()
		for _, s := range []string{code, used} {
			if err := f.store.CreateAuthorizeCodeSession(f.ctx, s, req); err != nil {
				t.Fatal(err)
			}
			if err := f.store.CreatePKCERequestSession(f.ctx, s, req); err != nil {
				t.Fatal(err)
			}
			if err := f.store.CreateOpenIDConnectSession(f.ctx, "code-"+s, req); err != nil {
				t.Fatal(err)
			}
		}
		_ = f.store.InvalidateAuthorizeCodeSession(f.ctx, used)
		p := f.issue(req)
		rotated := f.refresh(req, p)
		forever := f.issue(unlimited)

		steps := []struct {
			advance time.Duration
			deleted int64
			gone    func() error
		}{
			// The two live access tokens (1 h); codes stay past their 10 minutes.
			{2 * time.Hour, 2, func() error {
				_, err := f.store.GetAccessTokenSession(f.ctx, rotated.access, nil)
				return err
			}},
			// Codes, used or not, with their PKCE and OIDC rows: 6 rows at 24 h.
			{23 * time.Hour, 6, func() error {
				_, err := f.store.GetAuthorizeCodeSession(f.ctx, used, nil)
				return err
			}},
			// Refresh tokens, rotated or not, at their 30 days.
			{30 * 24 * time.Hour, 2, func() error {
				_, err := f.store.GetRefreshTokenSession(f.ctx, p.refresh, nil)
				return err
			}},
			// The refresh token without a lifetime, at the 90-day horizon.
			{60 * 24 * time.Hour, 1, func() error {
				_, err := f.store.GetRefreshTokenSession(f.ctx, forever.refresh, nil)
				return err
			}},
		}
		for i, st := range steps {
			// Before: loadable (used rows come with their inactive error).
			if err := st.gone(); err != nil && !errors.Is(err, fosite.ErrInactiveToken) && !errors.Is(err, fosite.ErrInvalidatedAuthorizeCode) {
				t.Fatalf("step %d: row missing before its collection: %v", i, err)
			}
			f.clock.Advance(st.advance)
			res, err := f.store.CollectGarbage(f.ctx, storage.GCOptions{BatchSize: 2})
			if err != nil {
				t.Fatal(err)
			}
			if res["oauth2_sessions"] != st.deleted {
				t.Fatalf("step %d: gc deleted %d oauth2 rows, want %d", i, res["oauth2_sessions"], st.deleted)
			}
			if err := st.gone(); !errors.Is(err, fosite.ErrNotFound) {
				t.Fatalf("step %d: collected row: %v, want ErrNotFound", i, err)
			}
		}
	}
}
