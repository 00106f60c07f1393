package templates

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"strings"
	"sync"
)

//go:embed pages/*.html locales mail
var embedded embed.FS

// layoutFile wraps every page; it calls the page's "content" template.
const layoutFile = "layout.html"

// Options configure New.
type Options struct {
	// Override, when set, is searched first for every file (theming).
	Override fs.FS
	// Asset maps an asset name ("janua.css") to its URL.
	Asset func(name string) string
}

// Set is the parsed pages and message catalogues, safe for concurrent
// rendering.
type Set struct {
	pages map[string]*page
	mails mails
	messages
}

// page is one page's template, built on its first rendering: each is a
// deep copy of the layout and every partial (html/template's Clone copies
// the parse trees it escapes), about 200 KB a page, and most pages of a
// running server are never shown (the idle server's memory, issue 6).
// New has already built every page once, so a source that does not parse
// fails at start, not at the first request.
type page struct {
	once  sync.Once
	build func() (*template.Template, error)
	t     *template.Template
	err   error
}

func (p *page) template() (*template.Template, error) {
	p.once.Do(func() { p.t, p.err = p.build(); p.build = nil })
	return p.t, p.err
}

// Brand is what a page shows of the deployment (or, later, the
// organization): its name, logo and primary colour.
type Brand struct {
	Name    string
	LogoURL string
}

// Page is the data every page receives.
type Page struct {
	Title     string
	Lang      string
	Nonce     string
	CSRF      string
	RequestID string
	Brand     Brand
	// Data is the page's own content.
	Data any

	// catalogue and fallback are the messages of Lang and of English; Render
	// sets them for T.
	catalogue, fallback map[string]string
}

// ErrorData is the data of the error page: the status, a message (a
// catalogue key, or plain text shown as it is) and an optional technical
// detail shown in small type.
type ErrorData struct {
	Status  int
	Message string
	Detail  string
}

// New parses the layout with each page once.
func New(o Options) (*Set, error) {
	if o.Asset == nil {
		o.Asset = func(string) string { return "" }
	}
	// read returns dir/name from the override directory (pages at its
	// root, catalogues under locales/) or else the embedded file.
	read := func(dir, name string) ([]byte, error) {
		if o.Override != nil {
			oname := name
			if dir != "pages" {
				oname = dir + "/" + name
			}
			b, err := fs.ReadFile(o.Override, oname)
			if err == nil {
				return b, nil
			}
			if !errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("templates: override %s: %w", oname, err)
			}
		}
		return embedded.ReadFile(dir + "/" + name)
	}
	funcs := template.FuncMap{"asset": o.Asset}
	layoutSrc, err := read("pages", layoutFile)
	if err != nil {
		return nil, fmt.Errorf("templates: %w", err)
	}
	layout, err := template.New(layoutFile).Funcs(funcs).Parse(string(layoutSrc))
	if err != nil {
		return nil, fmt.Errorf("templates: %s: %w", layoutFile, err)
	}
	entries, err := embedded.ReadDir("pages")
	if err != nil {
		return nil, err
	}
	msgs, err := loadMessages(read)
	if err != nil {
		return nil, err
	}
	// Partials (pages/_name.html) define named blocks any page may call:
	// {{template "security_passkeys" .}}. They join the layout first.
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, "_") || !strings.HasSuffix(name, ".html") {
			continue
		}
		src, err := read("pages", name)
		if err != nil {
			return nil, fmt.Errorf("templates: %w", err)
		}
		if _, err := layout.New(name).Parse(string(src)); err != nil {
			return nil, fmt.Errorf("templates: %s: %w", name, err)
		}
	}
	ms, err := loadMails(read)
	if err != nil {
		return nil, err
	}
	s := &Set{pages: map[string]*page{}, mails: ms, messages: msgs}
	for _, e := range entries {
		name := e.Name()
		if name == layoutFile || strings.HasPrefix(name, "_") || !strings.HasSuffix(name, ".html") {
			continue
		}
		src, err := read("pages", name)
		if err != nil {
			return nil, fmt.Errorf("templates: %w", err)
		}
		build := func() (*template.Template, error) {
			t, err := template.Must(layout.Clone()).Parse(string(src))
			if err != nil {
				return nil, fmt.Errorf("templates: %s: %w", name, err)
			}
			return t, nil
		}
		if _, err := build(); err != nil { // checked now, kept for later
			return nil, err
		}
		s.pages[strings.TrimSuffix(name, ".html")] = &page{build: build}
	}
	return s, nil
}

// Render writes the named page ("error", "notfound", ...) to w. The page is
// rendered into a buffer first, so a template error never leaves half a page.
func (s *Set) Render(w io.Writer, name string, p Page) error {
	pg, ok := s.pages[name]
	if !ok {
		return fmt.Errorf("templates: no page %q", name)
	}
	t, err := pg.template()
	if err != nil {
		return err
	}
	p.Lang = s.supported(p.Lang)
	p.catalogue, p.fallback = s.catalogues[p.Lang], s.catalogues[defaultLanguage]
	if p.Brand.Name == "" {
		p.Brand.Name = "Janua"
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, layoutFile, p); err != nil {
		return fmt.Errorf("templates: render %s: %w", name, err)
	}
	_, err = buf.WriteTo(w)
	return err
}

// Has reports whether a page exists.
func (s *Set) Has(name string) bool { _, ok := s.pages[name]; return ok }
