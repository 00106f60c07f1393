package mail

import (
	"github.com/labstack/echo/v4"

	"github.com/madfam-org/janua/web"
)

// MailboxPath is where the development mailbox is served.
const MailboxPath = "/dev/mailbox"

// Routes mounts the development mailbox, never cached: the list at
// MailboxPath (JSON with ?format=json) and each message's HTML part at
// MailboxPath/<id>/html. cmd/janua mounts it only when the Mailbox is the
// Sender; otherwise the paths are a plain 404.
func (b *Mailbox) Routes(e *echo.Echo) {
	e.GET(MailboxPath, b.list, web.NoStore)
	e.GET(MailboxPath+"/:id/html", b.html, web.NoStore)
}
