package static_test

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"

	"github.com/madfam-org/janua/static"
)

func TestAssets(t *testing.T) {
	a, err := static.New()
	if err != nil {
		t.Fatal(err)
	}
	p := a.Path("janua.css")
	if !regexp.MustCompile(`^/static/janua\.[0-9a-f]{8}\.css$`).MatchString(p) || a.Path("nope.css") != "" {
		t.Fatalf("Path: %q", p)
	}
	get := func(path, inm string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		if inm != "" {
			req.Header.Set("If-None-Match", inm)
		}
		rec := httptest.NewRecorder()
		a.ServeHTTP(rec, req)
		return rec
	}
	rec := get(p, "")
	if rec.Code != 200 || rec.Header().Get("Cache-Control") != "public, max-age=31536000, immutable" || rec.Header().Get("Content-Type") != "text/css; charset=utf-8" {
		t.Fatalf("hashed: %d %v", rec.Code, rec.Header())
	}
	if rec := get(p, rec.Header().Get("ETag")); rec.Code != http.StatusNotModified {
		t.Fatalf("conditional GET: %d", rec.Code)
	}
	if rec := get("/static/janua.css", ""); rec.Code != 200 || rec.Header().Get("Cache-Control") != "public, max-age=0, must-revalidate" {
		t.Fatalf("plain name: %d %v", rec.Code, rec.Header())
	}
	for _, bad := range []string{"/static/nope.css", "/static/../static.go", "/static/janua.00000000.css"} {
		if rec := get(bad, ""); rec.Code != 404 {
			t.Errorf("%s: %d", bad, rec.Code)
		}
	}
	if rec := get(a.Path("logo.svg"), ""); rec.Header().Get("Content-Type") != "image/svg+xml" {
		t.Fatalf("svg type %q", rec.Header().Get("Content-Type"))
	}
}
