package static

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed assets
var embedded embed.FS

// Prefix is the URL path under which assets are served.
const Prefix = "/static/"

// Assets is the set of embedded assets with their fingerprinted names.
type Assets struct {
	byName   map[string]string // "janua.css" → "janua.3fa9c1d2.css"
	byHashed map[string]asset  // "janua.3fa9c1d2.css" → content
	modTime  time.Time
}

type asset struct {
	body        []byte
	contentType string
	etag        string
}

// New reads and fingerprints every embedded asset, once, at start-up.
func New() (*Assets, error) {
	a := &Assets{byName: map[string]string{}, byHashed: map[string]asset{}, modTime: time.Now()}
	err := fs.WalkDir(embedded, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := embedded.ReadFile(p)
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(p, "assets/")
		sum := sha256.Sum256(body)
		h := hex.EncodeToString(sum[:4])
		ext := path.Ext(name)
		hashed := strings.TrimSuffix(name, ext) + "." + h + ext
		ct := mime.TypeByExtension(ext)
		if ct == "" {
			ct = http.DetectContentType(body)
		}
		a.byName[name] = hashed
		a.byHashed[hashed] = asset{body: body, contentType: ct, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// Path returns the URL of the named asset ("janua.css" →
// "/static/janua.3fa9c1d2.css"), or "" for an unknown name.
func (a *Assets) Path(name string) string {
	if h, ok := a.byName[name]; ok {
		return Prefix + h
	}
	return ""
}

// ServeHTTP serves /static/<hashed name> with an immutable year-long cache,
// and /static/<plain name> (for bookmarks and tools) revalidated every time.
func (a *Assets) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, Prefix)
	cache := "public, max-age=31536000, immutable"
	as, ok := a.byHashed[name]
	if !ok {
		hashed, plain := a.byName[name]
		if !plain {
			http.NotFound(w, r)
			return
		}
		as = a.byHashed[hashed]
		cache = "public, max-age=0, must-revalidate"
	}
	h := w.Header()
	h.Set("Cache-Control", cache)
	h.Set("Content-Type", as.contentType)
	h.Set("ETag", as.etag)
	http.ServeContent(w, r, name, a.modTime, bytes.NewReader(as.body))
}
