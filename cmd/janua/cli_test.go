package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// cli runs janua in-process with its own environment and data directory.
type cli struct {
	t   *testing.T
	env map[string]string
	dir string
}

func newCLI(t *testing.T) *cli {
	t.Helper()
	dir := t.TempDir()
	return &cli{t: t, dir: dir, env: map[string]string{
		"JANUA_DATA_DIR": filepath.Join(dir, "data"),
		// Cheap argon2 for tests; production cost is exercised in login's tests.
		"JANUA_ARGON2_MEMORY_KIB": "8192",
		"JANUA_ARGON2_ITERATIONS": "1",
	}}
}

func (c *cli) getenv(k string) string { return c.env[k] }

// run executes args; stdin may be nil.
func (c *cli) runIn(stdin io.Reader, args ...string) (string, string, error) {
	c.t.Helper()
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err := run(ctx, args, c.getenv, stdin, &out, &errb)
	return out.String(), errb.String(), err
}

func (c *cli) run(args ...string) (string, string, error) {
	c.t.Helper()
	return c.runIn(nil, args...)
}

// must runs args and fails the test on error.
func (c *cli) must(args ...string) string {
	c.t.Helper()
	out, errOut, err := c.run(args...)
	if err != nil {
		c.t.Fatalf("janua %s: %v\nstderr: %s", strings.Join(args, " "), err, errOut)
	}
	return out
}

func writeFile(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
