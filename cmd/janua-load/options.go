package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// Bounds of a run: the tool never runs open-ended.
const (
	maxDuration    = 5 * time.Minute
	maxConcurrency = 1024
)

// options are the flags of a run.
type options struct {
	issuer      string
	scenarios   []string
	duration    time.Duration
	warmup      time.Duration
	concurrency int
	rate        float64
	timeout     time.Duration
	fixturePath string
	clients     []string // ROLE=CLIENT_ID:SECRET
	users       []string // EMAIL:PASSWORD
	redirectURI string
	loginPath   string
	serverPID   int
	metricsURL  string
	profileDir  string
	cpuProfile  string
	procs       int
	halfRate    time.Duration
	verifyEvery int
	output      string
	save        string
}

func (o *options) flags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.issuer, "issuer", "", "issuer URL on loopback (its discovery document names the endpoints)")
	f.StringArrayVar(&o.scenarios, "scenario", []string{"all"}, "scenario to run (repeatable): "+strings.Join(scenarioNames(), ", ")+", or all (those the fixture allows)")
	f.DurationVar(&o.duration, "duration", 10*time.Second, "measured time per scenario (at most 5m)")
	f.DurationVar(&o.warmup, "warmup", time.Second, "unmeasured time before each scenario's measurement")
	f.IntVar(&o.concurrency, "concurrency", 8, "workers (connections) per scenario")
	f.Float64Var(&o.rate, "rate", 0, "open loop: start this many operations per second, whatever the latency (0: closed loop, each worker as fast as it can)")
	f.DurationVar(&o.timeout, "timeout", 10*time.Second, "timeout of one request")
	f.StringVar(&o.fixturePath, "fixture", "", "JSON file of clients and users (janua-load setup writes one)")
	f.StringArrayVar(&o.clients, "client", nil, "ROLE=CLIENT_ID:SECRET, roles: "+strings.Join(clientRoles, ", ")+" (repeatable; overrides the fixture)")
	f.StringArrayVar(&o.users, "user", nil, "EMAIL:PASSWORD of a user (repeatable; adds to the fixture's)")
	f.StringVar(&o.redirectURI, "redirect-uri", "", "redirect URI of the code client (default: the fixture's)")
	f.StringVar(&o.loginPath, "login-path", "/login", "path of the issuer's sign-in page (password scenario)")
	f.IntVar(&o.serverPID, "server-pid", 0, "the server's process ID on this machine: CPU time and memory from /proc")
	f.StringVar(&o.metricsURL, "metrics-url", "", "the server's Prometheus metrics URL: statements (and CPU and memory without --server-pid)")
	f.StringVar(&o.profileDir, "profile-dir", "", "write a CPU profile of the server for each scenario's measured window to DIR/SCENARIO.pprof (needs --metrics-url and the server's metrics.pprof)")
	f.IntVar(&o.verifyEvery, "verify-every", 1, "verify the signature of every Nth JWT access token of the client_credentials scenarios (the rest: header and claims only), so that a verification dearer than the server's signing does not crowd it out of the CPU; ID tokens are always verified")
	f.DurationVar(&o.halfRate, "half-rate", 0, "after each scenario, run it this long open loop at half the rate it reached, and report that pass's p99 (0: off)")
	f.StringVar(&o.cpuProfile, "cpuprofile", "", "write janua-load's own CPU profile to this file (what the load generator costs)")
	f.IntVar(&o.procs, "procs", 1, "processors janua-load itself runs on (GOMAXPROCS): one by default, as on a machine shared with the server a second costs it more in wake-ups across cores than it adds (discovery: 26 → 19 µs of its CPU a request); 0: every core")
	f.StringVar(&o.output, "output", "text", "text, json or markdown")
	f.StringVar(&o.save, "save", "", "also write the report as JSON to this file")
}

// Client roles of the fixture.
const (
	roleCC          = "cc"           // client_credentials, opaque access tokens
	roleCCJWTES256  = "cc-jwt-es256" // client_credentials, RFC 9068 JWTs signed ES256
	roleCCJWTRS256  = "cc-jwt-rs256" // the same, RS256
	roleCode        = "code"         // authorization_code + refresh_token, first-party, with a redirect URI
	defaultRedirect = "http://127.0.0.1:9/callback"
)

var clientRoles = []string{roleCC, roleCCJWTES256, roleCCJWTRS256, roleCode}

// fixture is what the scenarios need from the server: clients by role and
// users with their passwords.
type fixture struct {
	Clients map[string]fixtureClient `json:"clients"`
	Users   []fixtureUser            `json:"users"`
}

type fixtureClient struct {
	ID          string `json:"client_id"`
	Secret      string `json:"client_secret"`
	RedirectURI string `json:"redirect_uri,omitempty"`
	Scope       string `json:"scope,omitempty"`
}

type fixtureUser struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

// validate checks the flags and reads the fixture.
func (o *options) validate() (*fixture, error) {
	var probs []string
	if o.issuer == "" {
		probs = append(probs, "--issuer is required")
	} else if err := loopbackURL(o.issuer); err != nil {
		probs = append(probs, "--issuer: "+err.Error())
	}
	if o.metricsURL != "" {
		if err := loopbackURL(o.metricsURL); err != nil {
			probs = append(probs, "--metrics-url: "+err.Error())
		}
	}
	if o.procs < 0 {
		probs = append(probs, "--procs must be 0 (every core) or more")
	}
	if o.verifyEvery < 1 || o.verifyEvery > 1000 {
		probs = append(probs, "--verify-every must be between 1 and 1000")
	}
	if o.halfRate < 0 || o.halfRate > maxDuration {
		probs = append(probs, fmt.Sprintf("--half-rate must be between 0 and %s", maxDuration))
	}
	if o.halfRate > 0 && o.rate > 0 {
		probs = append(probs, "--half-rate is for closed-loop runs (without --rate)")
	}
	if o.profileDir != "" && o.metricsURL == "" {
		probs = append(probs, "--profile-dir needs --metrics-url (the profiler is served on the metrics listener)")
	}
	if o.duration <= 0 || o.duration > maxDuration {
		probs = append(probs, fmt.Sprintf("--duration must be positive and at most %s", maxDuration))
	}
	if o.warmup < 0 || o.warmup > time.Minute {
		probs = append(probs, "--warmup must be between 0 and 1m")
	}
	if o.concurrency < 1 || o.concurrency > maxConcurrency {
		probs = append(probs, fmt.Sprintf("--concurrency must be between 1 and %d", maxConcurrency))
	}
	if o.rate < 0 || o.rate > 1e6 {
		probs = append(probs, "--rate must be between 0 and 1000000")
	}
	if o.timeout <= 0 || o.timeout > time.Minute {
		probs = append(probs, "--timeout must be positive and at most 1m")
	}
	if !slices.Contains([]string{"text", "json", "markdown"}, o.output) {
		probs = append(probs, "--output must be text, json or markdown")
	}
	for _, s := range o.scenarios {
		if s != "all" && scenarioByName(s) == nil {
			probs = append(probs, fmt.Sprintf("--scenario %q: unknown (known: %s)", s, strings.Join(scenarioNames(), ", ")))
		}
	}
	fx := &fixture{Clients: map[string]fixtureClient{}}
	if o.fixturePath != "" {
		b, err := os.ReadFile(o.fixturePath)
		if err != nil {
			return nil, fmt.Errorf("--fixture: %w", err)
		}
		if err := json.Unmarshal(b, fx); err != nil {
			return nil, fmt.Errorf("--fixture %s: %w", o.fixturePath, err)
		}
		if fx.Clients == nil {
			fx.Clients = map[string]fixtureClient{}
		}
	}
	for _, c := range o.clients {
		role, cred, ok := strings.Cut(c, "=")
		id, secret, ok2 := strings.Cut(cred, ":")
		if !ok || !ok2 || id == "" || !slices.Contains(clientRoles, role) {
			probs = append(probs, fmt.Sprintf("--client %q: want ROLE=CLIENT_ID:SECRET with ROLE one of %s", c, strings.Join(clientRoles, ", ")))
			continue
		}
		fc := fx.Clients[role]
		fc.ID, fc.Secret = id, secret
		fx.Clients[role] = fc
	}
	for _, u := range o.users {
		email, pw, ok := strings.Cut(u, ":")
		if !ok || email == "" || pw == "" {
			probs = append(probs, fmt.Sprintf("--user %q: want EMAIL:PASSWORD", strings.SplitN(u, ":", 2)[0]))
			continue
		}
		fx.Users = append(fx.Users, fixtureUser{Email: email, Password: pw})
	}
	if c, ok := fx.Clients[roleCode]; ok {
		if o.redirectURI != "" {
			c.RedirectURI = o.redirectURI
		}
		if c.RedirectURI == "" {
			c.RedirectURI = defaultRedirect
		}
		fx.Clients[roleCode] = c
	}
	if len(probs) > 0 {
		return nil, errors.New("invalid options:\n  - " + strings.Join(probs, "\n  - "))
	}
	return fx, nil
}

// loopbackURL accepts only http(s) URLs on this machine: the tool is for
// loopback load, never for someone else's server.
func loopbackURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an absolute http(s) URL", raw)
	}
	h := u.Hostname()
	if h == "localhost" {
		return nil
	}
	if ip := net.ParseIP(h); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("%q is not on loopback (localhost, 127.0.0.0/8 or ::1)", raw)
}
