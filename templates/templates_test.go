package templates_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/madfam-org/janua/templates"
)

func TestRenderEveryPage(t *testing.T) {
	set, err := templates.New(templates.Options{Asset: func(n string) string { return "/static/" + n }})
	if err != nil {
		t.Fatal(err)
	}
	data := map[string]any{
		"error":     templates.ErrorData{Status: 500, Message: "<script>alert(1)</script>", Detail: "<b>detail</b>"},
		"signedout": struct{ Client string }{"<b>App</b>"},
		"notfound": struct {
			Status  int
			Message string
		}{404, "nothing here"},
		"home": struct{ Issuer string }{"https://id.example.com"},
		"login": map[string]any{"Action": "/login?flow=x", "ClientName": "<b>App</b>", "Email": "a@example.com", "Error": "wrong",
			"SignupURL": "/signup?flow=x", "FocusPassword": true, "Remember": true, "Cancel": true, "RememberDays": 30},
		"signup": map[string]any{"Action": "/signup", "ClientName": "App", "Name": "Ana", "Email": "a@example.com", "Error": "too short",
			"LoginURL": "/login", "Invalid": "password", "MinLength": 12},
		"consent": map[string]any{"Action": "/consent?flow=x", "ClientName": "App", "LogoURI": "https://app.example.com/logo.png",
			"PolicyURI": "https://app.example.com/privacy", "TosURI": "javascript:alert(1)", "Email": "a@example.com",
			"Scopes": []map[string]string{{"Name": "openid", "Title": "Confirm who you are", "Detail": "d"}}},
		"account": map[string]any{"Email": "a@example.com", "SignOutAction": "/account/signout"},
	}
	for name, d := range data {
		var b strings.Builder
		if err := set.Render(&b, name, templates.Page{Title: "T", Nonce: "n0nce", RequestID: "req-1", Data: d}); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		html := b.String()
		for _, want := range []string{`<html lang="en">`, `href="/static/janua.css"`, "req-1", "<title>T · Janua</title>", `id="main"`} {
			if !strings.Contains(html, want) {
				t.Errorf("%s lacks %q", name, want)
			}
		}
		if strings.Contains(html, "<script>alert(1)</script>") || strings.Contains(html, "<b>App</b>") || strings.Contains(html, "javascript:") {
			t.Errorf("%s did not escape its data", name)
		}
	}
	if err := set.Render(&strings.Builder{}, "missing", templates.Page{}); err == nil {
		t.Fatal("rendered a missing page")
	}
}

func TestOverrideTheming(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "notfound.html"), []byte(`{{define "content"}}<p id="custom">Lost? {{.Data}}</p>{{end}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	set, err := templates.New(templates.Options{Override: os.DirFS(dir)})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := set.Render(&b, "notfound", templates.Page{Brand: templates.Brand{Name: "Acme"}, Data: "x"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `<p id="custom">Lost? x</p>`) || !strings.Contains(b.String(), "Acme") {
		t.Fatalf("override not used:\n%s", b.String())
	}
	if _, err := templates.New(templates.Options{Override: fstest.MapFS{"error.html": {Data: []byte("{{define")}}}); err == nil {
		t.Fatal("a broken override template was accepted at start-up")
	}
}
