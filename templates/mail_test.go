package templates_test

import (
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/madfam-org/janua/templates"
)

// rawKey matches a catalogue key rendered as it is (a missing message).
var rawKey = regexp.MustCompile(`\bmail\.[a-z_]+\.[a-z_]+`)

// Every kind renders in every language: a translated subject, the link and
// the code in both parts, the user's data escaped in HTML, and no raw key,
// missing value or fmt complaint anywhere.
func TestMailEveryKind(t *testing.T) {
	set, err := templates.New(templates.Options{})
	if err != nil {
		t.Fatal(err)
	}
	const url = "https://id.example.com/login/magic?token=tok&x=1"
	base := map[string]string{"name": "Ana <b>Ortiz</b>", "issuer": "https://id.example.com", "brand": "Acme ID"}
	for _, tc := range []struct {
		kind string
		data map[string]string
		want []string // in both parts
	}{
		{"verify_email", map[string]string{"url": url, "expires_minutes": "60"}, []string{"60"}},
		{"magic_link", map[string]string{"url": url, "code": "493817", "expires_minutes": "15", "client": "Photo App"}, []string{"493817", "15", "Photo App"}},
		{"email_code", map[string]string{"code": "120934", "expires_minutes": "10"}, []string{"120934", "10"}},
		{"password_reset", map[string]string{"url": url, "expires_minutes": "30"}, []string{"30"}},
		{"password_changed", map[string]string{"time": "2026-11-23 20:58 UTC", "ip": "203.0.113.9"}, []string{"2026-11-23 20:58 UTC", "203.0.113.9"}},
		{"new_signin", map[string]string{"time": "2026-11-23 20:58 UTC", "ip": "198.51.100.7", "user_agent": "Firefox 140 on Linux", "method": "passkey"}, []string{"198.51.100.7", "Firefox 140 on Linux"}},
		{"mfa_changed", map[string]string{"change": "mail.mfa.totp_added", "detail": "YubiKey 5", "time": "t", "ip": "192.0.2.1"}, []string{"YubiKey 5", "192.0.2.1"}},
	} {
		subjects := map[string]string{}
		for _, lang := range []string{"en", "es"} {
			data := map[string]string{}
			for k, v := range base {
				data[k] = v
			}
			for k, v := range tc.data {
				data[k] = v
			}
			subject, text, html, err := set.Mail(lang, tc.kind, data)
			if err != nil {
				t.Fatalf("%s/%s: %v", tc.kind, lang, err)
			}
			subjects[lang] = subject
			name := tc.kind + "/" + lang
			if !strings.Contains(subject, "Acme ID") || rawKey.MatchString(subject) {
				t.Errorf("%s: subject %q", name, subject)
			}
			for _, part := range []string{text, html} {
				for _, bad := range []string{"<no value>", "%!", "ZgotmplZ"} {
					if strings.Contains(part, bad) {
						t.Errorf("%s: rendered %q:\n%s", name, bad, part)
					}
				}
				if k := rawKey.FindString(part); k != "" {
					t.Errorf("%s: rendered the raw key %q", name, k)
				}
				for _, w := range tc.want {
					if !strings.Contains(part, w) {
						t.Errorf("%s lacks %q:\n%s", name, w, part)
					}
				}
			}
			if tc.data["url"] != "" {
				if !strings.Contains(text, url) || !strings.Contains(html, `href="https://id.example.com/login/magic?token=tok&amp;x=1"`) {
					t.Errorf("%s: the link is missing from a part:\n%s\n%s", name, text, html)
				}
			}
			if !strings.Contains(html, `<html lang="`+lang+`"`) || !strings.Contains(html, "<title>"+subject+"</title>") ||
				!strings.Contains(html, "Ana &lt;b&gt;Ortiz&lt;/b&gt;") || strings.Contains(html, "<b>Ortiz") {
				t.Errorf("%s: html head, title or escaping:\n%s", name, html)
			}
			if !strings.Contains(html, "#1f3a5f") || strings.Contains(html, "<style") || strings.Contains(html, "<script") || strings.Contains(html, "<img") {
				t.Errorf("%s: html must carry the brand colour inline, with no <style>, script or image", name)
			}
			if !strings.Contains(text, "Ana <b>Ortiz</b>") || regexp.MustCompile(`<(p|a|table|td|h1)\b`).MatchString(text) {
				t.Errorf("%s: text part:\n%s", name, text)
			}
			if !strings.Contains(text, "\n-- \nhttps://") && !strings.Contains(text, "\n-- \n") {
				t.Errorf("%s: text part lacks the signature separator:\n%s", name, text)
			}
		}
		if subjects["en"] == subjects["es"] {
			t.Errorf("%s: the Spanish subject is the English one: %q", tc.kind, subjects["es"])
		}
	}
}

func TestMailSpanishAndErrors(t *testing.T) {
	set, err := templates.New(templates.Options{})
	if err != nil {
		t.Fatal(err)
	}
	subject, text, _, err := set.Mail("es", "magic_link", map[string]string{"url": "https://id.example.com/m", "code": "1"})
	if err != nil {
		t.Fatal(err)
	}
	if subject != "Tu enlace para iniciar sesión en Janua" || !strings.Contains(text, "Hola:") || !strings.Contains(text, "Iniciar sesión") {
		t.Errorf("Spanish magic link (default brand): %q\n%s", subject, text)
	}
	_, text, _, err = set.Mail("fr", "new_signin", map[string]string{"method": "carrier-pigeon"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text, "New sign-in to your account") || !strings.Contains(text, "carrier-pigeon") {
		t.Errorf("an unoffered language falls back to English and an unknown method shows as it is:\n%s", text)
	}
	if !set.HasMail("verify_email") || set.HasMail("layout") || set.HasMail("nope") {
		t.Error("HasMail")
	}
	for _, tc := range []struct {
		kind string
		data map[string]string
	}{
		{"nope", nil},
		{"layout", nil},
		{"mfa_changed", map[string]string{"change": "login.title"}},
		{"mfa_changed", map[string]string{"change": "mail.mfa.typo"}},
	} {
		if _, _, _, err := set.Mail("en", tc.kind, tc.data); err == nil {
			t.Errorf("Mail(%s, %v) accepted", tc.kind, tc.data)
		}
	}
}

// An operator themes mail like pages: mail/<file> in the override directory.
func TestMailOverride(t *testing.T) {
	set, err := templates.New(templates.Options{Override: fstest.MapFS{
		"mail/email_code.txt": {Data: []byte(`{{define "content"}}CODE={{.Data.code}}{{end}}`)},
	}})
	if err != nil {
		t.Fatal(err)
	}
	_, text, html, err := set.Mail("en", "email_code", map[string]string{"code": "777"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text, "CODE=777") || !strings.Contains(html, "777") {
		t.Fatalf("override not used:\n%s", text)
	}
	if _, err := templates.New(templates.Options{Override: fstest.MapFS{"mail/layout.html": {Data: []byte("{{if}")}}}); err == nil {
		t.Fatal("a broken mail layout was accepted at start-up")
	}
}
