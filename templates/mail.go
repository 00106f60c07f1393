package templates

import (
	"bytes"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"strings"
	texttemplate "text/template"
	"unicode"
	"unicode/utf8"
)

// mailLayout is the name of the layout every mail kind is rendered in, as
// layout.html and layout.txt; each kind's files define "content".
const mailLayout = "layout"

// mails is the parsed mail templates: per kind, the HTML (html/template,
// escaped for HTML) and the plain text (text/template) version.
type mails struct {
	html map[string]*htmltemplate.Template
	text map[string]*texttemplate.Template
}

// MailData is what a mail template receives. Mail fills it in.
type MailData struct {
	Lang    string
	Kind    string
	Subject string
	// Brand is the product name the mail speaks for; Initial, its first
	// letter, stands in for a logo (mail clients block images).
	Brand, Initial string
	// Issuer is where the service lives; links point under it.
	Issuer string
	// Data is the message's own data (mail.Message.Data).
	Data map[string]string

	catalogue, fallback map[string]string
}

// T returns the message key in the mail's language, formatted with args:
// {{.T "mail.magic_link.intro" .Brand}}.
func (d MailData) T(key string, args ...any) string {
	return translate(d.catalogue, d.fallback, key, args)
}

// Label returns the message prefix+value when the catalogue has one, else
// value itself: {{.Label "mail.method." .Data.method}}.
func (d MailData) Label(prefix, value string) string {
	if _, ok := d.fallback[prefix+value]; ok {
		return d.T(prefix + value)
	}
	return value
}

// loadMails parses templates/mail: layout.html and layout.txt, and for each
// kind <kind>.html and <kind>.txt, both required.
func loadMails(read func(dir, name string) ([]byte, error)) (mails, error) {
	m := mails{html: map[string]*htmltemplate.Template{}, text: map[string]*texttemplate.Template{}}
	entries, err := fs.ReadDir(embedded, "mail")
	if err != nil {
		return m, fmt.Errorf("templates: %w", err)
	}
	src := func(name string) (string, error) {
		b, err := read("mail", name)
		if err != nil {
			return "", fmt.Errorf("templates: mail/%s: %w", name, err)
		}
		return string(b), nil
	}
	htmlLayoutSrc, err := src(mailLayout + ".html")
	if err != nil {
		return m, err
	}
	textLayoutSrc, err := src(mailLayout + ".txt")
	if err != nil {
		return m, err
	}
	htmlLayout, err := htmltemplate.New(mailLayout + ".html").Option("missingkey=zero").Parse(htmlLayoutSrc)
	if err != nil {
		return m, fmt.Errorf("templates: mail/%s.html: %w", mailLayout, err)
	}
	textLayout, err := texttemplate.New(mailLayout + ".txt").Option("missingkey=zero").Parse(textLayoutSrc)
	if err != nil {
		return m, fmt.Errorf("templates: mail/%s.txt: %w", mailLayout, err)
	}
	for _, e := range entries {
		kind, ok := strings.CutSuffix(e.Name(), ".html")
		if !ok || kind == mailLayout {
			continue
		}
		h, err := src(kind + ".html")
		if err != nil {
			return m, err
		}
		t, err := src(kind + ".txt")
		if err != nil {
			return m, err
		}
		ht, err := htmltemplate.Must(htmlLayout.Clone()).Parse(h)
		if err != nil {
			return m, fmt.Errorf("templates: mail/%s.html: %w", kind, err)
		}
		tt, err := texttemplate.Must(textLayout.Clone()).Parse(t)
		if err != nil {
			return m, fmt.Errorf("templates: mail/%s.txt: %w", kind, err)
		}
		m.html[kind], m.text[kind] = ht, tt
	}
	return m, nil
}

// HasMail reports whether kind has mail templates.
func (s *Set) HasMail(kind string) bool { _, ok := s.mails.html[kind]; return ok }

// Mail renders one email of kind in lang (English when lang is not offered)
// from data, as its subject, plain-text and HTML bodies. Every word comes
// from the catalogues' mail.* keys. data may carry, besides the kind's own
// keys (see package mail), "brand" (the product name, "Janua" when empty)
// and "issuer" (the service's URL, shown in the footer). The kind
// mfa_changed names its change by a catalogue key under mail.mfa. (each
// feature that sends one brings its keys in its own part file, such as
// locales/en.totp.json); any other key is an error, so a typo never reaches
// a user as a raw key.
func (s *Set) Mail(lang, kind string, data map[string]string) (subject, text, html string, err error) {
	ht, ok := s.mails.html[kind]
	if !ok {
		return "", "", "", fmt.Errorf("templates: no mail kind %q", kind)
	}
	lang = s.supported(lang)
	d := MailData{
		Lang: lang, Kind: kind, Brand: data["brand"], Issuer: data["issuer"], Data: data,
		catalogue: s.catalogues[lang], fallback: s.catalogues[defaultLanguage],
	}
	if d.Data == nil {
		d.Data = map[string]string{}
	}
	if d.Brand == "" {
		d.Brand = "Janua"
	}
	r, _ := utf8.DecodeRuneInString(d.Brand)
	d.Initial = string(unicode.ToUpper(r))
	if change, ok := d.Data["change"]; ok {
		if _, known := d.fallback[change]; !known || !strings.HasPrefix(change, "mail.mfa.") {
			return "", "", "", fmt.Errorf("templates: mail %s: change %q is not a mail.mfa.* message", kind, change)
		}
	}
	d.Subject = d.T("mail."+kind+".subject", d.Brand)
	var tb, hb bytes.Buffer
	if err := s.mails.text[kind].ExecuteTemplate(&tb, mailLayout+".txt", d); err != nil {
		return "", "", "", fmt.Errorf("templates: mail %s (text): %w", kind, err)
	}
	if err := ht.ExecuteTemplate(&hb, mailLayout+".html", d); err != nil {
		return "", "", "", fmt.Errorf("templates: mail %s (html): %w", kind, err)
	}
	return d.Subject, tidyText(tb.String()), strings.TrimSpace(hb.String()) + "\n", nil
}

// tidyText trims trailing spaces (but keeps the signature separator "-- ",
// RFC 3676 §4.3) and collapses runs of blank lines that optional template
// sections leave behind.
func tidyText(s string) string {
	lines := strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	out := make([]string, 0, len(lines))
	blank := true // drop leading blank lines
	for _, l := range lines {
		if l != "-- " {
			l = strings.TrimRight(l, " \t")
		}
		if l == "" {
			if blank {
				continue
			}
			blank = true
		} else {
			blank = false
		}
		out = append(out, l)
	}
	return strings.TrimRight(strings.Join(out, "\n"), "\n") + "\n"
}
