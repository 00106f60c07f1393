package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	netmail "net/mail"
	"net/smtp"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
	"time"
)

// How the SMTP connection is secured.
const (
	// SecurityStartTLS connects in clear and upgrades with STARTTLS (RFC
	// 3207) before anything else is said; a server that does not offer it
	// is an error, never a reason to go on in clear. The submission port,
	// 587 (RFC 6409).
	SecurityStartTLS = "starttls"
	// SecurityTLS speaks TLS from the first byte ("implicit TLS", RFC 8314
	// §3.3), port 465.
	SecurityTLS = "tls"
	// SecurityNone sends in clear: only for a relay on the same host.
	SecurityNone = "none"
)

// SMTPOptions configure NewSMTP.
type SMTPOptions struct {
	Host string
	// Port defaults to 587 for STARTTLS, 465 for implicit TLS and 25 for none.
	Port int
	// Security is SecurityStartTLS (the default), SecurityTLS or SecurityNone.
	Security string
	// Username and Password authenticate with AUTH PLAIN, or LOGIN when the
	// server offers only that (RFC 4954); empty sends without AUTH.
	// Credentials never cross an unencrypted connection except to localhost.
	Username, Password string
	// From is the sender's address; FromName, when set, its display name.
	From, FromName string
	// LocalName is the name given in EHLO (default "localhost").
	LocalName string
	// Timeout bounds one delivery, from connecting to QUIT (default 30 s).
	Timeout time.Duration
	// TLSConfig, when set, is cloned for the TLS connection (its ServerName
	// is set to Host when empty); tests give their own CA here.
	TLSConfig *tls.Config
	// Now is the clock of the Date header; time.Now when nil.
	Now func() time.Time
}

// SMTP delivers email to one SMTP server (a submission server or relay),
// one connection per message.
type SMTP struct {
	o    SMTPOptions
	from *netmail.Address
	addr string
}

var _ Sender = (*SMTP)(nil)

// NewSMTP checks o and returns the sender.
func NewSMTP(o SMTPOptions) (*SMTP, error) {
	if o.Host == "" {
		return nil, errors.New("mail: SMTP host is required")
	}
	if o.Security == "" {
		o.Security = SecurityStartTLS
	}
	if o.Port == 0 {
		o.Port = map[string]int{SecurityStartTLS: 587, SecurityTLS: 465, SecurityNone: 25}[o.Security]
	}
	if !slices.Contains([]string{SecurityStartTLS, SecurityTLS, SecurityNone}, o.Security) {
		return nil, fmt.Errorf("mail: SMTP security %q must be starttls, tls or none", o.Security)
	}
	if o.Port <= 0 || o.Port > 65535 {
		return nil, fmt.Errorf("mail: SMTP port %d", o.Port)
	}
	from, err := parseAddress(o.From)
	if err != nil {
		return nil, fmt.Errorf("mail: sender: %w", err)
	}
	if err := checkHeader(o.FromName); err != nil {
		return nil, fmt.Errorf("mail: sender name: %w", err)
	}
	from.Name = o.FromName
	if o.LocalName == "" {
		o.LocalName = "localhost"
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &SMTP{o: o, from: from, addr: net.JoinHostPort(o.Host, strconv.Itoa(o.Port))}, nil
}

// Describe names the server for banners and logs (never the credentials).
func (s *SMTP) Describe() string { return "smtp " + s.addr + " (" + s.o.Security + ")" }

// Send delivers e in one SMTP transaction (RFC 5321 §3.3). A 5xx reply to
// MAIL, RCPT or DATA is Permanent: that server will not take this message.
// Everything else (connection, TLS, authentication, 4xx replies, timeouts)
// is transient: those are the deployment's trouble, not the message's, and
// may pass.
func (s *SMTP) Send(ctx context.Context, e Email) error {
	msg, err := compose(s.from, e, s.o.Now())
	if err != nil {
		return Permanent(err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.o.Timeout)
	defer cancel()
	conn, err := s.dial(ctx)
	if err != nil {
		return err
	}
	// The deadline bounds every read and write; cancelling ctx cuts the
	// connection at once.
	deadline, _ := ctx.Deadline()
	_ = conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	c, err := smtp.NewClient(conn, s.o.Host)
	if err != nil {
		_ = conn.Close()
		return s.fail(ctx, "greeting", err)
	}
	defer c.Close()
	if err := c.Hello(s.o.LocalName); err != nil {
		return s.fail(ctx, "EHLO", err)
	}
	if s.o.Security == SecurityStartTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return fmt.Errorf("mail: %s does not offer STARTTLS, which is required (mail.smtp_tls)", s.addr)
		}
		if err := c.StartTLS(s.tlsConfig()); err != nil {
			return s.fail(ctx, "STARTTLS", err)
		}
	}
	if s.o.Username != "" {
		if err := s.auth(c); err != nil {
			return s.fail(ctx, "AUTH", err)
		}
	}
	if err := c.Mail(s.from.Address); err != nil {
		return s.fail(ctx, "MAIL FROM", classify(err))
	}
	if err := c.Rcpt(e.To); err != nil {
		return s.fail(ctx, "RCPT TO", classify(err))
	}
	w, err := c.Data()
	if err != nil {
		return s.fail(ctx, "DATA", classify(err))
	}
	if _, err := w.Write(msg); err != nil {
		return s.fail(ctx, "DATA", err)
	}
	if err := w.Close(); err != nil { // the reply to the whole message
		return s.fail(ctx, "DATA", classify(err))
	}
	_ = c.Quit() // delivered: a failed QUIT changes nothing
	return nil
}

// dial connects, in TLS from the start for implicit TLS.
func (s *SMTP) dial(ctx context.Context) (net.Conn, error) {
	d := &net.Dialer{}
	var conn net.Conn
	var err error
	if s.o.Security == SecurityTLS {
		conn, err = (&tls.Dialer{NetDialer: d, Config: s.tlsConfig()}).DialContext(ctx, "tcp", s.addr)
	} else {
		conn, err = d.DialContext(ctx, "tcp", s.addr)
	}
	if err != nil {
		return nil, fmt.Errorf("mail: connect to %s: %w", s.addr, err)
	}
	return conn, nil
}

func (s *SMTP) tlsConfig() *tls.Config {
	var c *tls.Config
	if s.o.TLSConfig != nil {
		c = s.o.TLSConfig.Clone()
	} else {
		c = &tls.Config{}
	}
	if c.ServerName == "" {
		c.ServerName = s.o.Host
	}
	if c.MinVersion < tls.VersionTLS12 {
		c.MinVersion = tls.VersionTLS12
	}
	return c
}

// auth authenticates with PLAIN (RFC 4616) or, when the server offers only
// that, LOGIN. Both refuse to send the password over an unencrypted
// connection to anything but localhost.
func (s *SMTP) auth(c *smtp.Client) error {
	ok, mechs := c.Extension("AUTH")
	if !ok {
		return errors.New("the server does not offer AUTH, but credentials are configured")
	}
	offered := strings.Fields(strings.ToUpper(mechs))
	switch {
	case slices.Contains(offered, "PLAIN"):
		return c.Auth(smtp.PlainAuth("", s.o.Username, s.o.Password, s.o.Host))
	case slices.Contains(offered, "LOGIN"):
		return c.Auth(&loginAuth{username: s.o.Username, password: s.o.Password, host: s.o.Host})
	}
	return fmt.Errorf("the server offers AUTH %s; Janua speaks PLAIN and LOGIN", mechs)
}

// fail wraps err with the step it failed at; after ctx ended, the cause is
// the timeout or the cancellation, not the broken connection it left.
func (s *SMTP) fail(ctx context.Context, step string, err error) error {
	if ctx.Err() != nil {
		err = fmt.Errorf("%w (%w)", ctx.Err(), err)
	}
	if IsPermanent(err) {
		return Permanent(fmt.Errorf("mail: %s at %s: %w", s.addr, step, err))
	}
	return fmt.Errorf("mail: %s at %s: %w", s.addr, step, err)
}

// classify marks a 5xx reply permanent (RFC 5321 §4.2.1: "permanent
// negative completion"); 4xx replies and everything else stay transient.
// 530, "authentication required" (RFC 4954 §6) or "must issue STARTTLS
// first" (RFC 3207 §4), is the configuration's fault, not the message's:
// transient too.
func classify(err error) error {
	var te *textproto.Error
	if errors.As(err, &te) && te.Code >= 500 && te.Code < 600 && te.Code != 530 {
		return Permanent(err)
	}
	return err
}

// loginAuth is the LOGIN mechanism (draft-murchison-sasl-login): the
// username and the password, each in answer to a server challenge.
type loginAuth struct {
	username, password, host string
}

func (a *loginAuth) Start(server *smtp.ServerInfo) (string, []byte, error) {
	// The same rule as net/smtp's PlainAuth: never in clear, except to localhost.
	if !server.TLS && !isLocalhost(server.Name) {
		return "", nil, errors.New("unencrypted connection")
	}
	if server.Name != a.host {
		return "", nil, errors.New("wrong host name")
	}
	return "LOGIN", nil, nil
}

func (a *loginAuth) Next(fromServer []byte, more bool) ([]byte, error) {
	if !more {
		return nil, nil
	}
	switch strings.ToLower(strings.TrimSpace(string(fromServer))) {
	case "username:", "user name", "username":
		return []byte(a.username), nil
	case "password:", "password":
		return []byte(a.password), nil
	}
	return nil, fmt.Errorf("unexpected LOGIN challenge %q", fromServer)
}

func isLocalhost(name string) bool {
	return name == "localhost" || name == "127.0.0.1" || name == "::1"
}
