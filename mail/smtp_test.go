package mail_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	netmail "net/mail"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/madfam-org/janua/mail"
	"github.com/madfam-org/janua/storage"
	"github.com/madfam-org/janua/storage/storagetest"
)

func smtpErr(code int, msg string) smtp.SMTPError {
	return smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCodeNotSet, Message: msg}
}

// smtpSender is an SMTP client of srv that trusts its CA, with the right
// credentials unless tune changes them.
func smtpSender(t *testing.T, srv *smtpServer, security string, tune func(*mail.SMTPOptions)) *mail.SMTP {
	t.Helper()
	o := mail.SMTPOptions{
		Host: srv.Host, Port: srv.Port, Security: security,
		Username: smtpUser, Password: smtpPassword,
		From: "no-reply@id.example.com", FromName: "Acme ID — Identidad",
		LocalName: "id.example.com", Timeout: 10 * time.Second,
		TLSConfig: &tls.Config{RootCAs: srv.Roots},
	}
	if security == mail.SecurityNone {
		o.Username, o.Password = "", ""
	}
	if tune != nil {
		tune(&o)
	}
	s, err := mail.NewSMTP(o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// parsed is a received message taken apart with net/mail and mime/multipart.
type parsed struct {
	header      netmail.Header
	subject     string
	text, html  string
	partHeaders []map[string][]string
}

func parseMessage(t *testing.T, raw []byte) parsed {
	t.Helper()
	for i, line := range bytes.Split(raw, []byte("\r\n")) {
		if len(line) > 78 && !bytes.HasPrefix(line, []byte("Content-Type: multipart")) {
			t.Errorf("line %d is %d characters long: %q", i, len(line), line)
		}
		if bytes.ContainsAny(line, "\r\n") {
			t.Errorf("line %d has a bare CR or LF", i)
		}
		for _, c := range line {
			if c >= 0x80 {
				t.Fatalf("line %d is not 7-bit: %q", i, line)
			}
		}
	}
	msg, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("net/mail cannot read the message: %v\n%s", err, raw)
	}
	p := parsed{header: msg.Header}
	p.subject, err = new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type %q: %v", msg.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	var bodies []string
	for {
		part, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		p.partHeaders = append(p.partHeaders, part.Header)
		if part.Header.Get("Content-Transfer-Encoding") != "quoted-printable" {
			t.Errorf("part encoding %q", part.Header.Get("Content-Transfer-Encoding"))
		}
		b, err := io.ReadAll(quotedprintable.NewReader(part))
		if err != nil {
			t.Fatal(err)
		}
		bodies = append(bodies, string(b))
	}
	if len(bodies) != 2 {
		t.Fatalf("%d parts, want text and HTML", len(bodies))
	}
	p.text, p.html = bodies[0], bodies[1]
	return p
}

// Each way of reaching a server delivers a well-formed message in the
// user's language, with the link and the code in both parts, and only
// after authenticating.
func TestSMTPDelivery(t *testing.T) {
	for _, tc := range []struct {
		name     string
		server   smtpServerOptions
		security string
		lang     string
		kind     string
	}{
		{"STARTTLS and AUTH PLAIN", smtpServerOptions{}, mail.SecurityStartTLS, "en", mail.KindMagicLink},
		{"STARTTLS and AUTH LOGIN only", smtpServerOptions{mechs: []string{"LOGIN"}}, mail.SecurityStartTLS, "es", mail.KindMagicLink},
		{"implicit TLS", smtpServerOptions{implicitTLS: true}, mail.SecurityTLS, "es", mail.KindPasswordReset},
		{"implicit TLS in English", smtpServerOptions{implicitTLS: true, mechs: []string{"PLAIN"}}, mail.SecurityTLS, "en", mail.KindVerifyEmail},
		{"clear to a local relay", smtpServerOptions{noTLS: true, noAuth: true}, mail.SecurityNone, "en", mail.KindEmailCode},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newSMTPServer(t, tc.server)
			f := newFixture(t, storagetest.Backend{}, smtpSender(t, srv, tc.security, nil), nil)
			m := magicLink("ana.ortiz@example.com", tc.lang)
			m.Kind = tc.kind
			f.enqueue(t, m)
			f.deliver(t, 1)
			got := srv.Received()
			if len(got) != 1 {
				t.Fatalf("received %d", len(got))
			}
			r := got[0]
			if r.From != "no-reply@id.example.com" || len(r.To) != 1 || r.To[0] != "ana.ortiz@example.com" || r.TLS != (tc.security != mail.SecurityNone) {
				t.Fatalf("envelope %s → %v (TLS %v)", r.From, r.To, r.TLS)
			}
			p := parseMessage(t, r.Data)
			data := map[string]string{"brand": "Acme ID", "issuer": issuer}
			for k, v := range m.Data {
				data[k] = v
			}
			wantSubject, _, _, err := f.set.Mail(tc.lang, tc.kind, data)
			if err != nil {
				t.Fatal(err)
			}
			if p.subject != wantSubject {
				t.Errorf("subject %q, want %q", p.subject, wantSubject)
			}
			if tc.lang == "es" && !strings.ContainsAny(p.subject, "áéíóúñ") && p.header.Get("Subject") == p.subject {
				t.Errorf("Spanish subject %q", p.subject)
			}
			from, err := p.header.AddressList("From")
			if err != nil || len(from) != 1 || from[0].Name != "Acme ID — Identidad" || from[0].Address != "no-reply@id.example.com" {
				t.Errorf("From %q: %v %v", p.header.Get("From"), from, err)
			}
			if to, err := p.header.AddressList("To"); err != nil || len(to) != 1 || to[0].Address != "ana.ortiz@example.com" {
				t.Errorf("To %q", p.header.Get("To"))
			}
			if d, err := p.header.Date(); err != nil || time.Since(d).Abs() > time.Minute {
				t.Errorf("Date %q = %v (%v), want now", p.header.Get("Date"), d, err)
			}
			if !regexp.MustCompile(`^<[0-9a-f]{32}@id\.example\.com>$`).MatchString(p.header.Get("Message-ID")) {
				t.Errorf("Message-ID %q", p.header.Get("Message-ID"))
			}
			for k, v := range map[string]string{"MIME-Version": "1.0", "Content-Language": tc.lang, "Auto-Submitted": "auto-generated"} {
				if p.header.Get(k) != v {
					t.Errorf("%s: %q, want %q", k, p.header.Get(k), v)
				}
			}
			if !strings.HasPrefix(p.partHeaders[0]["Content-Type"][0], "text/plain; charset=utf-8") ||
				!strings.HasPrefix(p.partHeaders[1]["Content-Type"][0], "text/html; charset=utf-8") {
				t.Errorf("parts %v: want text/plain then text/html", p.partHeaders)
			}
			want := []string{testCode}
			if tc.kind != mail.KindEmailCode {
				want = []string{issuer + "/login/magic?token=" + testToken}
			}
			if tc.kind == mail.KindMagicLink {
				want = append(want, testCode)
			}
			for _, w := range want {
				if !strings.Contains(p.text, w) {
					t.Errorf("the text part lacks %q:\n%s", w, p.text)
				}
				if !strings.Contains(p.html, strings.ReplaceAll(w, "&", "&amp;")) {
					t.Errorf("the HTML part lacks %q:\n%s", w, p.html)
				}
			}
			if !strings.Contains(p.html, `<html lang="`+tc.lang+`"`) || !strings.Contains(p.text, "Acme ID") {
				t.Errorf("parts not in %s or not branded", tc.lang)
			}
			if m := f.only(t); m.Status != storage.MailSent {
				t.Fatalf("outbox: %+v", m)
			}
		})
	}
}

// Credentials are required and never sent in clear; STARTTLS, when
// configured, is required; the server's certificate is verified. Each of
// these failures is the deployment's, so it is retried, not a dead letter.
func TestSMTPSecurity(t *testing.T) {
	email := mail.Email{To: "ana@example.com", Lang: "en", Kind: mail.KindEmailCode, Subject: "Code", Text: "493817", HTML: "<p>493817</p>"}
	for _, tc := range []struct {
		name     string
		server   smtpServerOptions
		security string
		tune     func(*mail.SMTPOptions)
		want     string // in the error
		authFail int
	}{
		{"wrong password", smtpServerOptions{}, mail.SecurityStartTLS,
			func(o *mail.SMTPOptions) { o.Password = "wrong" }, "535", 1},
		{"no credentials", smtpServerOptions{}, mail.SecurityStartTLS,
			func(o *mail.SMTPOptions) { o.Username, o.Password = "", "" }, "530", 0},
		{"STARTTLS not offered", smtpServerOptions{noTLS: true}, mail.SecurityStartTLS, nil, "STARTTLS", 0},
		{"untrusted certificate", smtpServerOptions{}, mail.SecurityStartTLS,
			func(o *mail.SMTPOptions) { o.TLSConfig = nil }, "certificate", 0},
		{"untrusted certificate, implicit TLS", smtpServerOptions{implicitTLS: true}, mail.SecurityTLS,
			func(o *mail.SMTPOptions) { o.TLSConfig = nil }, "certificate", 0},
		{"no mechanism in common", smtpServerOptions{mechs: []string{"CRAM-MD5"}}, mail.SecurityStartTLS, nil, "PLAIN and LOGIN", 0},
		{"nobody listening", smtpServerOptions{}, mail.SecurityStartTLS,
			func(o *mail.SMTPOptions) { o.Port = 1 }, "connect", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newSMTPServer(t, tc.server)
			err := smtpSender(t, srv, tc.security, tc.tune).Send(context.Background(), email)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Send: %v, want an error naming %q", err, tc.want)
			}
			if mail.IsPermanent(err) {
				t.Errorf("%v is marked permanent: the deployment's trouble must be retried", err)
			}
			if srv.authFail != tc.authFail || len(srv.Received()) != 0 {
				t.Errorf("auth failures %d (want %d), received %d", srv.authFail, tc.authFail, len(srv.Received()))
			}
		})
	}
	// A cancelled context ends a delivery at once.
	srv := newSMTPServer(t, smtpServerOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := smtpSender(t, srv, mail.SecurityStartTLS, nil).Send(ctx, email); err == nil {
		t.Fatal("sent with a cancelled context")
	}
}

// The sender's address and name are checked when the client is built.
func TestNewSMTPChecks(t *testing.T) {
	for name, o := range map[string]mail.SMTPOptions{
		"no host":          {From: "a@example.com"},
		"no from":          {Host: "127.0.0.1"},
		"from with a name": {Host: "127.0.0.1", From: "Ana <a@example.com>"},
		"from injection":   {Host: "127.0.0.1", From: "a@example.com\r\nBcc: b@example.com"},
		"name injection":   {Host: "127.0.0.1", From: "a@example.com", FromName: "Acme\r\nBcc: b@example.com"},
		"bad security":     {Host: "127.0.0.1", From: "a@example.com", Security: "ssl"},
		"bad port":         {Host: "127.0.0.1", From: "a@example.com", Port: 70000},
	} {
		if _, err := mail.NewSMTP(o); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	s, err := mail.NewSMTP(mail.SMTPOptions{Host: "smtp.example.com", From: "a@example.com", Security: mail.SecurityTLS})
	if err != nil || s.Describe() != "smtp smtp.example.com:465 (tls)" {
		t.Fatalf("%v %v", s, err)
	}
}
