// Package consent owns the consent page and remembered grants: it shows a
// signed-in user which client asks for what (the scopes in plain words),
// remembers what they allow (the union of every grant to that client),
// writes the grant — or the refusal — onto the flow record, and tells oidc
// through Gate when a request needs no page at all (a first-party client,
// or scopes already granted).
//
// It never issues tokens and never imports oidc or login: it implements
// oidc.ConsentGate structurally, learns who is signed in through the
// SignedIn interface (login.Sessions satisfies it), and cmd/janua wires the
// three together.
package consent
