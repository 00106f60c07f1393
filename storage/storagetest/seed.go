package storagetest

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ory/fosite"

	"github.com/madfam-org/janua/storage"
)

// testSeed checks that the bulk inserts of `janua seed` write exactly the
// rows the single-row methods write (every column, as text), so that a
// seeded database measures what a grown one would.
func testSeed(t *testing.T, b Backend) {
	t.Run("UsersAsCreateUser", func(t *testing.T) {
		h := newHarness(t, b)
		disabled := testTime.Add(-time.Hour)
		created := newUser("Created@Example.com")
		created.EmailVerified, created.DisabledAt = true, &disabled
		if err := h.store.CreateUser(h.ctx, created, "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"); err != nil {
			t.Fatal(err)
		}
		seeded := []storage.User{*newUser("Seeded@Example.com"), *newUser("seeded2@example.com")}
		seeded[0].EmailVerified, seeded[0].DisabledAt = true, &disabled
		if err := h.store.SeedUsers(h.ctx, seeded, "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"); err != nil {
			t.Fatal(err)
		}
		cols := []string{"email_verified", "claims", "disabled_at", "revision", "created_at", "updated_at"}
		want := h.rowText("users", cols, "id = ?", created.ID)
		if got := h.rowText("users", cols, "id = ?", seeded[0].ID); !equalText(got, want) {
			t.Errorf("seeded user row %v, created %v", got, want)
		}
		if got := h.rowText("users", []string{"email", "email_key"}, "id = ?", seeded[0].ID); got[0] != "Seeded@Example.com" || got[1] != "seeded@example.com" {
			t.Errorf("seeded email, key %v", got)
		}
		pcCols := []string{"hash", "created_at", "updated_at"}
		if got, want := h.rowText("password_credentials", pcCols, "user_id = ?", seeded[1].ID), h.rowText("password_credentials", pcCols, "user_id = ?", created.ID); !equalText(got, want) {
			t.Errorf("seeded password row %v, created %v", got, want)
		}
		u, err := h.store.GetUserByEmail(h.ctx, "SEEDED2@example.com")
		if err != nil || u.ID != seeded[1].ID {
			t.Fatalf("seeded user by email: %+v, %v", u, err)
		}
		// A taken email fails the whole batch.
		err = h.store.SeedUsers(h.ctx, []storage.User{*newUser("new@example.com"), *newUser("created@example.com")}, "")
		if !errors.Is(err, storage.ErrAlreadyExists) {
			t.Fatalf("taken email: %v", err)
		}
		if _, err := h.store.GetUserByEmail(h.ctx, "new@example.com"); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("a failed batch left a user: %v", err)
		}
	})

	t.Run("ClientsAsCreateClient", func(t *testing.T) {
		h := newHarness(t, b)
		confidential := func(id string) *storage.Client {
			c := newClient(id)
			c.SecretHash = newClient("created").SecretHash
			return c
		}
		public := func(id string) *storage.Client {
			c := newClient(id)
			c.SecretHash, c.Public, c.TokenEndpointAuthMethod, c.PostLogoutRedirectURIs = nil, true, "none", nil
			return c
		}
		for _, c := range []*storage.Client{confidential("created"), public("created-public")} {
			if err := h.store.CreateClient(h.ctx, c); err != nil {
				t.Fatal(err)
			}
		}
		if err := h.store.SeedClients(h.ctx, []storage.Client{*confidential("seeded"), *public("seeded-public")}); err != nil {
			t.Fatal(err)
		}
		cols := []string{"secret_hash IS NULL", "secret_hash", "secret_expires_at", "public", "first_party", "token_endpoint_auth_method",
			"redirect_uris", "post_logout_redirect_uris", "grant_types", "response_types", "scopes", "metadata", "revision", "created_at", "updated_at"}
		for _, kind := range []string{"", "-public"} {
			want := h.rowText("clients", cols, "id = ?", "created"+kind)
			if got := h.rowText("clients", cols, "id = ?", "seeded"+kind); !equalText(got, want) {
				t.Errorf("seeded client%s row %v, created %v", kind, got, want)
			}
		}
		if err := h.store.SeedClients(h.ctx, []storage.Client{*newClient("seeded")}); !errors.Is(err, storage.ErrAlreadyExists) {
			t.Fatalf("taken id: %v", err)
		}
	})

	t.Run("TokensAsTheTokenEndpoint", func(t *testing.T) {
		f := newOAuth2Fixture(t, b)
		other := newClient("rp-2")
		if err := f.store.CreateClient(f.ctx, other); err != nil {
			t.Fatal(err)
		}
		// A grant as the fixture's, for any client and subject; the subject
		// needs escaping in JSON.
		request := func(clientID, subject string) fosite.Requester {
			req := f.request(subject)
			req.Client = &fosite.DefaultClient{ID: clientID}
			return req
		}
		access, refresh := sig(), sig()
		req := request("rp-2", `bob "<&>"`)
		if err := f.store.CreateAccessTokenSession(f.ctx, access, req); err != nil {
			t.Fatal(err)
		}
		if err := f.store.CreateRefreshTokenSession(f.ctx, refresh, access, req); err != nil {
			t.Fatal(err)
		}
		clients, subjects := []string{"rp", "rp-2"}, []string{"alice", `bob "<&>"`}
		err := f.store.SeedTokens(f.ctx, storage.SeedGrants{
			Rows:    5,
			Grant:   func(i int) (string, string) { return clients[i%2], subjects[i%2] },
			Request: request,
		})
		if err != nil {
			t.Fatal(err)
		}
		rows, err := f.raw().QueryContext(f.ctx, `SELECT kind, signature, request_id, access_signature, client_id, subject
			FROM oauth2_sessions ORDER BY request_id, kind`)
		if err != nil {
			t.Fatal(err)
		}
		type key struct{ kind, signature, requestID, access, client, subject string }
		var seeded []key
		for rows.Next() {
			var k key
			if err := rows.Scan(&k.kind, &k.signature, &k.requestID, &k.access, &k.client, &k.subject); err != nil {
				t.Fatal(err)
			}
			if k.requestID != req.GetID() {
				seeded = append(seeded, k)
			}
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
		// Three grants (the last without its refresh token), pairs sharing a
		// request ID, each refresh row beside its access token's key.
		grants := map[string][]key{}
		for _, k := range seeded {
			grants[k.requestID] = append(grants[k.requestID], k)
		}
		if len(seeded) != 5 || len(grants) != 3 {
			t.Fatalf("seeded %d rows in %d grants: %v", len(seeded), len(grants), seeded)
		}
		for id, g := range grants {
			if g[0].kind != "access" || len(g[0].signature) != 64 || (len(g) == 2 && (g[1].kind != "refresh" || g[1].access != g[0].signature)) {
				t.Errorf("grant %s: %+v", id, g)
			}
		}
		// Every other column as the token endpoint writes it, for the grant
		// of the same client and subject.
		cols := []string{"client_id", "subject", "requested_at", "expires_at", "active", "scopes", "granted_scopes",
			"requested_audience", "granted_audience", "form", "session", "rotated_at"}
		for _, kind := range []string{"access", "refresh"} {
			want := f.rowText("oauth2_sessions", cols, "request_id = ? AND kind = ?", req.GetID(), kind)
			n := 0
			for _, k := range seeded {
				if k.kind != kind || k.client != "rp-2" {
					continue
				}
				n++
				if got := f.rowText("oauth2_sessions", cols, "signature = ?", k.signature); !equalText(got, want) {
					t.Errorf("seeded %s row\n%v\nwritten by the token endpoint\n%v", kind, got, want)
				}
			}
			if n != 1 {
				t.Errorf("%d seeded %s rows of rp-2", n, kind)
			}
		}
	})

	t.Run("TokensNotATemplate", func(t *testing.T) {
		f := newOAuth2Fixture(t, b)
		calls := 0
		err := f.store.SeedTokens(f.ctx, storage.SeedGrants{
			Rows:  2,
			Grant: func(int) (string, string) { return "rp", "alice" },
			// Grants that differ by more than client and subject cannot be
			// encoded once.
			Request: func(clientID, subject string) fosite.Requester {
				calls++
				req := f.request(subject)
				req.GrantedScope = fosite.Arguments{fmt.Sprint("scope", calls)}
				return req
			},
		})
		if err == nil || !strings.Contains(err.Error(), "granted_scopes") {
			t.Fatalf("not a template: %v", err)
		}
	})
}

// rowText is the row of table that where (with ? parameters args) selects:
// each of cols (SQL expressions) as text, "<nil>" for NULL.
func (h *harness) rowText(table string, cols []string, where string, args ...any) []string {
	h.t.Helper()
	exprs := make([]string, len(cols))
	for i, c := range cols {
		exprs[i] = "CAST(" + c + " AS TEXT)"
	}
	vals := make([]any, len(cols))
	out := make([]*string, len(cols))
	for i := range vals {
		vals[i] = &out[i]
	}
	q := h.rebind(fmt.Sprintf("SELECT %s FROM %s WHERE %s", strings.Join(exprs, ", "), table, where))
	if err := h.raw().QueryRowContext(h.ctx, q, args...).Scan(vals...); err != nil {
		h.t.Fatalf("%s: %v", q, err)
	}
	text := make([]string, len(cols))
	for i, s := range out {
		text[i] = "<nil>"
		if s != nil {
			text[i] = *s
		}
	}
	return text
}

func equalText(a, b []string) bool {
	return strings.Join(a, "\x00") == strings.Join(b, "\x00")
}
