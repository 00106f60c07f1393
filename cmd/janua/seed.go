package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/openid"
	fositejwt "github.com/ory/fosite/token/jwt"
	"github.com/spf13/cobra"

	"github.com/madfam-org/janua/login"
	"github.com/madfam-org/janua/oidc"
	"github.com/madfam-org/janua/storage"
	"github.com/madfam-org/janua/web"
)

// seedEmailDomain is the domain of every seeded user (.test is reserved,
// RFC 2606 §2: no mail can leave for it).
const seedEmailDomain = "seed.janua.test"

// seedSpec is one `janua seed` run.
type seedSpec struct {
	users, clients, tokens, batch int
	tag, password                 string
}

// seedSummary is what `janua seed --output json` prints.
type seedSummary struct {
	Tag string `json:"tag"`
	// UserEmailFormat is the fmt format of the seeded users' emails, with
	// the user's number, 1 to Users.
	UserEmailFormat string `json:"user_email_format"`
	// ClientIDFormat is the same for client IDs.
	ClientIDFormat string `json:"client_id_format"`
	// Password is the seeded users' password when seed generated it.
	Password string  `json:"password,omitempty"`
	Users    int     `json:"users"`
	Clients  int     `json:"clients"`
	Tokens   int     `json:"tokens"`
	Seconds  float64 `json:"seconds"`
	// Totals are the rows the database holds afterwards.
	Totals struct {
		Users   int64 `json:"users"`
		Clients int64 `json:"clients"`
		Tokens  int64 `json:"tokens"`
	} `json:"totals"`
}

func (a *app) seedCmd() *cobra.Command {
	var sp seedSpec
	var passwordStdin bool
	cmd := &cobra.Command{
		Use:   "seed [--users N] [--clients N] [--tokens N]",
		Short: "Fill the database with generated users, clients and token rows (for performance runs)",
		Long: `Seed bulk-inserts generated rows, so that load runs can be repeated on a database of realistic size.

Users get the email TAG-N@` + seedEmailDomain + ` and all share one password (hashed once with the configured
argon2id cost; hashing each would take hours). Clients are confidential (client_secret_basic), with
SHA-256 secret digests of random secrets nobody knows. Token rows are access and refresh tokens in pairs,
as the token endpoint stores them, spread over the seeded users and clients, expiring in the future.
Every run gets a fresh TAG (or --tag), so running it again adds rows.`,
		Example: `  janua seed --users 1000000 --clients 100000 --tokens 10000000
  echo 'a password for them all' | janua seed --users 100 --password-stdin --output json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if sp.users < 0 || sp.clients < 0 || sp.tokens < 0 {
				return errors.New("--users, --clients and --tokens must not be negative")
			}
			if sp.batch < 1 || sp.batch > 100000 {
				return errors.New("--batch must be between 1 and 100000")
			}
			if sp.tag == "" {
				b := make([]byte, 3)
				_, _ = rand.Read(b)
				sp.tag = "seed" + hex.EncodeToString(b)
			}
			if strings.ContainsAny(sp.tag, "@%/ ") {
				return errors.New("--tag must not contain @, %, / or spaces")
			}
			if passwordStdin {
				line, err := bufio.NewReader(a.io.in).ReadString('\n')
				if err != nil && line == "" {
					return fmt.Errorf("read password from stdin: %v", err)
				}
				sp.password = strings.TrimRight(line, "\r\n")
			}
			if err := a.checkOutput(); err != nil {
				return err
			}
			c, err := a.config()
			if err != nil {
				return err
			}
			// Multi-row inserts are slow statements by design: log errors only.
			log := web.NewLogger(a.io.err, slog.LevelError, c.Log.Format == "json" || (c.Log.Format == "auto" && c.production()))
			s, err := openMigratedStore(cmd.Context(), c, log)
			if err != nil {
				return err
			}
			defer s.Close()
			return a.seed(cmd.Context(), c, s, sp)
		},
	}
	f := cmd.Flags()
	f.IntVar(&sp.users, "users", 0, "users to add")
	f.IntVar(&sp.clients, "clients", 0, "clients to add")
	f.IntVar(&sp.tokens, "tokens", 0, "token rows to add (access and refresh in pairs; needs clients, seeded now or already there)")
	f.IntVar(&sp.batch, "batch", 50000, "rows per transaction")
	f.StringVar(&sp.tag, "tag", "", "prefix of the seeded emails and client IDs (default: seed + 6 random hex digits)")
	f.BoolVar(&passwordStdin, "password-stdin", false, "read the users' password from standard input (default: generated and printed)")
	return cmd
}

// seed runs one seeding: users, then clients, then tokens over both.
func (a *app) seed(ctx context.Context, c Config, s *storage.Store, sp seedSpec) error {
	started := time.Now()
	sum := seedSummary{Tag: sp.tag, UserEmailFormat: sp.tag + "-%d@" + seedEmailDomain, ClientIDFormat: sp.tag + "-%d"}
	var userIDs []string
	if sp.users > 0 {
		password := sp.password
		if password == "" {
			password = login.GeneratePassword()
			sum.Password = password
		}
		a2 := c.Passwords.Argon2
		hash, err := login.NewPasswords(a2.params(), login.HashLimits{Concurrent: 1}).Hash(ctx, password)
		if err != nil {
			return err
		}
		// Token subjects cycle over at most this many of the new users.
		userIDs = make([]string, 0, min(sp.users, 100000))
		p := a.progress("users", sp.users)
		for start := 0; start < sp.users; start += sp.batch {
			n := min(sp.batch, sp.users-start)
			batch := make([]storage.User, n)
			for i := range batch {
				num := start + i + 1
				batch[i] = storage.User{Email: fmt.Sprintf(sum.UserEmailFormat, num), EmailVerified: true,
					Claims: map[string]any{"name": fmt.Sprintf("Seed User %d", num), "given_name": "Seed", "family_name": fmt.Sprintf("User %d", num), "locale": "en-US"}}
			}
			if err := s.SeedUsers(ctx, batch, hash); err != nil {
				return err
			}
			for i := range batch {
				if len(userIDs) < cap(userIDs) {
					userIDs = append(userIDs, batch[i].ID)
				}
			}
			p.add(n)
		}
		p.finish()
		sum.Users = sp.users
	}
	clientIDs := make([]string, 0, min(sp.clients, 100000))
	if sp.clients > 0 {
		p := a.progress("clients", sp.clients)
		for start := 0; start < sp.clients; start += sp.batch {
			n := min(sp.batch, sp.clients-start)
			batch := make([]storage.Client, n)
			for i := range batch {
				num := start + i + 1
				_, digest := oidc.NewSecret()
				batch[i] = storage.Client{ID: fmt.Sprintf(sum.ClientIDFormat, num), SecretHash: digest, Name: fmt.Sprintf("Seed client %d", num),
					TokenEndpointAuthMethod: "client_secret_basic",
					RedirectURIs:            []string{fmt.Sprintf("https://app%d.seed.janua.test/callback", num)},
					GrantTypes:              []string{"authorization_code", "refresh_token", "client_credentials"},
					ResponseTypes:           []string{"code"},
					Scopes:                  []string{"openid", "profile", "email", "offline_access", "api"}}
			}
			if err := s.SeedClients(ctx, batch); err != nil {
				return err
			}
			for i := range batch {
				if len(clientIDs) < cap(clientIDs) {
					clientIDs = append(clientIDs, batch[i].ID)
				}
			}
			p.add(n)
		}
		p.finish()
		sum.Clients = sp.clients
	}
	if sp.tokens > 0 {
		if len(clientIDs) == 0 {
			cs, _, err := s.ListClients(ctx, storage.Page{Limit: 1000})
			if err != nil {
				return err
			}
			for _, cl := range cs {
				clientIDs = append(clientIDs, cl.ID)
			}
		}
		if len(clientIDs) == 0 {
			return errors.New("--tokens needs clients: add --clients, or register one first")
		}
		if err := a.seedTokens(ctx, c, s, sp, userIDs, clientIDs); err != nil {
			return err
		}
		sum.Tokens = sp.tokens
	}
	sum.Seconds = time.Since(started).Seconds()
	var err error
	if sum.Totals.Users, sum.Totals.Clients, sum.Totals.Tokens, err = s.CountRows(ctx); err != nil {
		return err
	}
	if a.json() {
		return printJSON(a.io.out, sum)
	}
	fmt.Fprintf(a.io.out, "seeded %d users, %d clients and %d token rows in %.1fs (tag %s)\n", sum.Users, sum.Clients, sum.Tokens, sum.Seconds, sum.Tag)
	if sum.Users > 0 {
		fmt.Fprintf(a.io.out, "users: %s (1 to %d)\n", sum.UserEmailFormat, sum.Users)
	}
	if sum.Password != "" {
		fmt.Fprintf(a.io.out, "password of every seeded user: %s\n", sum.Password)
	}
	fmt.Fprintf(a.io.out, "the database now holds %d users, %d clients and %d token rows\n", sum.Totals.Users, sum.Totals.Clients, sum.Totals.Tokens)
	return nil
}

// seedTokens adds sp.tokens rows: an access token and its refresh token per
// grant, for users round-robin (the client itself when none were seeded)
// and clients round-robin.
func (a *app) seedTokens(ctx context.Context, c Config, s *storage.Store, sp seedSpec, userIDs, clientIDs []string) error {
	now := time.Now().UTC()
	p := a.progress("token rows", sp.tokens)
	grant := 0 // grants written by earlier batches
	for start := 0; start < sp.tokens; start += sp.batch {
		n := min(sp.batch, sp.tokens-start)
		first := grant
		err := s.SeedTokens(ctx, storage.SeedGrants{
			Rows: n,
			Grant: func(i int) (string, string) {
				g := first + i
				clientID := clientIDs[g%len(clientIDs)]
				if len(userIDs) == 0 {
					return clientID, clientID
				}
				return clientID, userIDs[g%len(userIDs)]
			},
			Request: func(clientID, subject string) fosite.Requester { return seedRequest(c, clientID, subject, now) },
		})
		if err != nil {
			return err
		}
		grant += (n + 1) / 2
		p.add(n)
	}
	p.finish()
	return nil
}

// seedRequest is a grant as the authorization-code flow stores it: the
// session of an ID token for subject, lifetimes from the configuration.
func seedRequest(c Config, clientID, subject string, now time.Time) *fosite.Request {
	scopes := fosite.Arguments{"openid", "profile", "email", "offline_access"}
	sess := &oidc.Session{
		DefaultSession: openid.DefaultSession{
			Claims: &fositejwt.IDTokenClaims{Subject: subject, Issuer: c.Issuer, Audience: []string{clientID},
				AuthTime: now.Add(-time.Minute), RequestedAt: now, IssuedAt: now, ExpiresAt: now.Add(c.Tokens.IDTokenTTL),
				AuthenticationMethodsReferences: []string{"pwd"}, Extra: map[string]any{}},
			Headers: &fositejwt.Headers{Extra: map[string]any{}},
			ExpiresAt: map[fosite.TokenType]time.Time{
				fosite.AccessToken:  now.Add(c.Tokens.AccessTTL),
				fosite.RefreshToken: now.Add(c.Tokens.RefreshIdle),
			},
			Subject: subject,
		},
		ClientID:        clientID,
		RefreshAbsolute: now.Add(c.Tokens.RefreshTTL),
	}
	return &fosite.Request{
		ID:             uuid.NewString(),
		RequestedAt:    now,
		Client:         &fosite.DefaultClient{ID: clientID},
		RequestedScope: scopes,
		GrantedScope:   scopes,
		Form:           url.Values{"grant_type": {"authorization_code"}, "redirect_uri": {"https://app.seed.janua.test/callback"}},
		Session:        sess,
	}
}

// seedProgress prints how far a seeding step is, on stderr, at most every
// two seconds and when it ends.
type seedProgress struct {
	a           *app
	what        string
	total, done int
	start, last time.Time
}

func (a *app) progress(what string, total int) *seedProgress {
	now := time.Now()
	return &seedProgress{a: a, what: what, total: total, start: now, last: now}
}

func (p *seedProgress) add(n int) {
	p.done += n
	if time.Since(p.last) >= 2*time.Second {
		p.last = time.Now()
		p.print()
	}
}

func (p *seedProgress) print() {
	el := time.Since(p.start).Seconds()
	fmt.Fprintf(p.a.io.err, "seed: %s %d/%d (%.0f%%) in %.1fs, %.0f rows/s\n", p.what, p.done, p.total,
		100*float64(p.done)/float64(max(p.total, 1)), el, float64(p.done)/max(el, 1e-9))
}

func (p *seedProgress) finish() { p.print() }
