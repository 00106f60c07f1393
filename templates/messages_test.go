package templates_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/madfam-org/janua/templates"
)

// catalogue merges locales/<lang>.json and every locales/<lang>.<part>.json.
func catalogue(t *testing.T, lang string) map[string]string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join("locales", lang+".*json"))
	m := map[string]string{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	if len(m) == 0 {
		t.Fatalf("no %s catalogue", lang)
	}
	return m
}

// Every language says everything English says, every key a page uses
// exists, and fmt verbs agree between languages.
func TestCataloguesAreComplete(t *testing.T) {
	en, es := catalogue(t, "en"), catalogue(t, "es")
	verbs := regexp.MustCompile(`%[a-z]`)
	for k, v := range en {
		tr, ok := es[k]
		if !ok {
			t.Errorf("es lacks %q", k)
			continue
		}
		if !slices.Equal(verbs.FindAllString(v, -1), verbs.FindAllString(tr, -1)) {
			t.Errorf("%s: verbs of %q and %q differ", k, v, tr)
		}
	}
	pages, _ := filepath.Glob("pages/*.html")
	more, _ := filepath.Glob("*/*/*.html") // pages/<part>/, mail/<kind>/…
	pages = append(pages, more...)
	mails, _ := filepath.Glob("mail/*.*") // mail/<kind>.html and .txt
	pages = append(pages, mails...)
	used := regexp.MustCompile(`\.T "([^"]+)"`)
	n := 0
	for _, p := range pages {
		b, _ := os.ReadFile(p)
		for _, m := range used.FindAllStringSubmatch(string(b), -1) {
			n++
			if _, ok := en[m[1]]; !ok {
				t.Errorf("%s uses %q, which the en catalogue lacks", p, m[1])
			}
		}
	}
	if n < 30 {
		t.Fatalf("found only %d message uses in the pages", n)
	}
}

// ui_locales (OIDC Core §3.1.2.1) first, then Accept-Language, then English.
func TestLanguage(t *testing.T) {
	set, err := templates.New(templates.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := set.Languages(); !slices.Equal(got, []string{"en", "es"}) {
		t.Fatalf("languages %v", got)
	}
	for _, tc := range []struct{ ui, accept, want string }{
		{"", "", "en"},
		{"es", "", "es"},
		{"es-MX", "en", "es"},
		{"fr-CA es", "en", "es"},
		{"fr", "es-419,es;q=0.9", "es"},
		{"", "de-DE, es;q=0.4", "es"},
		{"", "en-GB,en;q=0.9,es;q=0.8", "en"},
		{"", "de, fr", "en"},
		{"pt-BR", "", "en"}, // no guessing from a related language
		{"!!! ??", "%%%", "en"},
		{strings.Repeat("x", 100), strings.Repeat("es,", 400), "en"},
	} {
		if got := set.Language(tc.ui, tc.accept); got != tc.want {
			t.Errorf("Language(%q, %q) = %q, want %q", tc.ui, tc.accept, got, tc.want)
		}
	}
}

func TestTranslate(t *testing.T) {
	set, err := templates.New(templates.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := set.T("es", "login.title"); got != "Iniciar sesión" {
		t.Errorf("es login.title = %q", got)
	}
	if got := set.T("es", "signup.password_short", 12); !strings.Contains(got, "12") {
		t.Errorf("formatted: %q", got)
	}
	if got := set.T("xx", "login.title"); got != "Sign in" {
		t.Errorf("unknown language falls back to English, got %q", got)
	}
	if got := set.T("en", "no.such.key"); got != "no.such.key" {
		t.Errorf("missing key: %q", got)
	}
	var b strings.Builder
	if err := set.Render(&b, "login", templates.Page{Lang: "es", Data: map[string]any{"Action": "/login", "RememberDays": 30}}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`<html lang="es">`, "Saltar al contenido", "Contraseña", "hasta 30 días"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("Spanish page lacks %q", want)
		}
	}
}

// An override catalogue replaces the embedded one; a key English lacks is
// refused at start-up (a typo would never be shown).
func TestOverrideCatalogue(t *testing.T) {
	set, err := templates.New(templates.Options{Override: fstest.MapFS{"locales/es.json": {Data: []byte(`{"login.title":"Entrar"}`)}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := set.T("es", "login.title"); got != "Entrar" {
		t.Errorf("override: %q", got)
	}
	if got := set.T("es", "login.submit"); got != "Sign in" {
		t.Errorf("a key the override lacks falls back to English, got %q", got)
	}
	if _, err := templates.New(templates.Options{Override: fstest.MapFS{"locales/es.json": {Data: []byte(`{"login.titel":"x"}`)}}}); err == nil {
		t.Error("a catalogue key English lacks was accepted")
	}
	if _, err := templates.New(templates.Options{Override: fstest.MapFS{"locales/es.json": {Data: []byte(`{`)}}}); err == nil {
		t.Error("a malformed catalogue was accepted")
	}
}
