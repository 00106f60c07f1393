package main

import (
	"context"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/madfam-org/janua/conformance"
	"github.com/madfam-org/janua/conformance/oracle"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "conformance:", err)
		os.Exit(1)
	}
}

var errFailed = errors.New("at least one module FAILED")

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: conformance run|plans [flags]")
	}
	switch args[0] {
	case "plans":
		for _, p := range conformance.Plans() {
			fmt.Fprintf(stdout, "%s (%s)", p.Name, p.CertProfile)
			if p.Absent != "" {
				fmt.Fprintf(stdout, " — not runnable yet: %s", p.Absent)
			}
			fmt.Fprintln(stdout)
			jobs, na := p.Jobs()
			for _, j := range jobs {
				fmt.Fprintf(stdout, "  %-80s %-4s %s\n", j.Module.Name, j.Module.Flags, j.Variant.Key())
			}
			for _, s := range na {
				fmt.Fprintf(stdout, "  (not applicable) %s\n", s)
			}
		}
		return nil
	case "run":
		return runPlans(ctx, args[1:], stdout, stderr)
	}
	return fmt.Errorf("unknown command %q", args[0])
}

func runPlans(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "conformance/reference/config.json", "runner configuration (JSON, the suite's config shape)")
	plans := fs.String("plans", "all", "comma-separated plan names, or all")
	modules := fs.String("modules", "", "comma-separated module names to run (default: all of the plans')")
	out := fs.String("out", "conformance/out/run", "output directory (report.json, review/ pages)")
	conc := fs.Int("concurrency", 12, "modules in flight")
	chromium := fs.String("chromium", "", "chromium binary for REVIEW screenshots (default: chromium on PATH)")
	proxyListen := fs.String("proxy-listen", "", "front the OP with the runner's TLS proxy on this address")
	proxyUpstream := fs.String("proxy-upstream", "", "the OP's plain-HTTP address the TLS proxy forwards to")
	caFile := fs.String("ca", "", "extra CA certificate (PEM) to trust for the OP")
	wait := fs.Duration("wait", 60*time.Second, "how long to wait for the discovery document to answer")
	oracles := fs.String("oracles", "", "comma-separated oracles to run: openid-client, zitadel (empty: none)")
	node := fs.String("node-dir", "conformance/reference", "npm project with openid-client, for the openid-client oracle")
	hint := fs.String("hint-on-discovery-failure", "", "sentence appended when the discovery document cannot be fetched")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := conformance.LoadConfig(*configPath)
	if err != nil {
		return err
	}
	ca, err := conformance.NewAuthority()
	if err != nil {
		return err
	}
	caPath := filepath.Join(*out, "tls", "run-ca.pem")
	if err := ca.WriteCA(caPath); err != nil {
		return err
	}
	roots, err := x509.SystemCertPool()
	if err != nil {
		roots = x509.NewCertPool()
	}
	if *caFile != "" {
		pem, err := os.ReadFile(*caFile)
		if err != nil {
			return err
		}
		roots.AppendCertsFromPEM(pem)
	}
	if *proxyListen != "" {
		up, err := url.Parse(*proxyUpstream)
		if err != nil || up.Host == "" {
			return fmt.Errorf("-proxy-upstream %q: must be an http URL", *proxyUpstream)
		}
		issuerURL, _ := url.Parse(cfg.Server.DiscoveryURL)
		cert, err := ca.Issue(issuerURL.Hostname(), "localhost", "127.0.0.1")
		if err != nil {
			return err
		}
		p, err := conformance.StartProxy(*proxyListen, up, cert)
		if err != nil {
			return fmt.Errorf("TLS proxy: %w", err)
		}
		defer p.Close()
		fmt.Fprintf(stderr, "TLS proxy https://%s -> %s (certificate from this run's CA %s)\n", *proxyListen, up, caPath)
	}
	ps, err := conformance.FindPlans(split(*plans))
	if err != nil {
		return err
	}
	browser := *chromium
	if browser == "" {
		if p, err := exec.LookPath("chromium"); err == nil {
			browser = p
		} else {
			fmt.Fprintln(stderr, "warning: chromium not found; REVIEW pages are saved as HTML without screenshots")
		}
	}
	orcs, err := oracle.All(split(*oracles), *node, caPath)
	if err != nil {
		return err
	}
	rep, err := conformance.Execute(ctx, conformance.Options{
		Config: cfg, Roots: roots, Authority: ca, Plans: ps, Modules: split(*modules), OutDir: *out,
		Concurrency: *conc, Chromium: browser, WaitReady: *wait, Progress: stderr, Oracles: orcs,
	})
	if err != nil && rep != nil && rep.Fatal == "" {
		rep.Fatal = err.Error()
	}
	if rep != nil && rep.Fatal != "" && *hint != "" {
		rep.Fatal += ": " + *hint
	}
	if rep == nil {
		return err
	}
	rep.WriteTables(stdout)
	jsonPath := filepath.Join(*out, "report.json")
	if werr := rep.WriteJSON(jsonPath); werr != nil {
		fmt.Fprintln(stderr, "writing report:", werr)
	} else {
		fmt.Fprintln(stdout, "JSON report:", jsonPath)
	}
	if rep.Fatal != "" {
		return errors.New("the run could not start: " + rep.Fatal)
	}
	if rep.Failed() {
		return errFailed
	}
	return nil
}

func split(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
