package login_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/madfam-org/janua/login"
	"github.com/madfam-org/janua/mail"
	"github.com/madfam-org/janua/storage"
	"github.com/madfam-org/janua/storage/storagetest"
	"github.com/madfam-org/janua/templates"
)

// outbox is a mail.Queue that keeps what it is given in the database
// transaction of the caller, as the real outbox does: as an audit event,
// which exists only if that transaction commits. fail makes it refuse.
type outbox struct {
	store *storage.Store
	mu    sync.Mutex
	fail  bool
}

func (q *outbox) Enqueue(ctx context.Context, m mail.Message) error {
	q.mu.Lock()
	fail := q.fail
	q.mu.Unlock()
	if fail {
		return errors.New("outbox unavailable")
	}
	d := map[string]any{"to": m.To, "kind": m.Kind, "lang": m.Lang}
	for k, v := range m.Data {
		d[k] = v
	}
	return q.store.RecordAuditEvent(ctx, &storage.AuditEvent{Type: "test.mail", Details: d})
}

// sent lists the queued messages, oldest first.
func (q *outbox) sent(t *testing.T) []map[string]any {
	t.Helper()
	evs, err := q.store.ListAuditEvents(context.Background(), storage.AuditFilter{Type: "test.mail"})
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for i := len(evs) - 1; i >= 0; i-- {
		out = append(out, evs[i].Details)
	}
	return out
}

// mfaPages serves the login pages on a fake clock with an outbox.
type mfaPages struct {
	t      *testing.T
	clock  *storagetest.Clock
	store  *storage.Store
	outbox *outbox
	url    string
	c      *http.Client
	page   string
	user   *storage.User
}

func newMFAPages(t *testing.T) *mfaPages {
	t.Helper()
	ctx := context.Background()
	clock := storagetest.NewClock()
	store, err := storage.Open(ctx, storage.Options{URL: storagetest.SQLiteBackend().NewDatabaseURL(t), Secret: []byte("test secret, test secret, test secret!"), Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	if _, err := store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	set, err := templates.New(templates.Options{})
	if err != nil {
		t.Fatal(err)
	}
	hot := storage.NewMemoryHotState(storage.MemoryHotStateOptions{Now: clock.Now})
	t.Cleanup(func() { _ = hot.Close() })
	pw := login.NewPasswords(cheap(), login.HashLimits{Concurrent: 2})
	hash, _ := pw.Hash(ctx, "correct horse battery staple")
	u := &storage.User{Email: "ana@example.com", Claims: map[string]any{"name": "Ana"}}
	if err := store.CreateUser(ctx, u, hash); err != nil {
		t.Fatal(err)
	}
	q := &outbox{store: store}
	p := login.New(store, login.Options{
		Templates: set, Sessions: login.NewSessions(store, login.SessionOptions{Now: clock.Now}), Passwords: pw,
		HotState: hot, Limits: login.DefaultLimits(), Mail: q, TOTPIssuer: "Example",
		LoginPath: "/login", ResumePath: "/oauth2/resume", Now: clock.Now,
	})
	e := echo.New()
	p.Routes(e)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	jar, _ := cookiejar.New(nil)
	return &mfaPages{t: t, clock: clock, store: store, outbox: q, url: srv.URL, user: u,
		c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// post sends a form and returns the status and Location.
func (h *mfaPages) post(path string, form url.Values) (int, string) {
	h.t.Helper()
	res, err := h.c.PostForm(h.url+path, form)
	if err != nil {
		h.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	h.page = string(raw)
	return res.StatusCode, res.Header.Get("Location")
}

// code is the authenticator's code for the clock's time step.
func (h *mfaPages) code(secret string) string {
	h.t.Helper()
	c, err := totp.GenerateCodeCustom(secret, h.clock.Now(), totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		h.t.Fatal(err)
	}
	return c
}

var pageSecret = regexp.MustCompile(`id="totp-secret">([A-Z2-7 ]+)<`)

// Every change to a user's second factors queues a notice inside the
// change's own transaction: setting up the app, using a backup code,
// regenerating them, removing the app. A queue that fails rolls the change
// back (the mail exists if and only if the change does).
func TestSecondFactorChangesAreMailedInTheirTransaction(t *testing.T) {
	h := newMFAPages(t)
	ctx := context.Background()
	if st, loc := h.post("/login", url.Values{"email": {"ana@example.com"}, "password": {"correct horse battery staple"}}); st != http.StatusSeeOther || loc != login.AccountPath {
		t.Fatalf("sign-in: %d %q", st, loc)
	}
	if st, _ := h.post(login.SecurityPath+"/totp", nil); st != http.StatusOK {
		t.Fatalf("set-up: %d", st)
	}
	secret := strings.ReplaceAll(pageSecret.FindStringSubmatch(h.page)[1], " ", "")

	// The outbox fails: nothing changes.
	h.outbox.fail = true
	if st, _ := h.post(login.SecurityPath+"/totp/confirm", url.Values{"code": {h.code(secret)}}); st != http.StatusInternalServerError {
		t.Fatalf("confirm with a failing outbox: %d", st)
	}
	if at, _ := h.store.TOTPConfirmedAt(ctx, h.user.ID); at != nil {
		t.Fatal("the authenticator was confirmed though its notice was not queued")
	}
	if n, _ := h.store.CountBackupCodes(ctx, h.user.ID); n != 0 {
		t.Fatalf("%d backup codes from a rolled-back enrolment", n)
	}
	h.outbox.fail = false
	if st, _ := h.post(login.SecurityPath+"/totp/confirm", url.Values{"code": {h.code(secret)}}); st != http.StatusOK || !strings.Contains(h.page, `id="backup-codes"`) {
		t.Fatalf("confirm: %d", st)
	}
	codes := regexp.MustCompile(`<code>([0-9a-z-]{11})</code>`).FindAllStringSubmatch(h.page, -1)

	// A later sign-in with a backup code (an hour on: a fresh session).
	h.clock.Advance(time.Hour)
	if _, loc := h.post("/login", url.Values{"email": {"ana@example.com"}, "password": {"correct horse battery staple"}}); loc != login.FactorPath {
		t.Fatalf("sign-in of an enrolled user went to %q", loc)
	}
	if st, loc := h.post(login.FactorPath+"/backup", url.Values{"code": {codes[0][1]}}); st != http.StatusSeeOther || loc != login.AccountPath {
		t.Fatalf("backup code: %d %q", st, loc)
	}
	if st, _ := h.post(login.SecurityPath+"/backup", nil); st != http.StatusOK {
		t.Fatalf("regenerate: %d", st)
	}
	if st, loc := h.post(login.SecurityPath+"/totp/remove", nil); loc != login.SecurityPath+"?done=totp_removed" {
		t.Fatalf("remove: %d %q", st, loc)
	}

	sent := h.outbox.sent(t)
	var changes []string
	for _, m := range sent {
		if m["to"] != "ana@example.com" || m["kind"] != mail.KindMFAChanged || m["ip"] == "" || m["name"] != "Ana" || m["lang"] != "en" {
			t.Errorf("message %v", m)
		}
		if _, err := time.Parse(time.RFC3339, m["time"].(string)); err != nil {
			t.Errorf("time %v", m["time"])
		}
		changes = append(changes, m["change"].(string))
	}
	want := []string{"mail.mfa.totp_added", "mail.mfa.backup_code_used", "mail.mfa.backup_regenerated", "mail.mfa.totp_removed"}
	if strings.Join(changes, " ") != strings.Join(want, " ") {
		t.Fatalf("notices %v, want %v", changes, want)
	}
	if sent[1]["detail"] != "9 unused backup codes left." {
		t.Errorf("backup code notice detail %q", sent[1]["detail"])
	}
	for _, m := range sent {
		for _, c := range codes {
			for _, v := range m {
				if s, _ := v.(string); strings.Contains(s, c[1]) {
					t.Fatal("a backup code in a mail")
				}
			}
		}
	}
}

// A sensitive change needs a recent sign-in: the same session, past the
// re-authentication window, is sent to sign in again.
func TestSecondFactorChangesNeedARecentSignIn(t *testing.T) {
	h := newMFAPages(t)
	h.post("/login", url.Values{"email": {"ana@example.com"}, "password": {"correct horse battery staple"}})
	h.clock.Advance(login.DefaultReauthWindow + time.Second)
	for _, path := range []string{"/totp", "/totp/confirm", "/totp/remove", "/backup"} {
		if st, loc := h.post(login.SecurityPath+path, nil); st != http.StatusSeeOther || loc != "/login?return=%2Faccount%2Fsecurity" {
			t.Errorf("%s after the window: %d %q", path, st, loc)
		}
	}
	if n := len(h.outbox.sent(t)); n != 0 {
		t.Fatalf("%d notices", n)
	}
}
