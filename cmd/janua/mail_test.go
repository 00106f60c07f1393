package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/madfam-org/janua/mail"
	"github.com/madfam-org/janua/storage"
	"github.com/madfam-org/janua/storage/storagetest"
)

func TestMailConfigValidation(t *testing.T) {
	prod := map[string]string{"JANUA_ENV": "production", "JANUA_SECRET": strings.Repeat("k", 40),
		"JANUA_ISSUER": "https://id.example.com", "JANUA_DATABASE_URL": "postgres://db/janua"}
	with := func(base map[string]string, kv ...string) map[string]string {
		out := map[string]string{}
		for k, v := range base {
			out[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			out[kv[i]] = kv[i+1]
		}
		return out
	}
	for _, tc := range []struct {
		name string
		env  map[string]string
		want []string // substrings; empty means valid
	}{
		{"development without SMTP: the mailbox", nil, nil},
		{"production without SMTP", prod, []string{"mail.smtp_host", "JANUA_SMTP_HOST is required in production"}},
		{"production with SMTP", with(prod, "JANUA_SMTP_HOST", "smtp.example.com", "JANUA_MAIL_FROM", "no-reply@example.com",
			"JANUA_SMTP_USERNAME", "janua", "JANUA_SMTP_PASSWORD", "pw"), nil},
		{"SMTP without a sender", with(nil, "JANUA_SMTP_HOST", "smtp.example.com"), []string{"mail.from", "JANUA_MAIL_FROM"}},
		{"sender with a display name", with(nil, "JANUA_MAIL_FROM", "Janua <no-reply@example.com>"), []string{"mail.from", "plain address"}},
		{"sender name of two lines", with(nil, "JANUA_MAIL_FROM_NAME", "Janua\nBcc: x@example.com"), []string{"mail.from_name"}},
		{"clear text to a remote host", with(nil, "JANUA_SMTP_HOST", "smtp.example.com", "JANUA_MAIL_FROM", "a@example.com", "JANUA_SMTP_TLS", "none"),
			[]string{"mail.smtp_tls", "in clear", "smtp.example.com"}},
		{"clear text to a local relay", with(nil, "JANUA_SMTP_HOST", "127.0.0.1", "JANUA_MAIL_FROM", "a@example.com", "JANUA_SMTP_TLS", "none"), nil},
		{"clear text to localhost", with(nil, "JANUA_SMTP_HOST", "localhost", "JANUA_MAIL_FROM", "a@example.com", "JANUA_SMTP_TLS", "none"), nil},
		{"unknown TLS mode", with(nil, "JANUA_SMTP_TLS", "ssl"), []string{"mail.smtp_tls", `"ssl"`}},
		{"half the credentials", with(nil, "JANUA_SMTP_USERNAME", "janua"), []string{"set both or neither"}},
		{"bad numbers", with(nil, "JANUA_SMTP_PORT", "70000", "JANUA_MAIL_MAX_ATTEMPTS", "0", "JANUA_SMTP_TIMEOUT", "0s", "JANUA_MAIL_RETENTION", "0s"),
			[]string{"mail.smtp_port", "mail.max_attempts", "mail.smtp_timeout", "mail.retention"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadConfig("", func(k string) string { return tc.env[k] }, nil)
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("unexpected: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted, want problems %v", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestMailPasswordFromFileAndRedacted(t *testing.T) {
	c := newCLI(t)
	c.env["JANUA_SMTP_HOST"] = "smtp.example.com"
	c.env["JANUA_MAIL_FROM"] = "no-reply@example.com"
	c.env["JANUA_SMTP_USERNAME"] = "janua"
	c.env["JANUA_SMTP_PASSWORD_FILE"] = writeFile(t, c.dir, "smtp", "smtp-pa55word\n")
	out := c.must("config")
	if strings.Contains(out, "smtp-pa55word") || !strings.Contains(out, "smtp.example.com") {
		t.Fatalf("janua config:\n%s", out)
	}
	cfg, err := loadConfig("", c.getenv, nil)
	if err != nil || cfg.Mail.SMTPPassword != "smtp-pa55word" {
		t.Fatalf("password from file %q: %v", cfg.Mail.SMTPPassword, err)
	}
}

// /dev/mailbox exists only while mail goes to it.
func TestDevMailboxMountedOnlyWithoutSMTP(t *testing.T) {
	dev := newInteractionServer(t, serverOptions{})
	res, body := httpGet(t, dev.URL+mail.MailboxPath+"?format=json")
	if res.StatusCode != 200 || strings.TrimSpace(body) != `{"messages":[]}` {
		t.Fatalf("development mailbox: %d %s", res.StatusCode, body)
	}
	res, body = httpGet(t, dev.URL+mail.MailboxPath)
	if res.StatusCode != 200 || !strings.Contains(body, "Development mailbox") {
		t.Fatalf("development mailbox page: %d", res.StatusCode)
	}
	withSMTP := newInteractionServer(t, serverOptions{config: func(c *Config) {
		c.Mail.SMTPHost, c.Mail.From, c.Mail.SMTPTLS = "127.0.0.1", "no-reply@example.com", mail.SecurityNone
	}})
	for _, p := range []string{mail.MailboxPath, mail.MailboxPath + "?format=json", mail.MailboxPath + "/1/html"} {
		if res, _ := httpGet(t, withSMTP.URL+p); res.StatusCode != http.StatusNotFound {
			t.Errorf("%s with SMTP configured: %d, want 404", p, res.StatusCode)
		}
	}
}

// The server runs the outbox worker: mail queued before it starts is
// delivered, to the development mailbox or to the configured SMTP server.
func TestServerDeliversQueuedMail(t *testing.T) {
	relay := newRelay(t)
	for _, tc := range []struct {
		name string
		smtp bool
	}{{"development mailbox", false}, {"SMTP", true}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			c := defaultConfig()
			c.Issuer, c.DataDir, c.Secret = "http://127.0.0.1:4100", t.TempDir(), strings.Repeat("s", 40)
			c.Database.URL = storagetest.SQLiteBackend().NewDatabaseURL(t)
			if tc.smtp {
				host, port, _ := net.SplitHostPort(relay.addr)
				c.Mail.SMTPHost, c.Mail.From, c.Mail.SMTPTLS = host, "no-reply@example.com", mail.SecurityNone
				_ = setValue(&c.Mail.SMTPPort, port)
			}
			if probs := c.validate(); len(probs) > 0 {
				t.Fatal(probs.err())
			}
			store, err := storage.Open(ctx, storage.Options{URL: c.Database.URL, Secret: []byte(c.Secret)})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = store.Close() })
			if _, err := store.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			to := "queued-" + strings.ReplaceAll(tc.name, " ", "-") + "@example.com"
			if err := store.EnqueueMail(ctx, &storage.OutboxMessage{Recipient: to, Lang: "es", Kind: mail.KindEmailCode,
				Data: map[string]string{"code": "604213", "expires_minutes": "10"}}); err != nil {
				t.Fatal(err)
			}
			hot := storage.NewMemoryHotState(storage.MemoryHotStateOptions{})
			t.Cleanup(func() { _ = hot.Close() })
			a := &app{io: streams{in: strings.NewReader(""), out: io.Discard, err: io.Discard}}
			t.Cleanup(cancel)
			e, err := a.newServer(ctx, c, slog.New(slog.DiscardHandler), store, hot)
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(e)
			t.Cleanup(srv.Close)
			if tc.smtp {
				got := relay.wait(t)
				if got.to != to || !bytes.Contains(got.data, []byte("604213")) || !bytes.Contains(got.data, []byte("From: \"Janua\" <no-reply@example.com>")) {
					t.Fatalf("relay received %s:\n%s", got.to, got.data)
				}
				return
			}
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
				_, body := httpGet(t, srv.URL+mail.MailboxPath+"?format=json")
				var list struct{ Messages []mail.MailboxMessage }
				_ = json.Unmarshal([]byte(body), &list)
				if len(list.Messages) == 1 {
					m := list.Messages[0]
					if m.To != to || m.Data["code"] != "604213" || !strings.Contains(m.Subject, "código") {
						t.Fatalf("mailbox holds %+v", m)
					}
					return
				}
				if time.Now().After(deadline) {
					t.Fatalf("the queued message never reached the mailbox: %s", body)
				}
			}
		})
	}
}

func httpGet(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

// relay is a local SMTP relay (emersion/go-smtp) that accepts everything.
type relay struct {
	addr string
	got  chan relayed
}

type relayed struct {
	to   string
	data []byte
}

func newRelay(t *testing.T) *relay {
	t.Helper()
	r := &relay{got: make(chan relayed, 10)}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &relaySession{r: r}, nil }))
	srv.Domain = "relay.test"
	srv.ErrorLog = log.New(io.Discard, "", 0)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.addr = ln.Addr().String()
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return r
}

func (r *relay) wait(t *testing.T) relayed {
	t.Helper()
	select {
	case m := <-r.got:
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("the relay received nothing")
		return relayed{}
	}
}

type relaySession struct {
	r  *relay
	mu sync.Mutex
	to string
}

func (s *relaySession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *relaySession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.mu.Lock()
	s.to = to
	s.mu.Unlock()
	return nil
}
func (s *relaySession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.r.got <- relayed{to: s.to, data: b}
	return nil
}
func (s *relaySession) Reset()        {}
func (s *relaySession) Logout() error { return nil }
