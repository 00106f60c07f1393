package main

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/madfam-org/janua/oidc"
	"github.com/madfam-org/janua/storage"
)

// An authorization response writes its rows (the code, its OpenID Connect
// request and PKCE challenge; for a hybrid response the access token too)
// in one statement.
func TestE2EAuthorizeWritesOnce(t *testing.T) {
	t.Parallel()
	eachBackend(t, nil, func(t *testing.T, o *op) {
		c := o.register(t, oidc.ClientSpec{FirstParty: true})
		rp := o.goRP(t, c)
		a := o.agent()
		rp.login(a) // signed in; the client is cached
		before := o.store.Stats()
		resp, nonce, verifier := rp.code(a)
		if n := o.store.Stats().Of(storage.StatementCreate) - before.Of(storage.StatementCreate); n != 1 {
			t.Errorf("the authorization response took %d INSERTs, want 1", n)
		}
		s := rp.exchange(resp.Get("code"), nonce, verifier) // the rows are all there
		if s.Claims["nonce"] != nonce {
			t.Errorf("nonce %v", s.Claims["nonce"])
		}
	})
}

// A password sign-in reads the user with its hash in one statement and its
// second factors in another, and writes in one transaction the session, the
// browser it came from and its audit events in one INSERT. From a browser
// the user signed in from before it takes seven statements; from a new one
// (the sign-in alert: a mail queued, a second audit event) the writes grow
// by the known-browser check, its row and the mail, not by an audit INSERT.
func TestE2EPasswordSignInStatements(t *testing.T) {
	t.Parallel()
	eachBackend(t, nil, func(t *testing.T, o *op) {
		signIn := func(b *browser) storage.Stats {
			t.Helper()
			b.get(oidc.LoginPath)
			before := o.store.Stats()
			form := url.Values{"email": {o.email}, "password": {testPassword}}
			if res := b.submit(oidc.LoginPath, form); res.StatusCode != http.StatusSeeOther {
				t.Fatalf("sign-in: %d\n%s", res.StatusCode, b.page)
			}
			after := o.store.Stats()
			for _, k := range storage.StatementKinds() {
				after.Statements[k] -= before.Statements[k]
			}
			return after
		}
		first := o.browser()
		signIn(first) // the first browser: no alert
		// The same browser (its identity cookie) without the session.
		again := o.browser()
		u, _ := url.Parse(o.URL)
		again.c.Jar.SetCookies(u, []*http.Cookie{{Name: "janua-browser", Value: first.cookie("janua-browser"), Path: "/"}})
		known := signIn(again)
		for k, want := range map[storage.StatementKind]uint64{
			storage.StatementQuery: 1, storage.StatementRow: 1, storage.StatementBegin: 1, storage.StatementCreate: 2,
			storage.StatementUpdate: 1, storage.StatementCommit: 1,
		} {
			if got := known.Of(k); got != want {
				t.Errorf("sign-in from a known browser: %d statements of kind %d, want %d", got, k, want)
			}
		}
		if known.Total() != 7 {
			t.Errorf("sign-in from a known browser took %d statements, want 7: %+v", known.Total(), known.Statements)
		}
		// The mail worker may claim and mark the alert meanwhile (Row,
		// Update): only the kinds it never sends are exact.
		fresh := signIn(o.browser())
		for k, want := range map[storage.StatementKind]uint64{
			storage.StatementQuery: 2, storage.StatementBegin: 1, storage.StatementCreate: 4, storage.StatementCommit: 1,
		} {
			if got := fresh.Of(k); got != want {
				t.Errorf("sign-in from a new browser: %d statements of kind %d, want %d", got, k, want)
			}
		}
		if alerts := o.audit("login.new_browser"); len(alerts) != 1 {
			t.Errorf("%d new-browser events, want 1", len(alerts))
		}
	})
}
