package mail

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/madfam-org/janua/templates"
	"github.com/madfam-org/janua/web"
)

// MailboxOptions configure NewMailbox.
type MailboxOptions struct {
	// Templates renders the mailbox page.
	Templates *templates.Set
	Log       *slog.Logger
	// Capacity is how many messages are kept, the newest (default 100).
	Capacity int
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Mailbox is the development sink: the Sender used when no SMTP server is
// configured (never in production). It writes each message to the log and
// keeps the last ones in memory for the /dev/mailbox page, so a developer
// can follow a magic link or read a code without a mail server.
type Mailbox struct {
	o    MailboxOptions
	mu   sync.Mutex
	seq  int
	msgs []MailboxMessage // oldest first
}

// MailboxMessage is one message the Mailbox kept.
type MailboxMessage struct {
	ID      string            `json:"id"`
	Time    time.Time         `json:"time"`
	To      string            `json:"to"`
	Lang    string            `json:"lang"`
	Kind    string            `json:"kind"`
	Subject string            `json:"subject"`
	Text    string            `json:"text"`
	HTML    string            `json:"-"`
	HTMLURL string            `json:"html_url"`
	Data    map[string]string `json:"data"`
}

var _ Sender = (*Mailbox)(nil)

// NewMailbox returns an empty development mailbox.
func NewMailbox(o MailboxOptions) *Mailbox {
	if o.Capacity <= 0 {
		o.Capacity = 100
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Mailbox{o: o}
}

// Send keeps e and logs it, text body included: this is development, where
// reading the link or code from the log is the point.
func (b *Mailbox) Send(ctx context.Context, e Email) error {
	b.mu.Lock()
	b.seq++
	id := strconv.Itoa(b.seq)
	b.msgs = append(b.msgs, MailboxMessage{
		ID: id, Time: b.o.Now().UTC(), To: e.To, Lang: e.Lang, Kind: e.Kind, Subject: e.Subject,
		Text: e.Text, HTML: e.HTML, HTMLURL: MailboxPath + "/" + id + "/html", Data: e.Data,
	})
	if len(b.msgs) > b.o.Capacity {
		b.msgs = slices.Delete(b.msgs, 0, len(b.msgs)-b.o.Capacity)
	}
	b.mu.Unlock()
	b.o.Log.InfoContext(ctx, "mail kept in the development mailbox (no SMTP server configured)",
		"kind", e.Kind, "to", e.To, "subject", e.Subject, "text", e.Text, "mailbox", MailboxPath)
	return nil
}

// Messages returns the kept messages, newest first.
func (b *Mailbox) Messages() []MailboxMessage {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]MailboxMessage, len(b.msgs))
	for i, m := range b.msgs {
		out[len(out)-1-i] = m
	}
	return out
}

// mailboxPage is the data of the mailbox page.
type mailboxPage struct {
	Capacity int
	JSONURL  string
	Messages []MailboxMessage
}

// list serves the mailbox page, or {"messages": [...]} with ?format=json.
func (b *Mailbox) list(c echo.Context) error {
	msgs := b.Messages()
	if c.QueryParam("format") == "json" {
		return c.JSON(http.StatusOK, map[string]any{"messages": msgs})
	}
	set := b.o.Templates
	lang := set.Language("", c.Request().Header.Get("Accept-Language"))
	return web.Render(c, set, http.StatusOK, "mailbox", templates.Page{
		Title: set.T(lang, "mailbox.title"), Lang: lang,
		Data: mailboxPage{Capacity: b.o.Capacity, JSONURL: MailboxPath + "?format=json", Messages: msgs},
	})
}

// mailCSP confines a message's HTML part: no script, no request to
// anywhere (not even images), no forms, and a sandbox (unique origin, no
// top-level navigation), so mail HTML is only ever looked at. Inline style
// attributes are allowed: mail is styled with nothing else.
const mailCSP = "default-src 'none'; style-src 'unsafe-inline'; sandbox; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// html serves one message's HTML part.
func (b *Mailbox) html(c echo.Context) error {
	id := c.Param("id")
	for _, m := range b.Messages() {
		if m.ID == id {
			c.Response().Header().Set("Content-Security-Policy", mailCSP)
			return c.HTMLBlob(http.StatusOK, []byte(m.HTML))
		}
	}
	return echo.ErrNotFound
}
