package mail_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/madfam-org/janua/mail"
	"github.com/madfam-org/janua/storage/storagetest"
	"github.com/madfam-org/janua/web"
)

// The development mailbox keeps the newest messages, logs each with its
// text, and shows them as a page, as JSON with the links and codes, and
// each HTML part under a sandboxing CSP.
func TestMailbox(t *testing.T) {
	logs := &logBuffer{}
	f := newFixture(t, storagetest.Backend{}, nil, nil)
	box := mail.NewMailbox(mail.MailboxOptions{Templates: f.set, Log: slog.New(slog.NewTextHandler(logs, nil)), Capacity: 3, Now: f.clock.Now})
	f.outbox = mail.NewOutbox(f.store, mail.OutboxOptions{Sender: box, Templates: f.set, Issuer: issuer, Now: f.clock.Now})

	for i, to := range []string{"a@example.com", "b@example.com", "c@example.com", "d@example.com"} {
		m := magicLink(to, []string{"en", "es"}[i%2])
		m.Data["code"] = strings.Repeat(string(rune('1'+i)), 6)
		f.enqueue(t, m)
	}
	f.deliver(t, 4)
	msgs := box.Messages()
	if len(msgs) != 3 || msgs[0].To != "d@example.com" || msgs[2].To != "b@example.com" {
		t.Fatalf("kept %+v, want the newest 3, newest first", msgs)
	}
	if !strings.Contains(logs.String(), "444444") || !strings.Contains(logs.String(), "subject=") {
		t.Errorf("the development log does not show the message:\n%s", logs.String())
	}

	e := echo.New()
	e.Use(web.SecurityHeaders(web.SecurityHeadersOptions{}))
	box.Routes(e)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	get := func(path string) (*http.Response, string) {
		t.Helper()
		res, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, string(b)
	}

	res, page := get(mail.MailboxPath)
	if res.StatusCode != 200 || res.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("page: %d %v", res.StatusCode, res.Header)
	}
	for _, want := range []string{"Development mailbox", "d@example.com", "Your sign-in link for Janua", "444444", "/dev/mailbox/4/html", `id="mail-4"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if strings.Contains(page, "a@example.com") {
		t.Error("the page shows a message past the capacity")
	}
	if strings.Index(page, "d@example.com") > strings.Index(page, "c@example.com") {
		t.Error("the page is not newest first")
	}

	res, body := get(mail.MailboxPath + "?format=json")
	var list struct {
		Messages []struct {
			ID, To, Kind, Lang, Subject, Text string
			HTMLURL                           string `json:"html_url"`
			Data                              map[string]string
		} `json:"messages"`
	}
	if err := json.Unmarshal([]byte(body), &list); err != nil || res.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("json: %v %q\n%s", err, res.Header.Get("Content-Type"), body)
	}
	if len(list.Messages) != 3 || list.Messages[0].Data["code"] != "444444" || list.Messages[0].Data["url"] != issuer+"/login/magic?token="+testToken ||
		list.Messages[0].Kind != mail.KindMagicLink || list.Messages[0].Lang != "es" || !strings.Contains(list.Messages[0].Subject, "Tu enlace") ||
		list.Messages[1].Lang != "en" || list.Messages[0].HTMLURL != "/dev/mailbox/4/html" || !strings.Contains(list.Messages[0].Text, "444444") {
		t.Fatalf("json messages %+v", list.Messages)
	}

	res, html := get("/dev/mailbox/4/html")
	csp := res.Header.Get("Content-Security-Policy")
	if res.StatusCode != 200 || !strings.Contains(csp, "sandbox") || !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "script-src") {
		t.Fatalf("html part: %d CSP %q", res.StatusCode, csp)
	}
	if !strings.Contains(html, "444444") || !strings.HasPrefix(html, "<!doctype html>") {
		t.Fatalf("html part:\n%s", html)
	}
	for _, gone := range []string{"/dev/mailbox/1/html", "/dev/mailbox/99/html", "/dev/mailbox/x/html"} {
		if res, _ := get(gone); res.StatusCode != 404 {
			t.Errorf("%s: %d", gone, res.StatusCode)
		}
	}
}
