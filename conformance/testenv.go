package conformance

import (
	"context"
	"fmt"
	"net/url"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// T is one module run: the suite's AbstractTestModule with its environment. Modules
// call conditions through it; a condition is a func() error whose error message says
// what was wrong.
type T struct {
	ctx     context.Context
	run     *Run
	Plan    string
	Module  *Module
	Variant Variant

	mu      sync.Mutex
	log     []LogEntry
	skipped bool
	reason  string
	shots   []Screenshot

	// server is the discovery document; issuer its issuer.
	server map[string]any
	issuer string
	jwks   *jose.JSONWebKeySet
	ua     *UserAgent
	// client is the client in use (the suite maps "client" to "client2" for the
	// second client of multiple-client modules).
	client ClientConfig
	second bool
	// emailChecks turns on OIDCCScopeEmail's extra warnings.
	emailChecks bool
}

// call is the suite's callAndContinueOnFailure: a failed condition is logged with
// severity sev and the module goes on. It reports whether the condition held.
func (t *T) call(cond string, sev Severity, reqs []string, fn func() error) bool {
	err := fn()
	if err == nil {
		t.add(LogEntry{Condition: cond, Result: Success, Requirements: reqs, Message: "passed"})
		return true
	}
	t.add(LogEntry{Condition: cond, Result: sev, Requirements: reqs, Message: err.Error()})
	return false
}

// stop is the suite's callAndStopOnFailure: a failed condition is a FAILURE and ends
// the module.
func (t *T) stop(cond string, reqs []string, fn func() error) {
	if !t.call(cond, Failure, reqs, fn) {
		panic(stopSignal{reason: cond})
	}
}

// fail records a FAILURE and ends the module.
func (t *T) fail(cond, format string, args ...any) {
	t.add(LogEntry{Condition: cond, Result: Failure, Message: fmt.Sprintf(format, args...)})
	panic(stopSignal{reason: cond})
}

// skip ends the module as SKIPPED (the suite's fireTestSkipped).
func (t *T) skip(format string, args ...any) {
	t.mu.Lock()
	t.skipped = true
	t.reason = fmt.Sprintf(format, args...)
	t.mu.Unlock()
	t.add(LogEntry{Result: Info, Message: "test skipped: " + t.reason})
	panic(stopSignal{reason: "skipped"})
}

// note logs an INFO line.
func (t *T) note(format string, args ...any) {
	t.add(LogEntry{Result: Info, Message: fmt.Sprintf(format, args...)})
}

func (t *T) add(e LogEntry) {
	e.Time = time.Now()
	t.mu.Lock()
	t.log = append(t.log, e)
	t.mu.Unlock()
}

// placeholder records that the module ends waiting for a screenshot of page (the
// suite's createPlaceholder + waitForPlaceholders): the module's result is REVIEW
// unless a condition failed. The page's HTML and a PNG go to the report.
func (t *T) placeholder(name string, p *Page) {
	if p == nil {
		t.fail("ExpectPage", "expected the OP to show a page (%s) but the user agent has none", name)
	}
	shot := t.run.review.save(t.ctx, t.slug(), len(t.shots), name, p)
	t.mu.Lock()
	t.shots = append(t.shots, shot)
	t.mu.Unlock()
	t.note("placeholder %q: the OP showed %s (HTTP %d, title %q); saved for review", name, p.URL, p.Status, p.Title)
}

func (t *T) slug() string {
	v := strings.NewReplacer(" ", "_", "/", "-").Replace(t.Variant.Key())
	return fmt.Sprintf("%s__%s__%s", t.Plan, t.Module.Name, v)
}

// execute runs the module's body and folds its log into a result.
func (t *T) execute(fn func(*T)) (res ModuleResult) {
	start := time.Now()
	func() {
		defer func() {
			if r := recover(); r != nil {
				if _, ok := r.(stopSignal); ok {
					return
				}
				t.add(LogEntry{Result: Interupt, Condition: "runner", Message: fmt.Sprintf("runner panic: %v\n%s", r, debug.Stack())})
			}
		}()
		fn(t)
	}()
	t.mu.Lock()
	defer t.mu.Unlock()
	result, fails, warns := outcome(t.log, t.skipped, len(t.shots))
	return ModuleResult{
		Plan: t.Plan, Module: t.Module.Name, Variant: t.Variant, Result: result, Reason: t.reason,
		Started: start, Duration: time.Since(start), Failures: fails, Warnings: warns,
		Screenshots: t.shots, Log: t.log,
	}
}

// sleep waits d or until the run is cancelled (every wait in a module is bounded).
func (t *T) sleep(d time.Duration) {
	t.note("waiting %s", d)
	select {
	case <-time.After(d):
	case <-t.ctx.Done():
		t.fail("runner", "run cancelled while waiting")
	}
}

// endpoint is a string member of the discovery document.
func (t *T) endpoint(name string) string {
	s, _ := t.server[name].(string)
	return s
}

// newUserAgent is a fresh browser: an empty cookie jar (the suite's "L" modules ask
// the tester to clear the OP's cookies; every module here starts that way).
func (t *T) newUserAgent() *UserAgent {
	var hosts []string
	for _, k := range []string{"issuer", "authorization_endpoint", "end_session_endpoint"} {
		if u, err := url.Parse(t.endpoint(k)); err == nil && u.Host != "" {
			hosts = append(hosts, u.Host)
		}
	}
	return NewUserAgent(t.run.base, t.run.roots, t.run.cfg.User.Username, t.run.cfg.User.Password, hosts...)
}
