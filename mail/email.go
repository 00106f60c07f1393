package mail

import (
	"context"
	"errors"
	"strings"
)

// Email is one rendered message, as a Sender receives it.
type Email struct {
	To      string
	Lang    string
	Kind    string
	Subject string
	Text    string
	HTML    string
	// Data is the message's data (links, codes): only the development
	// mailbox shows it, so scripts can read them.
	Data map[string]string
}

// Sender delivers rendered email: the SMTP client, or in development the
// Mailbox. An error marked Permanent means retrying cannot help (the server
// refused the sender, the recipient or the message for good); any other
// error is retried with backoff.
type Sender interface {
	Send(ctx context.Context, e Email) error
}

// permanentError marks a failure retrying cannot fix.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent marks err as a failure that retrying cannot fix.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

// IsPermanent reports whether err, or an error it wraps, was marked Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

// maskAddress keeps an address recognisable in logs without writing it
// out: "ana.ortiz@example.com" → "a***@example.com".
func maskAddress(addr string) string {
	local, domain, ok := strings.Cut(addr, "@")
	if !ok || local == "" {
		return "***"
	}
	r := []rune(local)
	return string(r[0]) + "***@" + domain
}
