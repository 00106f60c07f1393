package conformance

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"time"
)

// CallbackServer is the relying party's HTTPS endpoint at the runner's base URL: the
// redirect_uri, the post_logout_redirect_uri, and every unregistered URI below them
// that a misbehaving OP might redirect to. It answers each request with a JSON echo of
// what arrived (method, path, query, Content-Type, form body), which the user agent
// hands to the module, so a form_post callback is checked as the real POST it was
// (OAuth 2.0 Form Post Response Mode §2).
type CallbackServer struct {
	srv *http.Server
	ln  net.Listener
}

// StartCallbackServer listens on addr (host:port of the base URL) with cert.
func StartCallbackServer(addr string, cert tls.Certificate) (*CallbackServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	cs := &CallbackServer{ln: ln}
	cs.srv = &http.Server{
		Handler:           http.HandlerFunc(echo),
		ReadHeaderTimeout: 10 * time.Second,
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
	}
	go func() { _ = cs.srv.ServeTLS(ln, "", "") }()
	return cs, nil
}

// Addr is the address the server listens on.
func (cs *CallbackServer) Addr() string { return cs.ln.Addr().String() }

// Close stops the server.
func (cs *CallbackServer) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return cs.srv.Shutdown(ctx)
}

func echo(w http.ResponseWriter, r *http.Request) {
	hit := CallbackHit{
		Path:        r.URL.Path,
		Method:      r.Method,
		ContentType: r.Header.Get("Content-Type"),
		Query:       r.URL.Query(),
	}
	if r.Method == http.MethodPost {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		hit.Body = parseBody(hit.ContentType, body)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(hit)
}

// parseBody decodes a urlencoded body whatever Content-Type claims, so that a wrong
// Content-Type is reported as such rather than as missing parameters.
func parseBody(ctype string, body []byte) url.Values {
	mt, params, _ := mime.ParseMediaType(ctype)
	if mt == "multipart/form-data" {
		if v, err := parseMultipart(body, params["boundary"]); err == nil {
			return v
		}
	}
	v, err := url.ParseQuery(string(body))
	if err != nil {
		return url.Values{}
	}
	return v
}

var errNoBoundary = errors.New("multipart body without boundary")

func parseMultipart(body []byte, boundary string) (url.Values, error) {
	if boundary == "" {
		return nil, errNoBoundary
	}
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	v := url.Values{}
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return v, nil
		}
		if err != nil {
			return nil, err
		}
		b, _ := io.ReadAll(io.LimitReader(p, 1<<16))
		v.Add(p.FormName(), string(b))
	}
}
