package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/spf13/cobra"

	"github.com/madfam-org/janua/oidc"
	"github.com/madfam-org/janua/static"
	"github.com/madfam-org/janua/storage"
	"github.com/madfam-org/janua/templates"
	"github.com/madfam-org/janua/web"
)

func (a *app) serveCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "Run the server (migrates the database first)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.config()
			if err != nil {
				return err
			}
			return a.serve(cmd.Context(), c)
		},
	}
}

// serve runs until ctx ends (SIGINT/SIGTERM), then drains in-flight requests.
func (a *app) serve(ctx context.Context, c Config) error {
	started := time.Now()
	setGCPercent(a.getenv)
	// The server's lines (one per request) go out in batches: see
	// web.LogBuffer. Deferred first, so it flushes last.
	out := web.NewLogBuffer(a.io.err, 64<<10, 100*time.Millisecond)
	defer out.Close()
	log := a.loggerTo(out, c)

	store, err := openStore(ctx, c, log)
	if err != nil {
		return err
	}
	defer store.Close()
	if _, err := store.Migrate(ctx); err != nil {
		return err
	}
	hot, hotDesc, err := openHotState(ctx, c, log)
	if err != nil {
		return err
	}
	defer hot.Close()

	e, err := a.newServer(ctx, c, log, store, hot)
	if err != nil {
		return err
	}
	if err := a.serveMetrics(ctx, c, log, store, e); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", c.HTTP.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", c.HTTP.Addr, err)
	}
	srv := &http.Server{
		Handler:           e,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}

	gcCtx, stopGC := context.WithCancel(ctx)
	defer stopGC()
	go store.RunGC(gcCtx, c.GC.Interval, storage.GCOptions{AuditRetention: c.GC.AuditRetention, MailRetention: c.Mail.Retention})

	// What starting left behind (migrations read, templates checked,
	// keys decrypted) goes back to the operating system now rather than
	// over the runtime's next minutes: an idle server holds what it
	// uses (issue 6's idle memory). One collection, a few milliseconds.
	debug.FreeOSMemory()
	a.banner(c, store.Describe(), hotDesc, ln.Addr().String(), time.Since(started))
	log.Info("janua ready", "addr", ln.Addr().String(), "issuer", c.Issuer, "database", store.Describe(),
		"hot_state", hotDesc, "mail", describeMail(c), "env", c.Env, "version", version, "startup", time.Since(started).Round(time.Millisecond))

	if a.onReady != nil {
		a.onReady(ln.Addr().String())
	}
	err = web.Serve(ctx, srv, ln, c.HTTP.ShutdownTimeout)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	log.Info("janua stopped: in-flight requests drained")
	return nil
}

// newServer builds the echo instance: one middleware order, one error
// handler, every route.
func (a *app) newServer(ctx context.Context, c Config, log *slog.Logger, store *storage.Store, hot storage.HotState) (*echo.Echo, error) {
	assets, err := static.New()
	if err != nil {
		return nil, fmt.Errorf("static assets: %w", err)
	}
	var override templates.Options
	override.Asset = assets.Path
	if c.Templates.Dir != "" {
		override.Override = os.DirFS(c.Templates.Dir)
	}
	set, err := templates.New(override)
	if err != nil {
		return nil, err
	}
	pg := pages{set: set}
	proxies, err := web.NewProxies(c.HTTP.TrustedProxies)
	if err != nil {
		return nil, err
	}

	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.Logger.SetOutput(a.io.err)
	e.IPExtractor = proxies.IPExtractor()
	e.HTTPErrorHandler = web.ErrorHandler(log, pg.errorPage)
	e.Use(
		web.RequestIDMiddleware(proxies),
		web.AccessLog(log),
		web.Recover(log),
		web.SecurityHeaders(web.SecurityHeadersOptions{HSTS: strings.HasPrefix(c.Issuer, "https://")}),
		middleware.BodyLimit("1M"),
	)

	e.GET("/health/live", web.Live)
	e.GET("/health/ready", web.Ready(log, []web.Check{
		{Name: "database", Func: store.Ping},
		{Name: "hot_state", Func: hot.Ping},
	}, 2*time.Second))
	e.GET(static.Prefix+"*", echo.WrapHandler(assets))
	e.GET("/", func(ctx echo.Context) error {
		return pg.render(ctx, http.StatusOK, "home", "Sign-in service", struct{ Issuer string }{c.Issuer})
	})
	outbox, mailbox, err := newMail(c, log, store, set)
	if err != nil {
		return nil, err
	}
	if mailbox != nil {
		mailbox.Routes(e) // development only: /dev/mailbox is a 404 otherwise
	}
	go outbox.Run(ctx)
	ia, err := mountInteraction(e, c, log, store, hot, set, outbox)
	if err != nil {
		return nil, err
	}
	sec, err := secret(c, log)
	if err != nil {
		return nil, err
	}
	keys := oidc.NewKeyring(store, hot, log, nil)
	if err := keys.Load(ctx); err != nil {
		return nil, err
	}
	// Introspection and userinfo read access tokens from memory; their
	// deletions are broadcast to every instance (storage/tokencache.go).
	if err := store.CacheAccessTokens(ctx, hot); err != nil {
		log.WarnContext(ctx, "access tokens are read from the database on every request", "err", err)
	}
	prov, err := oidc.New(oidc.Options{
		Issuer:          c.Issuer,
		Secret:          sec,
		AccessTokenTTL:  c.Tokens.AccessTTL,
		IDTokenTTL:      c.Tokens.IDTokenTTL,
		CodeTTL:         c.Tokens.CodeTTL,
		RefreshTokenTTL: c.Tokens.RefreshTTL,
		RefreshIdleTTL:  c.Tokens.RefreshIdle,
		RefreshGrace:    c.Tokens.RefreshGrace,
		FlowTTL:         c.Tokens.FlowTTL,
		FailureLimit:    c.Tokens.FailureLimit,
		FailureWindow:   c.Tokens.FailureWindow,
		Cookies:         web.Cookies{Secure: strings.HasPrefix(c.Issuer, "https://")},
		Logger:          log,
	}, oidc.Deps{Store: store, Hot: hot, Keys: keys, Auth: ia.authenticator(), Consent: ia.consentGate(), Pages: pg})
	if err != nil {
		return nil, err
	}
	prov.Mount(e)
	go prov.Run(ctx)
	return e, nil
}

// banner tells the person who ran `janua serve` where it is and what to do.
func (a *app) banner(c Config, db, hot, addr string, took time.Duration) {
	w := a.io.out
	fmt.Fprintf(w, "\nJanua %s is ready in %s (%s)\n\n", version, took.Round(time.Millisecond), c.Env)
	fmt.Fprintf(w, "  Issuer     %s\n", c.Issuer)
	fmt.Fprintf(w, "  Listening  %s\n", addr)
	fmt.Fprintf(w, "  Database   %s\n", db)
	fmt.Fprintf(w, "  Hot state  %s\n", hot)
	fmt.Fprintf(w, "  Mail       %s\n", describeMail(c))
	fmt.Fprintf(w, "  Health     %s/health/ready\n", strings.TrimSuffix(c.Issuer, "/"))
	iss := strings.TrimSuffix(c.Issuer, "/")
	fmt.Fprintf(w, "  Discovery  %s/.well-known/openid-configuration\n\n", iss)
	fmt.Fprintf(w, "How to sign in:\n")
	fmt.Fprintf(w, "  1. Create a user:     ./bin/janua users create --email you@example.com\n")
	fmt.Fprintf(w, "                        (prints a generated password once; or --password-stdin)\n")
	fmt.Fprintf(w, "     or sign up at      %s/signup\n", iss)
	fmt.Fprintf(w, "  2. Sign in at         %s/login\n", iss)
	fmt.Fprintf(w, "  3. Register your app: ./bin/janua clients create --name \"My app\" --redirect-uri http://localhost:3000/callback\n")
	fmt.Fprintf(w, "                        (prints its client_id and client_secret once)\n")
	fmt.Fprintf(w, "     and point it at the discovery URL above: it signs users in with ordinary OpenID Connect redirects.\n")
	if !c.production() {
		fmt.Fprintf(w, "\n  Development mode: data and the generated secret live in %s. Stop with Ctrl-C.\n", c.DataDir)
	}
	fmt.Fprintln(w)
}
