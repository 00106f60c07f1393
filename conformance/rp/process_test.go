package rp

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// enabledEnv turns the tests on; `make rp-oauth2-proxy` sets it.
const enabledEnv = "JANUA_TEST_OAUTH2_PROXY"

// requireEnabled skips unless the tests were asked for: building
// oauth2-proxy costs about a minute on a cold cache, too much for `make test`.
func requireEnabled(t *testing.T) {
	t.Helper()
	if os.Getenv(enabledEnv) == "" {
		t.Skipf("set %s=1 (make rp-oauth2-proxy) to run oauth2-proxy against Janua", enabledEnv)
	}
}

// unavailable skips a test whose outside piece (the Go toolchain, the module
// proxy) is missing, or fails it under CI=true, where a skip would hide it.
func unavailable(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format+" (a failure under CI=true)", args...)
}

// run runs a command to completion within timeout and returns its stdout;
// stderr is part of the error.
func run(timeout time.Duration, dir string, env []string, name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir, cmd.Env = dir, env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), fmt.Errorf("%s %s: %w\n%s", filepath.Base(name), strings.Join(args, " "), err, tail(stderr.String(), 2000))
	}
	return stdout.Bytes(), nil
}

// moduleRoot is the main module's directory (the tests run in conformance/rp).
func moduleRoot(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		unavailable(t, "no go command on PATH: %v", err)
	}
	out, err := run(time.Minute, ".", os.Environ(), "go", "env", "GOMOD")
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}

// buildTools builds Janua from this tree and oauth2-proxy from the tools
// module into dir, reusing the build cache; the only download there can be
// is from the Go module proxy, into the module cache.
func buildTools(t *testing.T, root, dir string) (janua, proxy string) {
	t.Helper()
	janua, proxy = filepath.Join(dir, "janua"), filepath.Join(dir, "oauth2-proxy")
	start := time.Now()
	if _, err := run(10*time.Minute, root, os.Environ(), "go", "build", "-o", janua, "./cmd/janua"); err != nil {
		t.Fatalf("building Janua: %v", err)
	}
	t.Logf("built janua in %s", time.Since(start).Round(time.Millisecond))
	start = time.Now()
	// The tools module has its own go.mod and go.sum: no workspace, and no
	// edits to them at test time.
	if _, err := run(10*time.Minute, filepath.Join(root, "tools", "oauth2-proxy"), append(os.Environ(), "GOWORK=off"),
		"go", "build", "-mod=readonly", "-o", proxy, "github.com/oauth2-proxy/oauth2-proxy/v7"); err != nil {
		unavailable(t, "cannot build oauth2-proxy from tools/oauth2-proxy: %v", err)
	}
	t.Logf("built oauth2-proxy in %s", time.Since(start).Round(time.Millisecond))
	return janua, proxy
}

// freePort reserves nothing: it asks the kernel for a free loopback port and
// releases it, so it can be registered (redirect URIs) before the server
// that will listen on it starts.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// process is a server started for one test: its output goes to a log file,
// and it is stopped (SIGTERM, then SIGKILL after 5 s) when the test ends.
type process struct {
	name, log string
	done      chan struct{}
}

func startProcess(t *testing.T, name, bin string, args, env []string) *process {
	t.Helper()
	p := &process{name: name, log: filepath.Join(t.TempDir(), name+".log"), done: make(chan struct{})}
	f, err := os.Create(p.log)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env, cmd.Stdout, cmd.Stderr = env, f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		t.Fatalf("starting %s: %v", name, err)
	}
	go func() {
		_ = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("last lines of the %s log:\n%s", name, tail(p.output(), 6000))
		}
	})
	return p
}

// output is everything the process has logged so far.
func (p *process) output() string {
	b, _ := os.ReadFile(p.log)
	return string(b)
}

// waitReady polls url until it answers 200, the process dies, or 30 s pass.
func (p *process) waitReady(t *testing.T, url string) {
	t.Helper()
	c := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := c.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-p.done:
			t.Fatalf("%s exited before it was ready:\n%s", p.name, tail(p.output(), 3000))
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready at %s after 30 s (last error: %v)", p.name, url, err)
		}
	}
}

// eventually polls cond every 50 ms for at most 5 s: a log line is written
// just after the response that caused it.
func eventually(cond func() bool) bool {
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

// cleanEnv is the environment without JANUA_* and OAUTH2_PROXY_* variables,
// so a developer's own configuration (a PostgreSQL URL, say) cannot leak
// into the servers the test starts.
func cleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "JANUA_") && !strings.HasPrefix(kv, "OAUTH2_PROXY_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

func itoa(n int) string { return strconv.Itoa(n) }
