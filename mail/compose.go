package mail

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	netmail "net/mail"
	"net/textproto"
	"strings"
	"time"
)

// errHeaderInjection: a header value held a line break. Every value that
// reaches a header passes through checkHeader, so none can add a header of
// its own (or a body).
var errHeaderInjection = errors.New("mail: a line break in a header value")

func checkHeader(v string) error {
	if strings.ContainsAny(v, "\r\n") {
		return errHeaderInjection
	}
	return nil
}

// parseAddress accepts one bare address ("ana@example.com"), the only form
// recipients and the sender take here.
func parseAddress(s string) (*netmail.Address, error) {
	if err := checkHeader(s); err != nil {
		return nil, err
	}
	a, err := netmail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != strings.TrimSpace(s) {
		return nil, fmt.Errorf("mail: %q is not a plain email address", s)
	}
	return a, nil
}

// compose builds e as an Internet Message Format message (RFC 5322) with
// MIME (RFC 2045, 2046): multipart/alternative with the plain text first and
// the HTML last, the preferred form (RFC 2046 §5.1.4), each UTF-8 and
// quoted-printable, so the whole message is 7-bit with lines under 78
// characters. Non-ASCII in the subject and the sender's name is encoded as
// RFC 2047 encoded-words. Lines end in CRLF (RFC 5322 §2.1).
func compose(from *netmail.Address, e Email, now time.Time) ([]byte, error) {
	to, err := parseAddress(e.To)
	if err != nil {
		return nil, err
	}
	if err := checkHeader(e.Subject); err != nil {
		return nil, err
	}
	if err := checkHeader(from.Name); err != nil {
		return nil, err
	}
	if e.Lang != "" && strings.Trim(e.Lang, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") != "" {
		return nil, fmt.Errorf("mail: %q is not a language tag", e.Lang)
	}
	var id [16]byte
	_, _ = rand.Read(id[:])
	_, domain, _ := strings.Cut(from.Address, "@")

	var b bytes.Buffer
	header := func(name, value string) { writeHeader(&b, name, value) }
	// RFC 5322 §3.3: date-time; §3.6.4: msg-id.
	header("Date", now.Format(time.RFC1123Z))
	header("Message-ID", "<"+hex.EncodeToString(id[:])+"@"+domain+">")
	header("From", from.String()) // net/mail encodes a non-ASCII display name (RFC 2047)
	header("To", to.String())
	header("Subject", mime.QEncoding.Encode("utf-8", e.Subject))
	header("MIME-Version", "1.0")
	if e.Lang != "" {
		header("Content-Language", e.Lang) // RFC 3282
	}
	// RFC 3834 §5: no auto-replies (vacation notices) to automatic mail.
	header("Auto-Submitted", "auto-generated")

	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	header("Content-Type", `multipart/alternative; boundary="`+mw.Boundary()+`"`)
	b.WriteString("\r\n")
	for _, part := range []struct{ ctype, content string }{
		{"text/plain; charset=utf-8", e.Text},
		{"text/html; charset=utf-8", e.HTML},
	} {
		w, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {part.ctype},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return nil, err
		}
		qp := quotedprintable.NewWriter(w)
		if _, err := qp.Write([]byte(part.content)); err != nil {
			return nil, err
		}
		if err := qp.Close(); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	b.Write(body.Bytes())
	return b.Bytes(), nil
}

// writeHeader writes "Name: value" folded at spaces so that lines stay
// under 78 characters where the value allows it (RFC 5322 §2.1.1, §2.2.3),
// if need be right after the colon.
func writeHeader(b *bytes.Buffer, name, value string) {
	line := name + ":"
	for _, word := range strings.Split(value, " ") {
		if len(line)+1+len(word) > 78 && strings.TrimSpace(line) != "" {
			b.WriteString(line + "\r\n")
			line = ""
		}
		line += " " + word
	}
	b.WriteString(line + "\r\n")
}
