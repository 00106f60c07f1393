package main

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/madfam-org/janua/login"
	"github.com/madfam-org/janua/storage"
)

// Environments.
const (
	envDevelopment = "development"
	envProduction  = "production"
)

// defaultIssuer is the development issuer; production refuses it.
const defaultIssuer = "http://localhost:4100"

// Config is Janua's effective configuration. It is built in layers:
// defaults < YAML file (--config) < JANUA_* environment < command-line flags.
// Secrets may come from a file named by the *_FILE variable instead.
type Config struct {
	Env     string `yaml:"env"`
	Issuer  string `yaml:"issuer"`
	DataDir string `yaml:"data_dir"`
	// Secret is the key-encryption secret (JANUA_SECRET).
	Secret    string          `yaml:"secret"`
	HTTP      HTTPConfig      `yaml:"http"`
	Database  DatabaseConfig  `yaml:"database"`
	Redis     RedisConfig     `yaml:"redis"`
	Log       LogConfig       `yaml:"log"`
	GC        GCConfig        `yaml:"gc"`
	Tokens    TokensConfig    `yaml:"tokens"`
	Passwords PasswordsConfig `yaml:"passwords"`
	Templates TemplatesConfig `yaml:"templates"`
	// Sign-in, sign-up and the SSO session (login and consent).
	Signup   SignupConfig   `yaml:"signup"`
	Sessions SessionsConfig `yaml:"sessions"`
	Login    LoginConfig    `yaml:"login"`
	Metrics  MetricsConfig  `yaml:"metrics"`
	// Mail is how the messages sign-in sends are delivered (config_mail.go).
	Mail MailConfig `yaml:"mail"`

	// Passkeys is sign-in with passkeys (passkeys.go).
	Passkeys PasskeysConfig `yaml:"passkeys"`
}

// HTTPConfig is the listener.
type HTTPConfig struct {
	Addr string `yaml:"addr"`
	// TrustedProxies are the CIDRs whose X-Forwarded-For is believed.
	TrustedProxies  []string      `yaml:"trusted_proxies"`
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
}

// DatabaseConfig selects the database.
type DatabaseConfig struct {
	// URL is postgres://… or sqlite:PATH; empty means sqlite:<data_dir>/janua.db.
	URL          string `yaml:"url"`
	MaxOpenConns int    `yaml:"max_open_conns"`
}

// RedisConfig enables shared hot state; an empty URL keeps it in memory.
type RedisConfig struct {
	URL    string `yaml:"url"`
	Prefix string `yaml:"prefix"`
}

// LogConfig sets the log level and format.
type LogConfig struct {
	Level  string `yaml:"level"`
	Format string `yaml:"format"` // auto (text in development, JSON in production), text, json
}

// GCConfig schedules garbage collection of expired rows.
type GCConfig struct {
	Interval       time.Duration `yaml:"interval"`
	AuditRetention time.Duration `yaml:"audit_retention"`
}

// TokensConfig sets the server-wide token lifetimes (a client may shorten
// or lengthen its own through its metadata).
type TokensConfig struct {
	AccessTTL    time.Duration `yaml:"access_ttl"`
	IDTokenTTL   time.Duration `yaml:"id_token_ttl"`
	CodeTTL      time.Duration `yaml:"code_ttl"`
	RefreshTTL   time.Duration `yaml:"refresh_ttl"`
	RefreshIdle  time.Duration `yaml:"refresh_idle_ttl"`
	RefreshGrace time.Duration `yaml:"refresh_grace"`
	FlowTTL      time.Duration `yaml:"flow_ttl"`
	// FailureLimit failed token/introspection/revocation requests from one
	// address in FailureWindow block it (429); negative disables.
	FailureLimit  int           `yaml:"failure_limit"`
	FailureWindow time.Duration `yaml:"failure_window"`
}

// PasswordsConfig is the password policy and argon2id cost.
type PasswordsConfig struct {
	MinLength int          `yaml:"min_length"`
	Argon2    Argon2Config `yaml:"argon2"`
}

// Argon2Config is the argon2id cost (RFC 9106) and the bound on concurrent
// hashes, which caps their memory at MaxConcurrent × MemoryKiB (0: one per
// processor, runtime.GOMAXPROCS); a check that waits MaxWait for a slot is
// refused (503).
type Argon2Config struct {
	MemoryKiB     uint32        `yaml:"memory_kib"`
	Iterations    uint32        `yaml:"iterations"`
	Parallelism   uint8         `yaml:"parallelism"`
	MaxConcurrent int           `yaml:"max_concurrent"`
	MaxWait       time.Duration `yaml:"max_wait"`
}

// params is the argon2id cost.
func (a Argon2Config) params() login.Argon2Params {
	return login.Argon2Params{MemoryKiB: a.MemoryKiB, Iterations: a.Iterations, Parallelism: a.Parallelism}
}

// limits is the bound on concurrent hashes.
func (a Argon2Config) limits() login.HashLimits {
	return login.HashLimits{Concurrent: a.MaxConcurrent, Wait: a.MaxWait}
}

// TemplatesConfig lets an operator override embedded pages (theming).
type TemplatesConfig struct {
	Dir string `yaml:"dir"`
}

// SignupConfig offers self-service sign-up.
type SignupConfig struct {
	Enabled bool `yaml:"enabled"`
}

// SessionsConfig is the browser SSO session's lifetimes.
type SessionsConfig struct {
	IdleTimeout     time.Duration `yaml:"idle_timeout"`
	AbsoluteTimeout time.Duration `yaml:"absolute_timeout"`
	RememberTimeout time.Duration `yaml:"remember_timeout"`
}

// LoginConfig is the abuse controls of sign-in and sign-up.
type LoginConfig struct {
	IPRateLimit     int           `yaml:"ip_rate_limit"`
	IPRateWindow    time.Duration `yaml:"ip_rate_window"`
	LockoutFailures int           `yaml:"lockout_failures"`
	LockoutWindow   time.Duration `yaml:"lockout_window"`
	LockoutDuration time.Duration `yaml:"lockout_duration"`
	// RequireSecondFactor makes every sign-in prove a second factor.
	RequireSecondFactor bool `yaml:"require_second_factor"`
	// ReauthWindow: how recent a sign-in must be for a sensitive change.
	ReauthWindow time.Duration `yaml:"reauth_window"`
	// Mailed sign-in, verification and reset: EmailSignIn offers magic
	// links and codes (when mail can be sent); EmailTokenTTL is how long a
	// mailed link or code lives; at most EmailSendLimit messages go to one
	// address, and EmailIPSendLimit are caused by one IP, per EmailSendWindow.
	EmailSignIn      bool          `yaml:"email_signin"`
	EmailTokenTTL    time.Duration `yaml:"email_token_ttl"`
	EmailSendLimit   int           `yaml:"email_send_limit"`
	EmailIPSendLimit int           `yaml:"email_ip_send_limit"`
	EmailSendWindow  time.Duration `yaml:"email_send_window"`
	// TOTPIssuer names Janua in authenticator apps; empty: the issuer's host.
	TOTPIssuer string `yaml:"totp_issuer"`
}

// MetricsConfig is the Prometheus metrics endpoint (metrics.go): its own
// listener, off unless Listen is set, so it is never public by accident.
type MetricsConfig struct {
	Listen string `yaml:"listen"`
	// Pprof adds Go's profiler (net/http/pprof) under /debug/pprof/ on the
	// metrics listener, for CPU profiles of a running server (make bench
	// takes one per scenario). Off by default: profiles show internals.
	Pprof bool `yaml:"pprof"`
}

// defaultConfig is the zero-configuration development setup.
func defaultConfig() Config {
	return Config{
		Env:     envDevelopment,
		Issuer:  defaultIssuer,
		DataDir: "./data",
		HTTP:    HTTPConfig{Addr: ":4100", ShutdownTimeout: 15 * time.Second},
		Redis:   RedisConfig{Prefix: "janua:"},
		Log:     LogConfig{Level: "info", Format: "auto"},
		GC:      GCConfig{Interval: 10 * time.Minute, AuditRetention: 90 * 24 * time.Hour},
		Tokens: TokensConfig{AccessTTL: time.Hour, IDTokenTTL: time.Hour, CodeTTL: 2 * time.Minute,
			RefreshTTL: 30 * 24 * time.Hour, RefreshIdle: 14 * 24 * time.Hour, RefreshGrace: 5 * time.Second, FlowTTL: 30 * time.Minute,
			FailureLimit: 60, FailureWindow: time.Minute},
		Passwords: PasswordsConfig{
			MinLength: 12,
			// OWASP's argon2id baseline: m=19 MiB, t=2, p=1.
			Argon2: Argon2Config{MemoryKiB: 19 * 1024, Iterations: 2, Parallelism: 1, MaxWait: login.DefaultHashWait},
		},
		Signup:   SignupConfig{Enabled: true},
		Sessions: SessionsConfig{IdleTimeout: 30 * time.Minute, AbsoluteTimeout: 12 * time.Hour, RememberTimeout: 30 * 24 * time.Hour},
		Login: LoginConfig{IPRateLimit: 20, IPRateWindow: time.Minute,
			LockoutFailures: 5, LockoutWindow: 15 * time.Minute, LockoutDuration: 15 * time.Minute,
			ReauthWindow: 10 * time.Minute,
			EmailSignIn:  true, EmailTokenTTL: 15 * time.Minute, EmailSendLimit: 5, EmailIPSendLimit: 20, EmailSendWindow: time.Hour},
		Mail: defaultMailConfig(),

		Passkeys: PasskeysConfig{RPName: "Janua", MaxPerUser: 10},
	}
}

// setting is one configuration key with its environment variable and flag.
type setting struct {
	key    string // YAML path
	env    string
	flag   string
	usage  string
	secret bool // redacted when printed; may come from env+"_FILE"
	ptr    any  // *string, *int, *bool, *time.Duration, *[]string, *uint32, *uint8
}

// settings lists every key of c, in the order `janua config` prints them.
func settings(c *Config) []setting {
	return []setting{
		{"env", "JANUA_ENV", "env", "development or production", false, &c.Env},
		{"issuer", "JANUA_ISSUER", "issuer", "public issuer URL (https in production)", false, &c.Issuer},
		{"data_dir", "JANUA_DATA_DIR", "data-dir", "directory for the SQLite database and the development secret", false, &c.DataDir},
		{"secret", "JANUA_SECRET", "", "key-encryption secret (≥ 32 characters); required in production", true, &c.Secret},
		{"http.addr", "JANUA_HTTP_ADDR", "http-addr", "listen address", false, &c.HTTP.Addr},
		{"http.trusted_proxies", "JANUA_TRUSTED_PROXIES", "trusted-proxies", "comma-separated CIDRs whose X-Forwarded-For is trusted", false, &c.HTTP.TrustedProxies},
		{"http.shutdown_timeout", "JANUA_SHUTDOWN_TIMEOUT", "shutdown-timeout", "how long SIGTERM waits for in-flight requests", false, &c.HTTP.ShutdownTimeout},
		{"database.url", "JANUA_DATABASE_URL", "database-url", "postgres://… or sqlite:PATH (default sqlite:<data_dir>/janua.db)", true, &c.Database.URL},
		{"database.max_open_conns", "JANUA_DATABASE_MAX_OPEN_CONNS", "", "connection pool size (0: per-dialect default)", false, &c.Database.MaxOpenConns},
		{"redis.url", "JANUA_REDIS_URL", "redis-url", "redis://… for shared hot state across instances (default: in memory)", true, &c.Redis.URL},
		{"redis.prefix", "JANUA_REDIS_PREFIX", "", "key prefix in Redis", false, &c.Redis.Prefix},
		{"log.level", "JANUA_LOG_LEVEL", "log-level", "debug, info, warn or error", false, &c.Log.Level},
		{"log.format", "JANUA_LOG_FORMAT", "log-format", "auto, text or json", false, &c.Log.Format},
		{"gc.interval", "JANUA_GC_INTERVAL", "", "how often expired rows are deleted (0 disables)", false, &c.GC.Interval},
		{"gc.audit_retention", "JANUA_AUDIT_RETENTION", "", "how long audit events are kept (0 keeps them forever)", false, &c.GC.AuditRetention},
		{"tokens.access_ttl", "JANUA_ACCESS_TOKEN_TTL", "", "access token lifetime", false, &c.Tokens.AccessTTL},
		{"tokens.id_token_ttl", "JANUA_ID_TOKEN_TTL", "", "ID token lifetime", false, &c.Tokens.IDTokenTTL},
		{"tokens.code_ttl", "JANUA_CODE_TTL", "", "authorization code lifetime (RFC 6749 §4.1.2: short)", false, &c.Tokens.CodeTTL},
		{"tokens.refresh_ttl", "JANUA_REFRESH_TOKEN_TTL", "", "refresh token absolute lifetime", false, &c.Tokens.RefreshTTL},
		{"tokens.refresh_idle_ttl", "JANUA_REFRESH_TOKEN_IDLE_TTL", "", "a refresh token family unused for this long ends (sliding)", false, &c.Tokens.RefreshIdle},
		{"tokens.refresh_grace", "JANUA_REFRESH_GRACE", "", "how long a just-rotated refresh token still gets the same new pair", false, &c.Tokens.RefreshGrace},
		{"tokens.failure_limit", "JANUA_TOKEN_FAILURE_LIMIT", "", "failed token requests from one address that block it for a while (negative: never)", false, &c.Tokens.FailureLimit},
		{"tokens.failure_window", "JANUA_TOKEN_FAILURE_WINDOW", "", "window of tokens.failure_limit", false, &c.Tokens.FailureWindow},
		{"tokens.flow_ttl", "JANUA_FLOW_TTL", "", "how long a sign-in may take", false, &c.Tokens.FlowTTL},
		{"passwords.min_length", "JANUA_PASSWORD_MIN_LENGTH", "", "minimum password length", false, &c.Passwords.MinLength},
		{"passwords.argon2.memory_kib", "JANUA_ARGON2_MEMORY_KIB", "", "argon2id memory per hash, KiB", false, &c.Passwords.Argon2.MemoryKiB},
		{"passwords.argon2.iterations", "JANUA_ARGON2_ITERATIONS", "", "argon2id passes", false, &c.Passwords.Argon2.Iterations},
		{"passwords.argon2.parallelism", "JANUA_ARGON2_PARALLELISM", "", "argon2id lanes", false, &c.Passwords.Argon2.Parallelism},
		{"passwords.argon2.max_concurrent", "JANUA_ARGON2_MAX_CONCURRENT", "", "password hashes computed at once, each holding memory_kib (0: one per processor)", false, &c.Passwords.Argon2.MaxConcurrent},
		{"passwords.argon2.max_wait", "JANUA_ARGON2_MAX_WAIT", "", "how long a password check waits for a hashing slot before a 503", false, &c.Passwords.Argon2.MaxWait},
		{"templates.dir", "JANUA_TEMPLATES_DIR", "", "directory of page templates that override the embedded ones", false, &c.Templates.Dir},
		{"signup.enabled", "JANUA_SIGNUP_ENABLED", "", "offer self-service sign-up at /signup", false, &c.Signup.Enabled},
		{"sessions.idle_timeout", "JANUA_SESSION_IDLE_TIMEOUT", "", "SSO session ends after this long unused", false, &c.Sessions.IdleTimeout},
		{"sessions.absolute_timeout", "JANUA_SESSION_ABSOLUTE_TIMEOUT", "", "SSO session ends this long after sign-in", false, &c.Sessions.AbsoluteTimeout},
		{"sessions.remember_timeout", "JANUA_SESSION_REMEMBER_TIMEOUT", "", `lifetime of a "keep me signed in" session (persistent cookie)`, false, &c.Sessions.RememberTimeout},
		{"login.ip_rate_limit", "JANUA_LOGIN_IP_RATE_LIMIT", "", "sign-in (and sign-up) posts allowed per IP per window", false, &c.Login.IPRateLimit},
		{"login.ip_rate_window", "JANUA_LOGIN_IP_RATE_WINDOW", "", "window of login.ip_rate_limit", false, &c.Login.IPRateWindow},
		{"login.lockout_failures", "JANUA_LOGIN_LOCKOUT_FAILURES", "", "failed sign-ins that lock an account (0 disables)", false, &c.Login.LockoutFailures},
		{"login.lockout_window", "JANUA_LOGIN_LOCKOUT_WINDOW", "", "window in which failures are counted", false, &c.Login.LockoutWindow},
		{"login.lockout_duration", "JANUA_LOGIN_LOCKOUT_DURATION", "", "how long a locked account stays locked", false, &c.Login.LockoutDuration},
		{"login.require_second_factor", "JANUA_LOGIN_REQUIRE_SECOND_FACTOR", "", "every sign-in must prove a second factor (users without one enrol one on the way)", false, &c.Login.RequireSecondFactor},
		{"login.reauth_window", "JANUA_LOGIN_REAUTH_WINDOW", "", "how recent a sign-in must be to add or remove a sign-in method or change the password", false, &c.Login.ReauthWindow},
		{"login.email_signin", "JANUA_LOGIN_EMAIL_SIGNIN", "", "offer sign-in by a mailed link or code (when mail can be sent)", false, &c.Login.EmailSignIn},
		{"login.email_token_ttl", "JANUA_LOGIN_EMAIL_TOKEN_TTL", "", "lifetime of a mailed sign-in link and code, verification or reset link", false, &c.Login.EmailTokenTTL},
		{"login.email_send_limit", "JANUA_LOGIN_EMAIL_SEND_LIMIT", "", "messages (sign-in, reset, verification) one address may receive per window", false, &c.Login.EmailSendLimit},
		{"login.email_ip_send_limit", "JANUA_LOGIN_EMAIL_IP_SEND_LIMIT", "", "messages one IP may cause per window", false, &c.Login.EmailIPSendLimit},
		{"login.email_send_window", "JANUA_LOGIN_EMAIL_SEND_WINDOW", "", "window of the email send limits", false, &c.Login.EmailSendWindow},
		{"login.totp_issuer", "JANUA_LOGIN_TOTP_ISSUER", "", "the name authenticator apps show for Janua's codes (default: the issuer's host)", false, &c.Login.TOTPIssuer},
		{"metrics.listen", "JANUA_METRICS_LISTEN", "", "address of the Prometheus /metrics listener, e.g. 127.0.0.1:9464 (default: off)", false, &c.Metrics.Listen},
		{"metrics.pprof", "JANUA_METRICS_PPROF", "", "serve Go's profiler under /debug/pprof/ on the metrics listener", false, &c.Metrics.Pprof},
		{"mail.from", "JANUA_MAIL_FROM", "", "sender address of Janua's mail (required with mail.smtp_host)", false, &c.Mail.From},
		{"mail.from_name", "JANUA_MAIL_FROM_NAME", "", "sender display name", false, &c.Mail.FromName},
		{"mail.smtp_host", "JANUA_SMTP_HOST", "", "SMTP server (required in production; without it development keeps mail at /dev/mailbox)", false, &c.Mail.SMTPHost},
		{"mail.smtp_port", "JANUA_SMTP_PORT", "", "SMTP port (0: 587 for starttls, 465 for tls, 25 for none)", false, &c.Mail.SMTPPort},
		{"mail.smtp_username", "JANUA_SMTP_USERNAME", "", "SMTP AUTH user name (empty: no AUTH)", false, &c.Mail.SMTPUsername},
		{"mail.smtp_password", "JANUA_SMTP_PASSWORD", "", "SMTP AUTH password", true, &c.Mail.SMTPPassword},
		{"mail.smtp_tls", "JANUA_SMTP_TLS", "", "starttls (required, not opportunistic), tls (implicit, port 465) or none (loopback host only)", false, &c.Mail.SMTPTLS},
		{"mail.smtp_timeout", "JANUA_SMTP_TIMEOUT", "", "how long one delivery may take, connecting included", false, &c.Mail.SMTPTimeout},
		{"mail.max_attempts", "JANUA_MAIL_MAX_ATTEMPTS", "", "delivery attempts before a message is given up (backoff 30s doubling, at most 1h)", false, &c.Mail.MaxAttempts},
		{"mail.retention", "JANUA_MAIL_RETENTION", "", "how long sent and undeliverable messages stay in the outbox (their links and codes are erased at once)", false, &c.Mail.Retention},
		// Passkeys (passkeys.go).
		{"passkeys.rp_id", "JANUA_PASSKEYS_RP_ID", "", "WebAuthn relying party ID (default: the issuer's host; passkeys are off when that is an IP address)", false, &c.Passkeys.RPID},
		{"passkeys.rp_name", "JANUA_PASSKEYS_RP_NAME", "", "the name authenticators show for this site", false, &c.Passkeys.RPName},
		{"passkeys.origins", "JANUA_PASSKEYS_ORIGINS", "", "comma-separated origins passkey ceremonies may run on (default: the issuer's origin)", false, &c.Passkeys.Origins},
		{"passkeys.max_per_user", "JANUA_PASSKEYS_MAX_PER_USER", "", "passkeys one user may register", false, &c.Passkeys.MaxPerUser},
	}
}

// problems collects every configuration error so one message names them all.
type problems []string

func (p *problems) add(format string, args ...any) { *p = append(*p, fmt.Sprintf(format, args...)) }

func (p problems) err() error {
	if len(p) == 0 {
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "invalid configuration (%d problem", len(p))
	if len(p) > 1 {
		b.WriteString("s")
	}
	b.WriteString("):")
	for _, s := range p {
		b.WriteString("\n  - ")
		b.WriteString(s)
	}
	return errors.New(b.String())
}

// databaseURL is the effective database URL: the configured one, or the
// embedded SQLite file in the data directory.
func (c *Config) databaseURL() string {
	if c.Database.URL != "" {
		return c.Database.URL
	}
	return "sqlite:" + filepath.Join(c.DataDir, "janua.db")
}

// production reports whether JANUA_ENV=production.
func (c *Config) production() bool { return c.Env == envProduction }

// validate returns every problem with c. Production adds its own rules: a
// real secret, an https issuer, and no development default left in place.
func (c *Config) validate() problems {
	var p problems
	if c.Env != envDevelopment && c.Env != envProduction {
		p.add("env: %q must be %q or %q", c.Env, envDevelopment, envProduction)
	}
	issuerHTTPS := false
	if u, err := url.Parse(c.Issuer); err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		p.add("issuer: %q must be an absolute http(s) URL", c.Issuer)
	} else {
		issuerHTTPS = u.Scheme == "https"
		if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			p.add("issuer: %q must not carry a query, fragment or user info (OIDC Discovery §3)", c.Issuer)
		}
	}
	if c.DataDir == "" {
		p.add("data_dir: must not be empty")
	}
	if _, port, err := net.SplitHostPort(c.HTTP.Addr); err != nil || port == "" {
		p.add("http.addr: %q must be host:port or :port", c.HTTP.Addr)
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		p.add("http.addr: port %q is not a port number", port)
	}
	for _, cidr := range c.HTTP.TrustedProxies {
		if _, err := netip.ParsePrefix(cidr); err != nil {
			if _, err := netip.ParseAddr(cidr); err != nil {
				p.add("http.trusted_proxies: %q is not an IP address or CIDR", cidr)
			}
		}
	}
	if c.HTTP.ShutdownTimeout <= 0 {
		p.add("http.shutdown_timeout: must be positive")
	}
	if _, err := storage.ParseDatabaseURL(c.databaseURL()); err != nil {
		p.add("database.url: %v", strings.TrimPrefix(err.Error(), "storage: "))
	}
	if c.Database.MaxOpenConns < 0 {
		p.add("database.max_open_conns: must not be negative")
	}
	if c.Redis.URL != "" {
		if err := checkRedisURL(c.Redis.URL); err != nil {
			p.add("redis.url: %v", err)
		}
	}
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, c.Log.Level) {
		p.add("log.level: %q must be debug, info, warn or error", c.Log.Level)
	}
	if !slices.Contains([]string{"auto", "text", "json"}, c.Log.Format) {
		p.add("log.format: %q must be auto, text or json", c.Log.Format)
	}
	if c.GC.Interval < 0 {
		p.add("gc.interval: must not be negative")
	}
	if c.GC.AuditRetention < 0 {
		p.add("gc.audit_retention: must not be negative")
	}
	for name, d := range map[string]time.Duration{"tokens.access_ttl": c.Tokens.AccessTTL, "tokens.id_token_ttl": c.Tokens.IDTokenTTL,
		"tokens.code_ttl": c.Tokens.CodeTTL, "tokens.refresh_ttl": c.Tokens.RefreshTTL, "tokens.refresh_idle_ttl": c.Tokens.RefreshIdle,
		"tokens.flow_ttl": c.Tokens.FlowTTL} {
		if d <= 0 {
			p.add("%s: must be positive", name)
		}
	}
	if c.Tokens.FailureLimit == 0 || c.Tokens.FailureWindow <= 0 {
		p.add("tokens.failure_limit and tokens.failure_window: set a positive limit and window (a negative limit disables the block)")
	}
	if c.Tokens.CodeTTL > 10*time.Minute {
		p.add("tokens.code_ttl: %s is longer than the 10 minutes RFC 6749 §4.1.2 allows", c.Tokens.CodeTTL)
	}
	if c.Tokens.RefreshGrace < 0 || c.Tokens.RefreshGrace > time.Minute {
		p.add("tokens.refresh_grace: must be between 0 and 1m")
	}
	if c.Passwords.MinLength < 8 || c.Passwords.MinLength > 128 {
		p.add("passwords.min_length: %d must be between 8 and 128 (NIST SP 800-63B §3.1.1.2)", c.Passwords.MinLength)
	}
	a := c.Passwords.Argon2
	if a.MemoryKiB < 8*1024 {
		p.add("passwords.argon2.memory_kib: %d is below 8192 (RFC 9106 §4 recommends at least 19 MiB)", a.MemoryKiB)
	}
	if a.Iterations < 1 {
		p.add("passwords.argon2.iterations: must be at least 1")
	}
	if a.Parallelism < 1 {
		p.add("passwords.argon2.parallelism: must be at least 1")
	}
	if a.MaxConcurrent < 0 {
		p.add("passwords.argon2.max_concurrent: must be 0 (one per processor) or more")
	}
	if a.MaxWait <= 0 {
		p.add("passwords.argon2.max_wait: must be positive")
	}
	if c.Templates.Dir != "" {
		if st, err := os.Stat(c.Templates.Dir); err != nil || !st.IsDir() {
			p.add("templates.dir: %q is not a directory", c.Templates.Dir)
		}
	}
	p = append(p, c.validateLogin()...)
	if c.Metrics.Listen != "" {
		if _, port, err := net.SplitHostPort(c.Metrics.Listen); err != nil || port == "" {
			p.add("metrics.listen: %q must be host:port or :port", c.Metrics.Listen)
		}
	} else if c.Metrics.Pprof {
		p.add("metrics.pprof: needs metrics.listen (the profiler is only served there)")
	}
	p = append(p, c.validateMail()...)
	p = append(p, c.validatePasskeys()...)
	if c.production() {
		if c.Secret == "" {
			p.add("secret: JANUA_SECRET (or JANUA_SECRET_FILE) is required in production")
		} else if len(c.Secret) < 32 {
			p.add("secret: must be at least 32 characters in production")
		}
		if !issuerHTTPS {
			p.add("issuer: must be https in production (OIDC Discovery §3), not %q", c.Issuer)
		}
		if c.Issuer == defaultIssuer {
			p.add("issuer: the development default %q cannot be used in production", defaultIssuer)
		}
		if c.Database.URL == "" {
			p.add("database.url: set JANUA_DATABASE_URL explicitly in production (the default SQLite file in data_dir is for development)")
		}
	}
	return p
}

// validateLogin checks the sign-in settings.
func (c *Config) validateLogin() problems {
	var p problems
	s, l := c.Sessions, c.Login
	if s.IdleTimeout <= 0 || s.AbsoluteTimeout <= 0 || s.RememberTimeout <= 0 {
		p.add("sessions: idle_timeout, absolute_timeout and remember_timeout must be positive")
	} else if s.IdleTimeout > s.AbsoluteTimeout {
		p.add("sessions.idle_timeout: %s exceeds sessions.absolute_timeout %s", s.IdleTimeout, s.AbsoluteTimeout)
	}
	if l.IPRateLimit < 1 {
		p.add("login.ip_rate_limit: must be at least 1")
	}
	if l.IPRateWindow < time.Second {
		p.add("login.ip_rate_window: must be at least 1s")
	}
	if l.LockoutFailures < 0 {
		p.add("login.lockout_failures: must not be negative (0 disables the lockout)")
	}
	if l.LockoutFailures > 0 && (l.LockoutWindow < time.Second || l.LockoutDuration < time.Second) {
		p.add("login.lockout_window and login.lockout_duration: must be at least 1s")
	}
	if l.ReauthWindow < time.Second {
		p.add("login.reauth_window: must be at least 1s")
	}
	if l.EmailTokenTTL < time.Minute || l.EmailTokenTTL > 24*time.Hour {
		p.add("login.email_token_ttl: must be between 1m and 24h")
	}
	if l.EmailSendLimit < 1 || l.EmailIPSendLimit < 1 {
		p.add("login.email_send_limit and login.email_ip_send_limit: must be at least 1")
	}
	if l.EmailSendWindow < time.Second {
		p.add("login.email_send_window: must be at least 1s")
	}
	return p
}

// checkRedisURL accepts redis://, rediss:// and a bare host:port.
func checkRedisURL(raw string) error {
	if strings.HasPrefix(raw, "redis://") || strings.HasPrefix(raw, "rediss://") || strings.HasPrefix(raw, "unix://") {
		u, err := url.Parse(raw)
		if err != nil || (u.Host == "" && u.Scheme != "unix") {
			return fmt.Errorf("not a valid redis:// URL")
		}
		return nil
	}
	if _, _, err := net.SplitHostPort(raw); err != nil {
		return fmt.Errorf("must be redis://host:port, rediss://host:port or host:port")
	}
	return nil
}

// redacted returns the effective configuration as ordered key/value pairs
// with secrets hidden, for `janua config`.
func (c *Config) redacted() []keyValue {
	var out []keyValue
	for _, s := range settings(c) {
		v := formatValue(s.ptr)
		if s.secret {
			if str, _ := v.(string); str != "" {
				switch s.key {
				case "database.url":
					if u, err := storage.ParseDatabaseURL(str); err == nil {
						v = u.Redacted()
					} else {
						v = "(redacted)"
					}
				case "redis.url":
					v = redactRedisURL(str)
				default:
					v = "(redacted)"
				}
			}
		}
		out = append(out, keyValue{Key: s.key, Value: v, Env: s.env})
	}
	return out
}

// keyValue is one line of `janua config`.
type keyValue struct {
	Key   string `json:"key"`
	Value any    `json:"value"`
	Env   string `json:"env"`
}

func redactRedisURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}
