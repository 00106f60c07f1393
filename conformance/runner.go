package conformance

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"sync"
	"time"
)

// Options configure one run.
type Options struct {
	Config *Config
	// Roots are the CAs the runner trusts for the OP (nil: system roots) and for its
	// own callback server (Authority is added to them).
	Roots *x509.CertPool
	// Authority issues the callback server's certificate.
	Authority *Authority
	Plans     []*Plan
	// Modules, when set, runs only modules with these names.
	Modules []string
	OutDir  string
	// Concurrency bounds the modules in flight (each has its own user agent).
	Concurrency int
	// Chromium is the browser binary used for REVIEW screenshots ("" disables them).
	Chromium string
	// WaitReady bounds how long the runner waits for the discovery document to answer
	// at all before the first module (the OP may still be starting).
	WaitReady time.Duration
	// Progress receives one line per finished module (nil: none).
	Progress io.Writer
	// Oracles run after the modules, while the callback server is still up.
	Oracles []Oracle
}

// Run is the state shared by the modules of one run.
type Run struct {
	cfg    *Config
	base   *url.URL
	roots  *x509.CertPool
	http   *http.Client
	review *reviewer
}

// NewRun builds the shared state without starting any server (tests use it directly).
func NewRun(cfg *Config, roots *x509.CertPool, outDir, chromium string) (*Run, error) {
	base, err := url.Parse(cfg.Runner.BaseURL)
	if err != nil {
		return nil, err
	}
	return &Run{
		cfg: cfg, base: base, roots: roots,
		http: &http.Client{
			Timeout: 20 * time.Second,
			Transport: &http.Transport{
				TLSClientConfig:     &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
				MaxIdleConnsPerHost: 16,
			},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		review: newReviewer(outDir, chromium),
	}, nil
}

// get performs a back-channel GET (the relying party's own HTTP client, not the browser).
func (r *Run) get(ctx context.Context, rawURL string, header http.Header) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, nil, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	return r.do(req)
}

func (r *Run) do(req *http.Request) (*http.Response, []byte, error) {
	resp, err := r.http.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	return resp, body, err
}

// discovery fetches and decodes the discovery document.
func (r *Run) discovery(ctx context.Context) (map[string]any, error) {
	resp, body, err := r.get(ctx, r.cfg.Server.DiscoveryURL, nil)
	if err != nil {
		return nil, fmt.Errorf("discovery document %s: %w", r.cfg.Server.DiscoveryURL, err)
	}
	doc, err := decodeDiscovery(resp.StatusCode, resp.Header.Get("Content-Type"), body)
	if err != nil {
		return nil, fmt.Errorf("discovery document %s: %w", r.cfg.Server.DiscoveryURL, err)
	}
	return doc, nil
}

// Execute runs the plans and returns the report. An error means the run could not
// take place at all (no callback server, no discovery document); the report then
// says why.
func Execute(ctx context.Context, opt Options) (*Report, error) {
	roots := opt.Roots
	if roots == nil {
		var err error
		if roots, err = x509.SystemCertPool(); err != nil {
			roots = x509.NewCertPool()
		}
	}
	roots = roots.Clone()
	if opt.Authority != nil {
		roots.AddCert(opt.Authority.Cert)
	}
	run, err := NewRun(opt.Config, roots, opt.OutDir, opt.Chromium)
	if err != nil {
		return nil, err
	}
	rep := &Report{Started: time.Now(), DiscoveryURL: opt.Config.Server.DiscoveryURL}

	if opt.Authority == nil {
		return rep, errors.New("a certificate authority is required for the runner's callback server")
	}
	cert, err := opt.Authority.Issue(run.base.Hostname(), "localhost", "127.0.0.1")
	if err != nil {
		return rep, err
	}
	cs, err := StartCallbackServer(run.base.Host, cert)
	if err != nil {
		return rep, fmt.Errorf("runner callback server on %s: %w", run.base.Host, err)
	}
	defer cs.Close()

	if err := run.waitReady(ctx, opt.WaitReady); err != nil {
		rep.Fatal = err.Error()
		rep.Finished = time.Now()
		return rep, err
	}

	var jobs []Job
	wanted := map[string]bool{}
	for _, m := range opt.Modules {
		wanted[m] = true
	}
	for _, p := range opt.Plans {
		js, na := p.Jobs()
		rep.NotApplicable = append(rep.NotApplicable, prefixAll(p.Name+": ", na)...)
		for _, j := range js {
			if len(wanted) == 0 || wanted[j.Module.Name] {
				jobs = append(jobs, j)
			}
		}
		rep.Plans = append(rep.Plans, PlanReport{Name: p.Name, Source: p.Source, CertProfile: p.CertProfile})
	}
	// Start the slow modules first so their waits overlap everything else.
	order := make([]int, len(jobs))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return slow(jobs[order[a]].Module) && !slow(jobs[order[b]].Module) })

	conc := max(opt.Concurrency, 1)
	results := make([]ModuleResult, len(jobs))
	sem := make(chan struct{}, conc)
	var wg sync.WaitGroup
	var mu sync.Mutex
	done := 0
	for _, i := range order {
		j := jobs[i]
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			mctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
			defer cancel()
			t := &T{ctx: mctx, run: run, Plan: j.Plan.Name, Module: j.Module, Variant: j.Variant}
			res := t.execute(func(t *T) {
				if !j.Module.Bare {
					t.setup()
				}
				j.Module.Run(t)
			})
			results[i] = res
			mu.Lock()
			done++
			if opt.Progress != nil {
				fmt.Fprintf(opt.Progress, "[%3d/%d] %-8s %s %s (%s) %.1fs\n", done, len(jobs), res.Result, res.Plan, res.Module, res.Variant.Key(), res.Duration.Seconds())
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	for i := range rep.Plans {
		for _, r := range results {
			if r.Plan == rep.Plans[i].Name {
				rep.Plans[i].Modules = append(rep.Plans[i].Modules, r)
			}
		}
	}
	if len(opt.Oracles) > 0 {
		doc, err := run.discovery(ctx)
		for _, o := range opt.Oracles {
			if err != nil {
				rep.Oracles = append(rep.Oracles, OracleRun{Name: o.Name, Problems: []string{err.Error()}})
				continue
			}
			octx, cancel := context.WithTimeout(ctx, 2*time.Minute)
			res := o.Run(octx, &Browser{run: run, server: doc, Report: rep})
			cancel()
			res.Name = o.Name
			rep.Oracles = append(rep.Oracles, res)
			if opt.Progress != nil {
				fmt.Fprintf(opt.Progress, "oracle %s: passed=%v %v %v\n", o.Name, res.Passed, res.Steps, res.Problems)
			}
		}
	}
	rep.Finished = time.Now()
	return rep, nil
}

// slow modules wait on purpose (oidcc-codereuse-30seconds, max-age-1, prompt-login).
func slow(m *Module) bool { return m.Slow }

// waitReady polls the discovery document until it answers (any HTTP status) or d
// passes; then one real fetch decides. A 404 is final at once: the OP is up but
// serves no discovery document.
func (r *Run) waitReady(ctx context.Context, d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, r.cfg.Server.DiscoveryURL, nil)
		resp, _, err := r.do(req)
		if err == nil && resp.StatusCode != http.StatusBadGateway {
			break
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = fmt.Errorf("HTTP %d", resp.StatusCode)
			}
			return fmt.Errorf("FAILED: discovery document %s unreachable after %s: %v", r.cfg.Server.DiscoveryURL, d, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
	if _, err := r.discovery(ctx); err != nil {
		return fmt.Errorf("FAILED: %v", err)
	}
	return nil
}

func prefixAll(p string, ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = p + s
	}
	return out
}
