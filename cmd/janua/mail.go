package main

import (
	"errors"
	"log/slog"
	"net/url"
	"strings"

	"github.com/madfam-org/janua/mail"
	"github.com/madfam-org/janua/storage"
	"github.com/madfam-org/janua/templates"
)

// newMail builds the outbox every instance delivers from, and its sender:
// the configured SMTP server or, in development without one, the mailbox,
// returned too so that its page can be mounted.
func newMail(c Config, log *slog.Logger, store *storage.Store, set *templates.Set) (*mail.Outbox, *mail.Mailbox, error) {
	var sender mail.Sender
	var box *mail.Mailbox
	if c.devMailbox() {
		if c.production() {
			return nil, nil, errors.New("mail.smtp_host is required in production")
		}
		box = mail.NewMailbox(mail.MailboxOptions{Templates: set, Log: log})
		sender = box
	} else {
		s, err := mail.NewSMTP(smtpOptions(c))
		if err != nil {
			return nil, nil, err
		}
		sender = s
	}
	outbox := mail.NewOutbox(store, mail.OutboxOptions{
		Sender: sender, Templates: set, Issuer: c.Issuer,
		Retry:       mail.Retry{Attempts: c.Mail.MaxAttempts},
		SendTimeout: c.Mail.SMTPTimeout,
		Log:         log,
	})
	return outbox, box, nil
}

// smtpOptions is the SMTP client's configuration; it says EHLO with the
// issuer's host name.
func smtpOptions(c Config) mail.SMTPOptions {
	local := "localhost"
	if u, err := url.Parse(c.Issuer); err == nil && u.Hostname() != "" {
		local = u.Hostname()
	}
	m := c.Mail
	return mail.SMTPOptions{
		Host: m.SMTPHost, Port: m.SMTPPort, Security: m.SMTPTLS,
		Username: m.SMTPUsername, Password: m.SMTPPassword,
		From: m.From, FromName: m.FromName,
		LocalName: local, Timeout: m.SMTPTimeout,
	}
}

// describeMail says where mail goes, for the banner and the ready line.
func describeMail(c Config) string {
	if c.devMailbox() {
		return "development mailbox at " + strings.TrimSuffix(c.Issuer, "/") + mail.MailboxPath
	}
	s, err := mail.NewSMTP(smtpOptions(c))
	if err != nil {
		return "smtp " + c.Mail.SMTPHost
	}
	return s.Describe()
}
