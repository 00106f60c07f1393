package main

import (
	"bytes"
	"io"
	"log"
	"mime"
	"mime/multipart"
	"net"
	netmail "net/mail"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// mailCatcher is a real SMTP server (emersion/go-smtp) on 127.0.0.1 that
// keeps every message Janua's outbox delivers to it, for the tests of the
// mailed sign-in, verification and reset: they read the link or code from
// the message as a user would. It speaks plain SMTP without AUTH, which
// Janua accepts for a relay on the loopback host (mail.smtp_tls none).
type mailCatcher struct {
	port int
	mu   sync.Mutex
	all  []caughtMail
	got  chan caughtMail
}

// caughtMail is one delivered message, decoded.
type caughtMail struct {
	To, Subject, Lang string
	Text, HTML        string
}

func newMailCatcher(t testing.TB) *mailCatcher {
	t.Helper()
	mc := &mailCatcher{got: make(chan caughtMail, 1000)}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &catcherSession{mc: mc, t: t}, nil }))
	srv.Domain = "mx.test"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.ErrorLog = log.New(io.Discard, "", 0)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mc.port = ln.Addr().(*net.TCPAddr).Port
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return mc
}

// configure points Janua's mail at the catcher.
func (mc *mailCatcher) configure(c *Config) {
	c.Mail.SMTPHost, c.Mail.SMTPPort, c.Mail.SMTPTLS = "127.0.0.1", mc.port, "none"
	c.Mail.From = "janua@example.com"
}

// The kinds of message the tests wait for, told apart by their English
// subjects (templates/locales/en.mail.json).
const (
	kindMagicLink       = "sign-in link"
	kindVerifyEmail     = "Confirm your email"
	kindPasswordReset   = "Reset your"
	kindPasswordChanged = "password was changed"
	kindNewSignIn       = "New sign-in"
)

// next waits for the next message to to whose subject holds kind; others
// (another recipient's, another kind) are skipped.
func (mc *mailCatcher) next(t testing.TB, to, kind string) caughtMail {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		select {
		case m := <-mc.got:
			if strings.EqualFold(m.To, to) && strings.Contains(m.Subject, kind) {
				return m
			}
		case <-deadline:
			t.Fatalf("no message to %s arrived at the SMTP server", to)
			return caughtMail{}
		}
	}
}

// count is how many messages of kind ("" for any) arrived so far.
func (mc *mailCatcher) count(kind string) int {
	mc.mu.Lock()
	defer mc.mu.Unlock()
	n := 0
	for _, m := range mc.all {
		if strings.Contains(m.Subject, kind) {
			n++
		}
	}
	return n
}

var (
	mailLink = regexp.MustCompile(`https?://[^\s"<>]+\?token=[A-Za-z0-9_-]{43}`)
	mailCode = regexp.MustCompile(`\b(\d{8})\b`)
)

// link is the one link with a token in the message's text.
func (m caughtMail) link(t testing.TB) string {
	t.Helper()
	links := mailLink.FindAllString(m.Text, -1)
	if len(links) == 0 {
		t.Fatalf("no link in the message %q:\n%s", m.Subject, m.Text)
	}
	for _, l := range links[1:] {
		if l != links[0] {
			t.Fatalf("several links in the message: %v", links)
		}
	}
	if !strings.Contains(m.HTML, strings.ReplaceAll(links[0], "&", "&amp;")) {
		t.Errorf("the HTML part lacks the link %s", links[0])
	}
	return links[0]
}

// code is the 8-digit code in the message's text.
func (m caughtMail) code(t testing.TB) string {
	t.Helper()
	c := mailCode.FindStringSubmatch(m.Text)
	if c == nil {
		t.Fatalf("no code in the message %q:\n%s", m.Subject, m.Text)
	}
	return c[1]
}

// catcherSession is one SMTP transaction.
type catcherSession struct {
	mc *mailCatcher
	t  testing.TB
	to string
}

func (s *catcherSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *catcherSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = to
	return nil
}
func (s *catcherSession) Reset()        { s.to = "" }
func (s *catcherSession) Logout() error { return nil }

func (s *catcherSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m, err := decodeMail(raw)
	if err != nil {
		s.t.Errorf("undecodable message: %v\n%s", err, raw)
		return err
	}
	m.To = s.to
	s.mc.mu.Lock()
	s.mc.all = append(s.mc.all, m)
	s.mc.mu.Unlock()
	s.mc.got <- m
	return nil
}

// decodeMail reads a multipart/alternative message: its subject, language
// and both parts, quoted-printable decoded.
func decodeMail(raw []byte) (caughtMail, error) {
	msg, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return caughtMail{}, err
	}
	var m caughtMail
	dec := new(mime.WordDecoder)
	if m.Subject, err = dec.DecodeHeader(msg.Header.Get("Subject")); err != nil {
		return m, err
	}
	m.Lang = msg.Header.Get("Content-Language")
	_, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		return m, err
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return m, nil
		}
		if err != nil {
			return m, err
		}
		body, err := io.ReadAll(p) // quoted-printable is decoded by the reader
		if err != nil {
			return m, err
		}
		switch ct := p.Header.Get("Content-Type"); {
		case strings.HasPrefix(ct, "text/plain"):
			m.Text = string(body)
		case strings.HasPrefix(ct, "text/html"):
			m.HTML = string(body)
		}
	}
}
