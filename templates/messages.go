package templates

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"sort"
	"strings"

	"golang.org/x/text/language"
)

// defaultLanguage is the language every other catalogue falls back to, key
// by key, and the one pages use when nothing the user prefers is offered.
const defaultLanguage = "en"

// messages is the message catalogues and the matcher that picks one. A
// language's catalogue is locales/<lang>.json plus any locales/<lang>.<part>.json
// (one part per feature: "en.passkey.json"), each a flat object of key →
// text where text may hold fmt verbs; a key in two files of one language is
// an error.
type messages struct {
	catalogues map[string]map[string]string
	languages  []string // defaultLanguage first
	matcher    language.Matcher
}

// loadMessages reads every embedded catalogue (an operator's override of a
// catalogue replaces it whole). A catalogue with a key English lacks is an
// error: it is a typo that would never be shown.
func loadMessages(read func(dir, name string) ([]byte, error)) (messages, error) {
	m := messages{catalogues: map[string]map[string]string{}}
	entries, err := fs.ReadDir(embedded, "locales")
	if err != nil {
		return m, fmt.Errorf("templates: %w", err)
	}
	for _, e := range entries {
		base, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok {
			continue
		}
		lang, _, _ := strings.Cut(base, ".")
		raw, err := read("locales", e.Name())
		if err != nil {
			return m, fmt.Errorf("templates: %w", err)
		}
		part := map[string]string{}
		if err := json.Unmarshal(raw, &part); err != nil {
			return m, fmt.Errorf("templates: locales/%s: %w", e.Name(), err)
		}
		cat, seen := m.catalogues[lang]
		if !seen {
			cat = map[string]string{}
			m.catalogues[lang] = cat
			if lang != defaultLanguage {
				m.languages = append(m.languages, lang)
			}
		}
		for k, v := range part {
			if _, dup := cat[k]; dup {
				return m, fmt.Errorf("templates: locales/%s: key %q is already in another %s file", e.Name(), k, lang)
			}
			cat[k] = v
		}
	}
	en, ok := m.catalogues[defaultLanguage]
	if !ok {
		return m, fmt.Errorf("templates: no %s catalogue", defaultLanguage)
	}
	sort.Strings(m.languages)
	m.languages = append([]string{defaultLanguage}, m.languages...)
	tags := make([]language.Tag, len(m.languages))
	for i, l := range m.languages {
		tags[i] = language.MustParse(l)
		for k := range m.catalogues[l] {
			if _, ok := en[k]; !ok {
				return m, fmt.Errorf("templates: locales/%s.json: key %q is not in the %s catalogue", l, k, defaultLanguage)
			}
		}
	}
	m.matcher = language.NewMatcher(tags)
	return m, nil
}

// Languages returns the languages pages are offered in, English first.
func (m messages) Languages() []string { return append([]string(nil), m.languages...) }

// Language picks the page language: the first of uiLocales (the OpenID
// Connect ui_locales parameter, a space-separated list of BCP 47 tags in
// order of preference, OIDC Core §3.1.2.1) that is offered, else the best
// offered match of the Accept-Language header (RFC 9110 §12.5.4), else
// English. Malformed input is ignored, never an error.
func (m messages) Language(uiLocales, acceptLanguage string) string {
	for _, s := range strings.Fields(uiLocales) {
		if len(s) > 35 { // RFC 5646 §4.4.1: 35 characters cover any useful tag
			continue
		}
		tag, err := language.Parse(s)
		if err != nil {
			continue
		}
		if l, ok := m.match(tag); ok {
			return l
		}
	}
	if len(acceptLanguage) <= 512 {
		if tags, _, err := language.ParseAcceptLanguage(acceptLanguage); err == nil && len(tags) > 0 {
			if l, ok := m.match(tags...); ok {
				return l
			}
		}
	}
	return defaultLanguage
}

// match returns the offered language that best matches the preferences.
func (m messages) match(prefs ...language.Tag) (string, bool) {
	_, i, conf := m.matcher.Match(prefs...)
	if conf < language.High { // no guessing across languages (Low: mutually intelligible at best)
		return "", false
	}
	return m.languages[i], true
}

// supported returns lang when it is offered, else English.
func (m messages) supported(lang string) string {
	if _, ok := m.catalogues[lang]; ok {
		return lang
	}
	return defaultLanguage
}

// T returns the message key in lang (English when lang lacks it, the key
// itself when English does too), formatted with args when there are any.
func (m messages) T(lang, key string, args ...any) string {
	return translate(m.catalogues[m.supported(lang)], m.catalogues[defaultLanguage], key, args)
}

// T returns the message key in the page's language, formatted with args:
// {{.T "login.title"}}, {{.T "consent.heading" .Data.ClientName}}.
func (p Page) T(key string, args ...any) string {
	return translate(p.catalogue, p.fallback, key, args)
}

func translate(cat, fallback map[string]string, key string, args []any) string {
	msg, ok := cat[key]
	if !ok {
		if msg, ok = fallback[key]; !ok {
			msg = key
		}
	}
	if len(args) == 0 {
		return msg
	}
	return fmt.Sprintf(msg, args...)
}
