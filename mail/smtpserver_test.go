package mail_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log"
	"math/big"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// This file is the harness of the delivery tests: a real SMTP server
// (emersion/go-smtp) on 127.0.0.1 with a TLS certificate from a CA made for
// the test, speaking STARTTLS or implicit TLS, requiring AUTH, and
// answering DATA as the test says.

const (
	smtpUser     = "janua"
	smtpPassword = "s3cret-smtp-password"
)

// received is one message the server accepted.
type received struct {
	From string
	To   []string
	Data []byte
	TLS  bool
}

// smtpServer is a running test SMTP server.
type smtpServer struct {
	Host string
	Port int
	// Roots trusts the server's certificate.
	Roots *x509.CertPool

	mu       sync.Mutex
	msgs     []received
	authFail int // failed AUTH attempts
	dataN    int
	// reply, when set, answers the n-th DATA (1-based); nil accepts.
	reply func(n int) error
	// rcpt, when set, answers RCPT TO.
	rcpt func(to string) error
	got  chan received
}

// smtpServerOptions vary newSMTPServer.
type smtpServerOptions struct {
	implicitTLS bool
	noTLS       bool     // offer no STARTTLS
	mechs       []string // AUTH mechanisms offered (default PLAIN and LOGIN)
	noAuth      bool     // accept mail without AUTH
}

func newSMTPServer(t *testing.T, o smtpServerOptions) *smtpServer {
	t.Helper()
	cert, roots := testCertificate(t)
	s := &smtpServer{Host: "127.0.0.1", Roots: roots, got: make(chan received, 100)}
	if o.mechs == nil {
		o.mechs = []string{sasl.Plain, sasl.Login}
	}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		_, isTLS := c.TLSConnectionState()
		return &smtpSession{s: s, o: o, tls: isTLS}, nil
	}))
	srv.Domain = "mx.test"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.ErrorLog = log.New(io.Discard, "", 0)
	tlsConf := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case o.implicitTLS:
		ln = tls.NewListener(ln, tlsConf)
	case !o.noTLS:
		srv.TLSConfig = tlsConf
	}
	s.Port = ln.Addr().(*net.TCPAddr).Port
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return s
}

// Addr is host:port.
func (s *smtpServer) Addr() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }

// Received returns what the server accepted so far.
func (s *smtpServer) Received() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.msgs...)
}

// wait returns the next accepted message, failing after a few seconds.
func (s *smtpServer) wait(t *testing.T) received {
	t.Helper()
	select {
	case r := <-s.got:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("the SMTP server received nothing")
		return received{}
	}
}

// smtpSession is one connection's transaction.
type smtpSession struct {
	s      *smtpServer
	o      smtpServerOptions
	tls    bool
	authed bool
	from   string
	to     []string
}

func (ss *smtpSession) AuthMechanisms() []string { return ss.o.mechs }

func (ss *smtpSession) Auth(mech string) (sasl.Server, error) {
	check := func(user, pass string) error {
		if user != smtpUser || pass != smtpPassword {
			ss.s.mu.Lock()
			ss.s.authFail++
			ss.s.mu.Unlock()
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "bad credentials"}
		}
		ss.authed = true
		return nil
	}
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(_, user, pass string) error { return check(user, pass) }), nil
	case sasl.Login:
		return &loginServer{check: check}, nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

func (ss *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	if !ss.o.noAuth && !ss.authed {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
	}
	ss.from = from
	return nil
}

func (ss *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if ss.s.rcpt != nil {
		if err := ss.s.rcpt(to); err != nil {
			return err
		}
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *smtpSession) Data(r io.Reader) error {
	var b bytes.Buffer
	if _, err := io.Copy(&b, r); err != nil {
		return err
	}
	ss.s.mu.Lock()
	ss.s.dataN++
	n := ss.s.dataN
	reply := ss.s.reply
	ss.s.mu.Unlock()
	if reply != nil {
		if err := reply(n); err != nil {
			return err
		}
	}
	m := received{From: ss.from, To: ss.to, Data: b.Bytes(), TLS: ss.tls}
	ss.s.mu.Lock()
	ss.s.msgs = append(ss.s.msgs, m)
	ss.s.mu.Unlock()
	ss.s.got <- m
	return nil
}

func (ss *smtpSession) Reset()        { ss.from, ss.to = "", nil }
func (ss *smtpSession) Logout() error { return nil }

// loginServer is the server side of AUTH LOGIN, which go-sasl lacks.
type loginServer struct {
	check func(user, pass string) error
	step  int
	user  string
}

func (l *loginServer) Next(response []byte) ([]byte, bool, error) {
	switch l.step {
	case 0:
		l.step = 1
		if response != nil { // an initial response is the username
			l.user, l.step = string(response), 2
			return []byte("Password:"), false, nil
		}
		return []byte("Username:"), false, nil
	case 1:
		l.user, l.step = string(response), 2
		return []byte("Password:"), false, nil
	case 2:
		l.step = 3
		return nil, true, l.check(l.user, string(response))
	}
	return nil, false, errors.New("unexpected LOGIN step")
}

// testCertificate makes a CA and a certificate for 127.0.0.1 and localhost
// signed by it.
func testCertificate(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Janua test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "mx.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, roots
}
