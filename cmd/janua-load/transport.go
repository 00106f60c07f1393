package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// leanTransport is an HTTP/1.1 client transport (RFC 9112) for load on
// loopback, cheaper than net/http's: a request is written with one write
// and its response read on the calling goroutine, where http.Transport
// hands every request to a per-connection writer goroutine and every
// response to a reader goroutine. On the 2-core machines the benchmarks run
// on, the load generator shares the CPU with the server it measures, and
// http.Transport cost about 60 µs of CPU per request, more than the server
// spends on a discovery document. The requests on the wire are ordinary
// keep-alive HTTP/1.1; the responses are parsed by net/http's own
// http.ReadResponse, so status, headers, Content-Length and chunked bodies
// are read exactly as any client reads them.
//
// Only http:// on a connection per request at a time: no TLS, no proxy,
// no HTTP/2, no 100-continue. A connection that fails, or whose response
// says "Connection: close", is closed instead of reused.
type leanTransport struct {
	dialer net.Dialer

	mu   sync.Mutex
	idle map[string][]*leanConn // by host:port
	max  int                    // idle connections kept per host
}

type leanConn struct {
	net.Conn
	br *bufio.Reader
	wb bytes.Buffer
}

var _ http.RoundTripper = (*leanTransport)(nil)

func newLeanTransport(maxIdle int) *leanTransport {
	return &leanTransport{
		dialer: net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second},
		idle:   map[string][]*leanConn{},
		max:    maxIdle,
	}
}

// RoundTrip sends req and returns its response, whose body must be read
// to its end or closed: only then does the connection go back to the pool.
func (t *leanTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme != "http" {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, fmt.Errorf("janua-load transport: %s: only http:// (loopback) is supported", req.URL.Scheme)
	}
	var body []byte
	if req.Body != nil && req.Body != http.NoBody {
		b, err := io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			return nil, err
		}
		body = b
	}
	host := req.URL.Host
	if req.URL.Port() == "" {
		host = net.JoinHostPort(req.URL.Hostname(), "80")
	}
	// A kept-alive connection the server has closed meanwhile fails at
	// once. As http.Transport does, the request is retried once on a new
	// connection when that is safe: its write failed, or it is a GET. A
	// POST that may have reached the server (a code or a refresh token
	// redeemed) is never sent twice.
	for attempt := 0; ; attempt++ {
		c, reused, err := t.conn(req, host)
		if err != nil {
			return nil, err
		}
		res, unsent, err := t.roundTrip(c, req, host, body)
		if err == nil {
			return res, nil
		}
		_ = c.Close()
		if !reused || attempt > 0 || req.Context().Err() != nil || !unsent {
			return nil, err
		}
	}
}

// roundTrip sends req on c and reads its response head. unsent reports,
// on failure, that the server cannot have acted on the request.
func (t *leanTransport) roundTrip(c *leanConn, req *http.Request, host string, body []byte) (res *http.Response, unsent bool, err error) {
	if dl, ok := req.Context().Deadline(); ok {
		_ = c.SetDeadline(dl)
	} else {
		_ = c.SetDeadline(time.Time{})
	}
	w := &c.wb
	w.Reset()
	w.WriteString(req.Method)
	w.WriteByte(' ')
	w.WriteString(req.URL.RequestURI())
	w.WriteString(" HTTP/1.1\r\nHost: ")
	if req.Host != "" {
		w.WriteString(req.Host)
	} else {
		w.WriteString(req.URL.Host)
	}
	w.WriteString("\r\n")
	if len(body) > 0 || req.Method == http.MethodPost || req.Method == http.MethodPut {
		w.WriteString("Content-Length: ")
		w.WriteString(strconv.Itoa(len(body)))
		w.WriteString("\r\n")
	}
	for k, vs := range req.Header {
		for _, v := range vs {
			w.WriteString(k)
			w.WriteString(": ")
			w.WriteString(v)
			w.WriteString("\r\n")
		}
	}
	w.WriteString("\r\n")
	w.Write(body)
	if _, err := c.Write(w.Bytes()); err != nil {
		return nil, true, err
	}
	res, err = http.ReadResponse(c.br, req)
	if err != nil {
		// A GET may be sent again whatever became of it (RFC 9110
		// §9.2.2); a POST may have been acted on.
		idempotent := req.Method == http.MethodGet || req.Method == http.MethodHead
		return nil, idempotent, err
	}
	res.Body = &leanBody{ReadCloser: res.Body, t: t, c: c, host: host, keep: !res.Close,
		eof: res.Body == http.NoBody}
	return res, false, nil
}

// conn returns an idle connection to host, or dials one.
func (t *leanTransport) conn(req *http.Request, host string) (*leanConn, bool, error) {
	t.mu.Lock()
	if cs := t.idle[host]; len(cs) > 0 {
		c := cs[len(cs)-1]
		t.idle[host] = cs[:len(cs)-1]
		t.mu.Unlock()
		return c, true, nil
	}
	t.mu.Unlock()
	nc, err := t.dialer.DialContext(req.Context(), "tcp", host)
	if err != nil {
		return nil, false, err
	}
	return &leanConn{Conn: nc, br: bufio.NewReaderSize(nc, 16<<10)}, false, nil
}

// put returns c to the pool, or closes it when the pool is full.
func (t *leanTransport) put(host string, c *leanConn) {
	t.mu.Lock()
	if len(t.idle[host]) < t.max {
		t.idle[host] = append(t.idle[host], c)
		t.mu.Unlock()
		return
	}
	t.mu.Unlock()
	_ = c.Close()
}

// CloseIdleConnections closes every pooled connection.
func (t *leanTransport) CloseIdleConnections() {
	t.mu.Lock()
	idle := t.idle
	t.idle = map[string][]*leanConn{}
	t.mu.Unlock()
	for _, cs := range idle {
		for _, c := range cs {
			_ = c.Close()
		}
	}
}

// leanBody gives the connection back once the body is read to its end, and
// closes it when the body is closed early (what is left of the response
// would be read as the next one).
type leanBody struct {
	io.ReadCloser
	t    *leanTransport
	c    *leanConn
	host string
	keep bool
	done bool
	eof  bool
}

func (b *leanBody) Read(p []byte) (int, error) {
	if b.done {
		return 0, errors.New("janua-load transport: read after close")
	}
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.eof = true
	}
	return n, err
}

func (b *leanBody) Close() error {
	if b.done {
		return nil
	}
	if !b.eof {
		// Closed before its end: a short rest is read, so the
		// connection can serve the next request.
		_, _ = io.Copy(io.Discard, io.LimitReader(b, 256<<10))
	}
	b.done = true
	err := b.ReadCloser.Close()
	if b.eof && b.keep && err == nil && b.c.br.Buffered() == 0 {
		b.t.put(b.host, b.c)
		return nil
	}
	_ = b.c.Close()
	return err
}
