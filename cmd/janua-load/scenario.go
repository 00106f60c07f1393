package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"time"
)

// scenario is one kind of operation.
type scenario struct {
	name, about string
	// needs says why the fixture cannot run it ("" when it can).
	needs func(e *env) string
	// setup prepares worker i (outside the measured window) and returns
	// its step.
	setup func(ctx context.Context, e *env, i int) (step, error)
}

// scenarios is every scenario, in the order `all` runs them.
var scenarios = []*scenario{
	{name: "discovery", about: "GET the discovery document", needs: always, setup: discoveryStep},
	{name: "jwks", about: "GET the JWK Set", needs: always, setup: jwksStep},
	{name: "cc-opaque", about: "client_credentials grant, opaque access token", needs: client(roleCC), setup: ccStep(roleCC, "")},
	{name: "cc-jwt-es256", about: "client_credentials grant, RFC 9068 JWT access token signed ES256 (verified)", needs: client(roleCCJWTES256), setup: ccStep(roleCCJWTES256, "ES256")},
	{name: "cc-jwt-rs256", about: "client_credentials grant, RFC 9068 JWT access token signed RS256 (verified)", needs: client(roleCCJWTRS256), setup: ccStep(roleCCJWTRS256, "RS256")},
	{name: "introspect", about: "RFC 7662 introspection of an active opaque token by its client", needs: client(roleCC), setup: introspectStep},
	{name: "refresh", about: "refresh_token grant with rotation (each new refresh token used next)", needs: clientAndUser, setup: refreshStep},
	{name: "userinfo", about: "GET userinfo with a user's access token", needs: clientAndUser, setup: userinfoStep},
	{name: "code", about: "authorize → code → token with PKCE S256 for a user with a live SSO session, ID token verified", needs: clientAndUser, setup: codeStep},
	{name: "password", about: "sign-in through the login page (GET form, POST password), users round-robin", needs: users, setup: passwordStep},
}

func scenarioNames() []string {
	out := make([]string, len(scenarios))
	for i, s := range scenarios {
		out[i] = s.name
	}
	return out
}

func scenarioByName(name string) *scenario {
	for _, s := range scenarios {
		if s.name == name {
			return s
		}
	}
	return nil
}

func always(*env) string { return "" }

func client(role string) func(*env) string {
	return func(e *env) string {
		if c, ok := e.fx.Clients[role]; !ok || c.ID == "" {
			return fmt.Sprintf("no %s client (--client %s=ID:SECRET or the fixture)", role, role)
		}
		return ""
	}
}

func users(e *env) string {
	if len(e.fx.Users) == 0 {
		return "no users (--user EMAIL:PASSWORD or the fixture)"
	}
	return ""
}

func clientAndUser(e *env) string {
	if why := client(roleCode)(e); why != "" {
		return why
	}
	return users(e)
}

// run runs the chosen scenarios one after the other and reports.
func (o *options) run(ctx context.Context, stdout, stderr io.Writer) error {
	fx, err := o.validate()
	if err != nil {
		return err
	}
	e, err := newEnv(ctx, o, fx)
	if err != nil {
		return err
	}
	defer e.transport.CloseIdleConnections()
	if o.procs > 0 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(o.procs))
	}
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			_ = f.Close()
			return err
		}
		defer func() {
			pprof.StopCPUProfile()
			_ = f.Close()
		}()
	}
	var chosen []*scenario
	explicit := map[string]bool{}
	for _, name := range o.scenarios {
		if name == "all" {
			chosen = scenarios
			continue
		}
		explicit[name] = true
	}
	if chosen == nil {
		for _, s := range scenarios {
			if explicit[s.name] {
				chosen = append(chosen, s)
			}
		}
	}
	rep := &Report{Issuer: o.issuer, Started: time.Now().UTC(), Duration: o.duration.String(), Concurrency: o.concurrency, Rate: o.rate}
	for _, sc := range chosen {
		if ctx.Err() != nil {
			break
		}
		if why := sc.needs(e); why != "" {
			if explicit[sc.name] {
				return fmt.Errorf("scenario %s: %s", sc.name, why)
			}
			rep.Results = append(rep.Results, Result{Scenario: sc.name, Skipped: why})
			continue
		}
		rep.Results = append(rep.Results, runScenario(ctx, e, sc, stderr))
	}
	if err := rep.write(stdout, o.output); err != nil {
		return err
	}
	if o.save != "" {
		f, err := os.Create(o.save)
		if err != nil {
			return err
		}
		if err := rep.write(f, "json"); err != nil {
			_ = f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	if ctx.Err() != nil {
		return errors.New("interrupted")
	}
	if rep.failed() {
		return errHadErrors
	}
	return nil
}
