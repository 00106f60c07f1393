package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// The lean transport speaks HTTP/1.1 as net/http's server expects:
// Content-Length and chunked bodies, a posted form, headers, keep-alive,
// "Connection: close", and a kept-alive connection the server dropped.
func TestLeanTransport(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/fixed":
			w.Header().Set("Content-Type", "text/plain")
			fmt.Fprint(w, "fixed body")
		case "/chunked":
			for i := range 3 {
				fmt.Fprintf(w, "part%d;", i)
				w.(http.Flusher).Flush()
			}
		case "/form":
			if err := r.ParseForm(); err != nil {
				http.Error(w, err.Error(), 400)
				return
			}
			user, pass, _ := r.BasicAuth()
			fmt.Fprintf(w, "%s %s %s %s %s", r.Method, r.PostForm.Get("a"), r.Header.Get("X-Test"), user, pass)
		case "/close":
			w.Header().Set("Connection", "close")
			fmt.Fprint(w, "bye")
		case "/redirect":
			http.Redirect(w, r, "/fixed", http.StatusFound)
		}
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	tr := newLeanTransport(4)
	c := &http.Client{Transport: tr, Timeout: 5 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	do := func(req *http.Request) (int, string) {
		t.Helper()
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		return res.StatusCode, string(b)
	}
	get := func(path string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		return do(req)
	}
	for range 3 {
		if code, body := get("/fixed"); code != 200 || body != "fixed body" {
			t.Fatalf("fixed: %d %q", code, body)
		}
		if code, body := get("/chunked"); code != 200 || body != "part0;part1;part2;" {
			t.Fatalf("chunked: %d %q", code, body)
		}
	}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/form", strings.NewReader(url.Values{"a": {"b c"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Test", "yes")
	req.SetBasicAuth("id", "secret")
	if code, body := do(req); code != 200 || body != "POST b c yes id secret" {
		t.Fatalf("form: %d %q", code, body)
	}
	// A redirect's response is closed unread; the connection stays usable.
	res, err := c.Get(srv.URL + "/redirect")
	if err != nil || res.StatusCode != http.StatusFound || res.Header.Get("Location") != "/fixed" {
		t.Fatalf("redirect: %v %v", res, err)
	}
	_ = res.Body.Close()
	if n := conns.Load(); n != 1 {
		t.Fatalf("%d connections for sequential keep-alive requests, want 1", n)
	}
	if code, body := get("/close"); code != 200 || body != "bye" {
		t.Fatalf("close: %d %q", code, body)
	}
	if code, _ := get("/fixed"); code != 200 || conns.Load() != 2 {
		t.Fatalf("after Connection: close: %d, %d connections, want a second one", code, conns.Load())
	}
	// The server drops its idle connections: the next request is retried
	// on a new one.
	srv.CloseClientConnections()
	time.Sleep(50 * time.Millisecond)
	if code, body := get("/fixed"); code != 200 || body != "fixed body" {
		t.Fatalf("after the server closed: %d %q", code, body)
	}
	if _, err := c.Get("https://127.0.0.1/"); err == nil {
		t.Fatal("https accepted")
	}
}
