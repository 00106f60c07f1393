package mail

import "context"

// The kinds of message, each an HTML and a text template of the same name.
// The Data keys each kind reads are listed beside it; every kind may also
// read "name" (the user's display name, possibly empty).
const (
	// KindVerifyEmail: "url", "expires_minutes".
	KindVerifyEmail = "verify_email"
	// KindMagicLink: "url", "code", "expires_minutes", "client" (the
	// application being signed in to, possibly empty).
	KindMagicLink = "magic_link"
	// KindEmailCode: "code", "expires_minutes", "client".
	KindEmailCode = "email_code"
	// KindPasswordReset: "url", "expires_minutes".
	KindPasswordReset = "password_reset"
	// KindPasswordChanged: "time", "ip".
	KindPasswordChanged = "password_changed"
	// KindNewSignIn: "time", "ip", "user_agent", "method".
	KindNewSignIn = "new_signin"
	// KindMFAChanged: "change" (a message key such as
	// "mail.mfa.passkey_added"), "detail" (e.g. the passkey's name), "time", "ip".
	KindMFAChanged = "mfa_changed"
)

// Message is one email to one address. Data holds only strings so that a
// message is stored in the outbox exactly as it will be rendered.
type Message struct {
	To   string
	Lang string // the recipient's page language ("en", "es"); English when empty
	Kind string
	Data map[string]string
}

// Queue accepts messages for delivery. Enqueue joins the transaction in ctx
// (storage.Store.InTx) when there is one: the message exists if and only if
// the caller's transaction commits. It never waits for a mail server.
type Queue interface {
	Enqueue(ctx context.Context, m Message) error
}

// required lists, per kind, the Data keys a message cannot do without; a
// kind absent here needs none (its template shows what it is given).
var required = map[string][]string{
	KindVerifyEmail:     {"url"},
	KindMagicLink:       {"url"},
	KindEmailCode:       {"code"},
	KindPasswordReset:   {"url"},
	KindPasswordChanged: nil,
	KindNewSignIn:       nil,
	KindMFAChanged:      {"change"},
}

// Kinds returns every kind of message, in a stable order.
func Kinds() []string {
	return []string{KindVerifyEmail, KindMagicLink, KindEmailCode, KindPasswordReset,
		KindPasswordChanged, KindNewSignIn, KindMFAChanged}
}
