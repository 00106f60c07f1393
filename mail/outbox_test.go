package mail_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/madfam-org/janua/mail"
	"github.com/madfam-org/janua/storage"
	"github.com/madfam-org/janua/storage/storagetest"
	"github.com/madfam-org/janua/templates"
)

const (
	issuer    = "https://id.example.com"
	testToken = "tok-3f9a1c7e5b"
	testCode  = "493817"
)

var testSecret = []byte("mail test key-encryption secret, 32+ bytes")

// logBuffer collects log output from several goroutines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// fixture is an outbox over a real store, the real templates and a sender.
type fixture struct {
	store  *storage.Store
	clock  *storagetest.Clock
	set    *templates.Set
	outbox *mail.Outbox
	logs   *logBuffer
}

// newFixture opens a fresh database of b (SQLite when zero) whose clock the
// test moves, and an outbox over it sending with sender.
func newFixture(t *testing.T, b storagetest.Backend, sender mail.Sender, tune func(*mail.OutboxOptions)) *fixture {
	t.Helper()
	if b.NewDatabaseURL == nil {
		b = storagetest.SQLiteBackend()
	}
	f := &fixture{clock: storagetest.NewClock(), logs: &logBuffer{}}
	f.store = openStore(t, b.NewDatabaseURL(t), f.clock.Now)
	set, err := templates.New(templates.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f.set = set
	o := mail.OutboxOptions{Sender: sender, Templates: set, Issuer: issuer, Brand: "Acme ID",
		Log: slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug})), Now: f.clock.Now}
	if tune != nil {
		tune(&o)
	}
	f.outbox = mail.NewOutbox(f.store, o)
	return f
}

func openStore(t *testing.T, url string, now func() time.Time) *storage.Store {
	t.Helper()
	ctx := context.Background()
	s, err := storage.Open(ctx, storage.Options{URL: url, Secret: testSecret, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return s
}

// magicLink is a magic-link message to to.
func magicLink(to, lang string) mail.Message {
	return mail.Message{To: to, Lang: lang, Kind: mail.KindMagicLink, Data: map[string]string{
		"url": issuer + "/login/magic?token=" + testToken, "code": testCode, "expires_minutes": "15", "name": "Ana",
	}}
}

// enqueue queues m outside any transaction and returns its outbox row.
func (f *fixture) enqueue(t *testing.T, m mail.Message) {
	t.Helper()
	if err := f.outbox.Enqueue(context.Background(), m); err != nil {
		t.Fatal(err)
	}
}

// deliver runs one pass and checks how many it sent.
func (f *fixture) deliver(t *testing.T, want int) {
	t.Helper()
	n, err := f.outbox.Deliver(context.Background())
	if err != nil || n != want {
		t.Fatalf("Deliver sent %d (%v), want %d", n, err, want)
	}
}

// only returns the one message in the outbox.
func (f *fixture) only(t *testing.T) storage.OutboxMessage {
	t.Helper()
	ms, err := f.store.ListMail(context.Background(), "", 10)
	if err != nil || len(ms) != 1 {
		t.Fatalf("outbox holds %+v (%v), want one message", ms, err)
	}
	return ms[0]
}

// A 451 is retried after the backoff, and the message arrives once; the
// logs never show the link or the code.
func TestRetryAfterBackoff(t *testing.T) {
	srv := newSMTPServer(t, smtpServerOptions{})
	srv.reply = func(n int) error {
		if n == 1 {
			return &smtpError451
		}
		return nil
	}
	f := newFixture(t, storagetest.Backend{}, smtpSender(t, srv, mail.SecurityStartTLS, nil), nil)
	f.enqueue(t, magicLink("ana@example.com", "en"))
	f.deliver(t, 0)
	m := f.only(t)
	if m.Status != storage.MailPending || m.Attempts != 1 || !strings.Contains(m.LastError, "451") || strings.Contains(m.LastError, "ana@example.com") {
		t.Fatalf("after a 451: %+v", m)
	}
	f.deliver(t, 0) // not due yet
	f.clock.Advance(29 * time.Second)
	f.deliver(t, 0) // the first backoff is 30 s (+ up to 6 s of jitter)
	f.clock.Advance(8 * time.Second)
	f.deliver(t, 1)
	if got := srv.Received(); len(got) != 1 {
		t.Fatalf("received %d messages, want exactly 1", len(got))
	}
	m = f.only(t)
	if m.Status != storage.MailSent || m.Attempts != 2 || len(m.Data) != 0 {
		t.Fatalf("after the retry: %+v", m)
	}
	f.clock.Advance(time.Hour)
	f.deliver(t, 0)
	logs := f.logs.String()
	for _, secret := range []string{testToken, testCode, "ana@example.com", "Sign in"} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log shows %q:\n%s", secret, logs)
		}
	}
	for _, want := range []string{"kind=magic_link", "to=a***@example.com", "attempt=1", "will retry", "451", "mail sent", "attempt=2"} {
		if !strings.Contains(logs, want) {
			t.Errorf("the log lacks %q:\n%s", want, logs)
		}
	}
}

var smtpError451 = smtpErr(451, "4.3.0 try again later")

// A permanent refusal (550 to RCPT) is dead at once and never retried; so
// is a message that cannot be rendered; transient failures die after
// Retry.Attempts.
func TestDeadLetters(t *testing.T) {
	t.Run("550", func(t *testing.T) {
		srv := newSMTPServer(t, smtpServerOptions{})
		srv.rcpt = func(string) error { e := smtpErr(550, "5.1.1 no such user"); return &e }
		f := newFixture(t, storagetest.Backend{}, smtpSender(t, srv, mail.SecurityStartTLS, nil), nil)
		f.enqueue(t, magicLink("ghost@example.com", "en"))
		f.deliver(t, 0)
		m := f.only(t)
		if m.Status != storage.MailDead || m.Attempts != 1 || !strings.Contains(m.LastError, "550") || len(m.Data) != 0 {
			t.Fatalf("after a 550: %+v", m)
		}
		f.clock.Advance(2 * time.Hour)
		f.deliver(t, 0)
		if srv.dataN != 0 || len(srv.Received()) != 0 {
			t.Fatal("a refused message was sent again")
		}
		if !strings.Contains(f.logs.String(), "refused for good") {
			t.Errorf("log: %s", f.logs.String())
		}
	})
	t.Run("Unrenderable", func(t *testing.T) {
		box := mail.NewMailbox(mail.MailboxOptions{})
		f := newFixture(t, storagetest.Backend{}, box, nil)
		f.enqueue(t, mail.Message{To: "a@example.com", Kind: mail.KindMFAChanged, Data: map[string]string{"change": "mail.mfa.no_such_change"}})
		f.deliver(t, 0)
		if m := f.only(t); m.Status != storage.MailDead || !strings.Contains(m.LastError, "render") {
			t.Fatalf("unrenderable: %+v", m)
		}
		if len(box.Messages()) != 0 {
			t.Fatal("an unrenderable message was sent")
		}
	})
	t.Run("TooManyAttempts", func(t *testing.T) {
		srv := newSMTPServer(t, smtpServerOptions{})
		srv.reply = func(int) error { e := smtpErr(421, "4.7.0 busy"); return &e }
		f := newFixture(t, storagetest.Backend{}, smtpSender(t, srv, mail.SecurityStartTLS, nil),
			func(o *mail.OutboxOptions) { o.Retry = mail.Retry{Attempts: 3} })
		f.enqueue(t, magicLink("bo@example.com", "es"))
		for i := 1; i <= 3; i++ {
			f.deliver(t, 0)
			if m := f.only(t); m.Attempts != i {
				t.Fatalf("attempt %d: %+v", i, m)
			}
			f.clock.Advance(2 * time.Hour)
		}
		if m := f.only(t); m.Status != storage.MailDead || !strings.Contains(m.LastError, "421") {
			t.Fatalf("after 3 failed attempts: %+v", m)
		}
		f.deliver(t, 0)
		if srv.dataN != 3 {
			t.Fatalf("%d attempts reached the server, want 3", srv.dataN)
		}
	})
}

// Several workers (instances) on one database deliver each message exactly
// once.
func TestWorkersDeliverEachOnce(t *testing.T) {
	for _, b := range storagetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			srv := newSMTPServer(t, smtpServerOptions{noTLS: true, noAuth: true})
			url := b.NewDatabaseURL(t)
			const n, workers = 24, 3
			var outboxes []*mail.Outbox
			for range workers {
				s := openStore(t, url, nil)
				set, _ := templates.New(templates.Options{})
				outboxes = append(outboxes, mail.NewOutbox(s, mail.OutboxOptions{
					Sender: smtpSender(t, srv, mail.SecurityNone, nil), Templates: set, Issuer: issuer, Batch: 2,
				}))
			}
			for i := range n {
				m := magicLink(fmt.Sprintf("user%d@example.com", i), "en")
				m.Data["code"] = fmt.Sprintf("%06d", i)
				if err := outboxes[0].Enqueue(context.Background(), m); err != nil {
					t.Fatal(err)
				}
			}
			var wg sync.WaitGroup
			sent := make([]int, workers)
			for i, q := range outboxes {
				wg.Go(func() {
					var err error
					sent[i], err = q.Deliver(context.Background())
					if err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			total := 0
			for _, k := range sent {
				total += k
			}
			got := srv.Received()
			if total != n || len(got) != n {
				t.Fatalf("workers sent %v (total %d), server received %d; want %d each once", sent, total, len(got), n)
			}
			seen := map[string]int{}
			for _, r := range got {
				seen[r.To[0]]++
			}
			for i := range n {
				if to := fmt.Sprintf("user%d@example.com", i); seen[to] != 1 {
					t.Errorf("%s received %d times", to, seen[to])
				}
			}
		})
	}
}

// Enqueue joins the caller's transaction: a rolled-back message is never
// sent, and a commit wakes the running worker at once (its poll is an hour).
// Cancelling Run's context stops it promptly.
func TestEnqueueInTransactionAndRun(t *testing.T) {
	for _, b := range storagetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			srv := newSMTPServer(t, smtpServerOptions{noTLS: true, noAuth: true})
			f := newFixture(t, b, smtpSender(t, srv, mail.SecurityNone, nil), func(o *mail.OutboxOptions) {
				o.Poll = time.Hour
				o.Now = nil // real time: Run waits on real timers
			})
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { f.outbox.Run(ctx); close(done) }()

			send := func(to string, fail error) error {
				return f.store.InTx(ctx, func(ctx context.Context) error {
					if err := f.outbox.Enqueue(ctx, magicLink(to, "en")); err != nil {
						return err
					}
					return fail
				})
			}
			if err := send("first@example.com", nil); err != nil {
				t.Fatal(err)
			}
			if r := srv.wait(t); r.To[0] != "first@example.com" {
				t.Fatalf("received %v", r.To)
			}
			boom := errors.New("boom")
			if err := send("rolledback@example.com", boom); !errors.Is(err, boom) {
				t.Fatal(err)
			}
			if err := send("second@example.com", nil); err != nil {
				t.Fatal(err)
			}
			if r := srv.wait(t); r.To[0] != "second@example.com" {
				t.Fatalf("received %v, want the committed message", r.To)
			}
			// The server has the message; the worker records it a moment
			// later (cancelling before that would cut the connection
			// before the server's reply, and the message would be retried).
			for deadline := time.Now().Add(5 * time.Second); ; {
				if c, _ := f.store.MailCounts(context.Background()); c[storage.MailSent] == 2 || time.Now().After(deadline) {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			cancel()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("Run did not stop after its context ended")
			}
			counts, _ := f.store.MailCounts(context.Background())
			if counts[storage.MailSent] != 2 || counts[storage.MailPending] != 0 || len(srv.Received()) != 2 {
				t.Fatalf("outbox %v, received %d: the rolled-back message must not exist", counts, len(srv.Received()))
			}
		})
	}
}

// Enqueue refuses what could never be delivered, or links off the issuer.
func TestEnqueueChecks(t *testing.T) {
	f := newFixture(t, storagetest.Backend{}, mail.NewMailbox(mail.MailboxOptions{}), nil)
	ok := magicLink("ana@example.com", "es")
	if err := f.outbox.Enqueue(context.Background(), ok); err != nil {
		t.Fatal(err)
	}
	with := func(mut func(m *mail.Message)) mail.Message {
		m := magicLink("ana@example.com", "es")
		mut(&m)
		return m
	}
	for name, m := range map[string]mail.Message{
		"unknown kind":        with(func(m *mail.Message) { m.Kind = "newsletter" }),
		"header injection":    with(func(m *mail.Message) { m.To = "ana@example.com\r\nBcc: all@example.com" }),
		"display name":        with(func(m *mail.Message) { m.To = "Ana <ana@example.com>" }),
		"not an address":      with(func(m *mail.Message) { m.To = "ana" }),
		"missing url":         with(func(m *mail.Message) { delete(m.Data, "url") }),
		"url off the issuer":  with(func(m *mail.Message) { m.Data["url"] = "https://evil.example/login" }),
		"issuer as a prefix":  with(func(m *mail.Message) { m.Data["url"] = issuer + ".evil.example/login" }),
		"relative url":        with(func(m *mail.Message) { m.Data["url"] = "/login/magic?token=x" }),
		"code without a code": {To: "a@example.com", Kind: mail.KindEmailCode},
		"mfa without change":  {To: "a@example.com", Kind: mail.KindMFAChanged},
	} {
		if err := f.outbox.Enqueue(context.Background(), m); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	counts, _ := f.store.MailCounts(context.Background())
	if counts[storage.MailPending] != 1 {
		t.Fatalf("outbox %v, want only the valid message", counts)
	}
}

// Every kind of message has its templates, and nothing else does.
func TestEveryKindHasTemplates(t *testing.T) {
	set, err := templates.New(templates.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range mail.Kinds() {
		if !set.HasMail(k) {
			t.Errorf("no templates for %s", k)
		}
	}
	if set.HasMail("layout") || len(mail.Kinds()) != 7 {
		t.Errorf("kinds %v", mail.Kinds())
	}
}
