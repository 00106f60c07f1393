package templates

import (
	"io"
	"testing"
)

// A page's template is built when it is first rendered, once, not by New
// (which only checks that every page parses).
func TestPagesBuiltOnFirstRender(t *testing.T) {
	set, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	built := func() (n int) {
		for _, p := range set.pages {
			if p.t != nil {
				n++
			}
		}
		return n
	}
	if n := built(); n != 0 {
		t.Fatalf("%d pages built by New, want 0", n)
	}
	for range 2 {
		if err := set.Render(io.Discard, "error", Page{Title: "x", Data: ErrorData{Status: 500, Message: "m"}}); err != nil {
			t.Fatal(err)
		}
	}
	if n := built(); n != 1 {
		t.Errorf("%d pages built after rendering one twice, want 1", n)
	}
}
