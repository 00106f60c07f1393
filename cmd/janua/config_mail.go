package main

import (
	netmail "net/mail"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/madfam-org/janua/mail"
)

// MailConfig is how mail is delivered: through an SMTP server, or, in
// development without one, into the mailbox at /dev/mailbox.
type MailConfig struct {
	From         string        `yaml:"from"`
	FromName     string        `yaml:"from_name"`
	SMTPHost     string        `yaml:"smtp_host"`
	SMTPPort     int           `yaml:"smtp_port"`
	SMTPUsername string        `yaml:"smtp_username"`
	SMTPPassword string        `yaml:"smtp_password"`
	SMTPTLS      string        `yaml:"smtp_tls"` // starttls | tls | none
	SMTPTimeout  time.Duration `yaml:"smtp_timeout"`
	MaxAttempts  int           `yaml:"max_attempts"`
	Retention    time.Duration `yaml:"retention"`
}

func defaultMailConfig() MailConfig {
	return MailConfig{
		FromName:    "Janua",
		SMTPTLS:     mail.SecurityStartTLS,
		SMTPTimeout: 30 * time.Second,
		MaxAttempts: 10,
		Retention:   7 * 24 * time.Hour,
	}
}

// devMailbox reports whether mail goes to the development mailbox.
func (c *Config) devMailbox() bool { return c.Mail.SMTPHost == "" }

// validateMail checks the mail settings. Production must name an SMTP
// server: the development mailbox would keep sign-in links in memory for
// anyone who finds the page, and deliver nothing.
func (c *Config) validateMail() problems {
	var p problems
	m := c.Mail
	if !slices.Contains([]string{mail.SecurityStartTLS, mail.SecurityTLS, mail.SecurityNone}, m.SMTPTLS) {
		p.add("mail.smtp_tls: %q must be starttls, tls or none", m.SMTPTLS)
	}
	if m.SMTPPort < 0 || m.SMTPPort > 65535 {
		p.add("mail.smtp_port: %d is not a port number", m.SMTPPort)
	}
	if m.SMTPTimeout <= 0 {
		p.add("mail.smtp_timeout: must be positive")
	}
	if m.MaxAttempts < 1 || m.MaxAttempts > 100 {
		p.add("mail.max_attempts: %d must be between 1 and 100", m.MaxAttempts)
	}
	if m.Retention <= 0 {
		p.add("mail.retention: must be positive")
	}
	if m.From != "" {
		if a, err := netmail.ParseAddress(m.From); err != nil || a.Name != "" || a.Address != m.From {
			p.add("mail.from: %q must be a plain address like no-reply@example.com", m.From)
		}
	}
	if strings.ContainsAny(m.FromName, "\r\n") {
		p.add("mail.from_name: must be one line")
	}
	if (m.SMTPUsername == "") != (m.SMTPPassword == "") {
		p.add("mail.smtp_username and mail.smtp_password: set both or neither")
	}
	if m.SMTPHost != "" {
		if m.From == "" {
			p.add("mail.from: JANUA_MAIL_FROM is required with an SMTP server")
		}
		if m.SMTPTLS == mail.SecurityNone && !loopbackHost(m.SMTPHost) {
			p.add("mail.smtp_tls: none sends mail (and credentials) in clear, so only to a relay on this host (localhost, 127.0.0.1, ::1), not %q; use starttls or tls", m.SMTPHost)
		}
	}
	if c.production() && m.SMTPHost == "" {
		p.add("mail.smtp_host: JANUA_SMTP_HOST is required in production (without it mail goes to the development mailbox, which production never serves)")
	}
	return p
}

func loopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}
