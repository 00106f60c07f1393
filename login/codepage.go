package login

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/madfam-org/janua/mail"
	"github.com/madfam-org/janua/storage"
)

// backupCodesView is the data of backup_codes.html: new codes shown once
// (Codes), or the warning that only Left remain; Continue goes on to where
// the sign-in or change was heading.
type backupCodesView struct {
	Codes    []string
	Left     int
	Continue string
	// Download is the codes as a text file (a data: URI).
	Download template.URL
}

// showBackupCodes shows new codes, once: the page is never cached and the
// codes are stored only as keyed hashes.
func (p *Pages) showBackupCodes(c echo.Context, lang string, codes []string, next string) error {
	v := backupCodesView{Continue: next}
	for _, code := range codes {
		v.Codes = append(v.Codes, formatBackupCode(code))
	}
	text := p.o.Templates.T(lang, "backup.file_heading") + "\n\n" + strings.Join(v.Codes, "\n") + "\n"
	v.Download = template.URL("data:text/plain;charset=utf-8," + url.PathEscape(text))
	return p.render(c, http.StatusOK, "backup_codes", lang, "backup.codes_title", v)
}

// redirectTarget runs fn, a completion that answers with a redirect (such
// as secondFactorPassed), and returns where that redirect goes instead of
// sending it, so that a page can come first with a link onwards: backup
// codes shown once, a warning that few remain. The cookies fn set (the
// session's) are kept for that page's response.
func (p *Pages) redirectTarget(c echo.Context, fn func() error) (string, error) {
	res := c.Response()
	orig := res.Writer
	rec := &redirectRecorder{header: http.Header{}}
	res.Writer = rec
	err := fn()
	res.Writer, res.Committed, res.Status, res.Size = orig, false, http.StatusOK, 0
	for _, v := range rec.header.Values("Set-Cookie") {
		orig.Header().Add("Set-Cookie", v)
	}
	if err != nil {
		return "", err
	}
	loc := rec.header.Get("Location")
	if rec.status < 300 || rec.status > 399 || loc == "" {
		return "", fmt.Errorf("login: a sign-in answered %d, not a redirect", rec.status)
	}
	return loc, nil
}

// redirectRecorder keeps the header and status of a response and drops
// its body.
type redirectRecorder struct {
	header http.Header
	status int
}

func (r *redirectRecorder) Header() http.Header { return r.header }
func (r *redirectRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}

func (r *redirectRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return len(b), nil
}

// mfaMail queues the notice of a change to u's second factors (mail kind
// KindMFAChanged; change is a message key of the catalogue), inside the
// caller's transaction, so the mail exists if and only if the change
// commits. Nothing without a mail queue.
func (p *Pages) mfaMail(ctx context.Context, c echo.Context, u *storage.User, lang, change, detail string) error {
	if p.o.Mail == nil {
		return nil
	}
	data := map[string]string{"change": change, "detail": detail,
		"time": p.o.Now().UTC().Format(time.RFC3339), "ip": c.RealIP()}
	if name, ok := u.Claims["name"].(string); ok {
		data["name"] = name
	}
	return p.o.Mail.Enqueue(ctx, mail.Message{To: u.Email, Lang: lang, Kind: mail.KindMFAChanged, Data: data})
}
