package mail

import (
	"bytes"
	"mime"
	netmail "net/mail"
	"strings"
	"testing"
	"time"
)

// No value can add a header: a line break anywhere in one is refused.
func TestComposeRefusesHeaderInjection(t *testing.T) {
	from := &netmail.Address{Address: "no-reply@id.example.com"}
	ok := Email{To: "ana@example.com", Lang: "es", Subject: "Hola", Text: "t", HTML: "<p>h</p>"}
	if _, err := compose(from, ok, time.Now()); err != nil {
		t.Fatal(err)
	}
	for name, e := range map[string]Email{
		"to":      {To: "ana@example.com\r\nBcc: all@example.com", Subject: "s"},
		"to lf":   {To: "ana@example.com\nBcc: all@example.com", Subject: "s"},
		"subject": {To: "ana@example.com", Subject: "Hi\r\nBcc: all@example.com"},
		"lang":    {To: "ana@example.com", Subject: "s", Lang: "es\r\nX-Evil: 1"},
	} {
		if _, err := compose(from, e, time.Now()); err == nil {
			t.Errorf("%s: a line break in a header value was accepted", name)
		}
	}
	if _, err := compose(&netmail.Address{Name: "A\nB", Address: "a@example.com"}, ok, time.Now()); err == nil {
		t.Error("a line break in the sender's name was accepted")
	}
}

// A long non-ASCII subject is RFC 2047-encoded and folded, and decodes back.
func TestComposeEncodesAndFoldsTheSubject(t *testing.T) {
	subject := "Tu enlace para iniciar sesión en Identidad Corporativa de Ñandú — válido durante quince minutos, úsalo pronto"
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	raw, err := compose(&netmail.Address{Name: "Ñandú ID", Address: "id@xn--and-6ma2c.example"},
		Email{To: "josé@example.com", Lang: "es", Subject: subject, Text: strings.Repeat("línea larga ", 40), HTML: "<p>ñ</p>"}, now)
	if err != nil {
		t.Fatal(err)
	}
	head, _, _ := bytes.Cut(raw, []byte("\r\n\r\n"))
	for _, line := range strings.Split(string(head), "\r\n") {
		if len(line) > 78 {
			t.Errorf("header line of %d characters: %q", len(line), line)
		}
	}
	msg, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	got, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil || got != subject {
		t.Fatalf("subject decodes to %q (%v)", got, err)
	}
	if d, _ := msg.Header.Date(); !d.Equal(now) {
		t.Errorf("Date %q", msg.Header.Get("Date"))
	}
	if from, err := msg.Header.AddressList("From"); err != nil || from[0].Name != "Ñandú ID" {
		t.Errorf("From %q: %v", msg.Header.Get("From"), err)
	}
}

func TestMaskAddressAndRetry(t *testing.T) {
	for in, want := range map[string]string{"ana.ortiz@example.com": "a***@example.com", "ñu@x.es": "ñ***@x.es", "broken": "***", "@x": "***"} {
		if got := maskAddress(in); got != want {
			t.Errorf("maskAddress(%q) = %q, want %q", in, got, want)
		}
	}
	r := Retry{}.withDefaults()
	for attempt, base := range map[int]time.Duration{1: 30 * time.Second, 2: time.Minute, 3: 2 * time.Minute, 8: time.Hour, 30: time.Hour} {
		for range 50 {
			if d := r.delay(attempt); d < base || d > base+base/5 {
				t.Fatalf("delay after attempt %d = %s, want %s plus at most a fifth", attempt, d, base)
			}
		}
	}
}
