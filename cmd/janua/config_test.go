package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestConfigLayers(t *testing.T) {
	c := newCLI(t)
	file := writeFile(t, c.dir, "janua.yaml", `
issuer: https://file.example.com
http:
  addr: ":5000"
  shutdown_timeout: 20s
log:
  level: debug
gc:
  interval: 1h
`)
	c.env["JANUA_CONFIG"] = file
	c.env["JANUA_HTTP_ADDR"] = ":6000" // env beats file
	c.env["JANUA_ISSUER"] = "https://env.example.com"
	out := c.must("config", "--output", "json", "--issuer", "https://flag.example.com") // flag beats env
	var got map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("config json: %v\n%s", err, out)
	}
	want := map[string]any{
		"issuer":                "https://flag.example.com", // flag
		"http.addr":             ":6000",                    // env
		"http.shutdown_timeout": "20s",                      // file
		"log.level":             "debug",                    // file
		"gc.interval":           "1h0m0s",                   // file
		"log.format":            "auto",                     // default
		"passwords.min_length":  float64(12),                // default
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
}

func TestConfigSecretsFromFilesAndRedacted(t *testing.T) {
	c := newCLI(t)
	c.env["JANUA_SECRET_FILE"] = writeFile(t, c.dir, "secret", "s3cr3t-from-a-file-that-is-long-enough\n")
	c.env["JANUA_DATABASE_URL"] = "postgres://janua:hunter2@db.internal:5432/janua?sslmode=require"
	c.env["JANUA_REDIS_URL"] = "redis://:redispass@cache.internal:6379/0"
	out := c.must("config")
	for _, secret := range []string{"s3cr3t", "hunter2", "redispass"} {
		if strings.Contains(out, secret) {
			t.Errorf("janua config printed the secret %q:\n%s", secret, out)
		}
	}
	for _, shown := range []string{"(redacted)", "db.internal", "cache.internal"} {
		if !strings.Contains(out, shown) {
			t.Errorf("janua config lacks %q:\n%s", shown, out)
		}
	}
	cfg, err := loadConfig("", c.getenv, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Secret != "s3cr3t-from-a-file-that-is-long-enough" {
		t.Errorf("secret from file = %q (trailing newline must be trimmed)", cfg.Secret)
	}
	c.env["JANUA_SECRET"] = "also-set-directly"
	if _, err := loadConfig("", c.getenv, nil); err == nil || !strings.Contains(err.Error(), "JANUA_SECRET and JANUA_SECRET_FILE are both set") {
		t.Errorf("both JANUA_SECRET and _FILE: %v", err)
	}
}

// A config file with three mistakes gets one message naming all three, and
// janua exits non-zero.
func TestConfigReportsEveryProblemAtOnce(t *testing.T) {
	c := newCLI(t)
	file := writeFile(t, c.dir, "bad.yaml", `
issuer: "ftp://nope"
gc:
  interval: soon
colour: blue
`)
	_, _, err := c.run("serve", "--config", file)
	if err == nil {
		t.Fatal("serve accepted a bad config")
	}
	msg := err.Error()
	for _, want := range []string{"3 problems", "issuer", "interval", "colour"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error does not name %q:\n%s", want, msg)
		}
	}
	if exitCode(err) == 0 {
		t.Error("exit code 0 for a bad config")
	}
}

func TestConfigValidation(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want []string // substrings; empty means valid
	}{
		{"defaults are valid", nil, nil},
		{"bad env values", map[string]string{
			"JANUA_ENV": "staging", "JANUA_LOG_LEVEL": "loud", "JANUA_HTTP_ADDR": "4100",
			"JANUA_TRUSTED_PROXIES": "10.0.0.0/8,not-an-ip", "JANUA_GC_INTERVAL": "often",
			"JANUA_PASSWORD_MIN_LENGTH": "4", "JANUA_DATABASE_URL": "mysql://x", "JANUA_REDIS_URL": "nowhere",
		}, []string{"env:", "log.level", "http.addr", "not-an-ip", "JANUA_GC_INTERVAL", "passwords.min_length", "database.url", "redis.url"}},
		{"issuer with query", map[string]string{"JANUA_ISSUER": "https://id.example.com/?x=1"}, []string{"query"}},
		{"production needs secret, https issuer, explicit database", map[string]string{"JANUA_ENV": "production"},
			[]string{"JANUA_SECRET", "must be https", "development default", "JANUA_DATABASE_URL"}},
		{"production short secret", map[string]string{"JANUA_ENV": "production", "JANUA_SECRET": "short",
			"JANUA_ISSUER": "https://id.example.com", "JANUA_DATABASE_URL": "postgres://db/janua"}, []string{"at least 32"}},
		{"production done right", map[string]string{"JANUA_ENV": "production", "JANUA_SECRET": strings.Repeat("k", 40),
			"JANUA_ISSUER": "https://id.example.com", "JANUA_DATABASE_URL": "postgres://db/janua",
			"JANUA_SMTP_HOST": "smtp.example.com", "JANUA_MAIL_FROM": "no-reply@example.com"}, nil},
		{"trusted proxies list", map[string]string{"JANUA_TRUSTED_PROXIES": "10.0.0.0/8, 127.0.0.1 ,::1"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadConfig("", func(k string) string { return tc.env[k] }, nil)
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("unexpected: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted, want problems %v", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
	cfg, err := loadConfig("", func(k string) string {
		return map[string]string{"JANUA_TRUSTED_PROXIES": "10.0.0.0/8, 127.0.0.1 ,::1", "JANUA_SHUTDOWN_TIMEOUT": "3s"}[k]
	}, nil)
	if err != nil || len(cfg.HTTP.TrustedProxies) != 3 || cfg.HTTP.ShutdownTimeout != 3*time.Second {
		t.Fatalf("parsed %+v %v", cfg.HTTP, err)
	}
}

func TestDevelopmentSecretGeneratedOnceWithMode0600(t *testing.T) {
	c := newCLI(t)
	cfg, err := loadConfig("", c.getenv, nil)
	if err != nil {
		t.Fatal(err)
	}
	log := (&app{io: streams{err: os.Stderr}}).logger(cfg)
	first, err := secret(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(cfg.DataDir, devSecretFile)
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("secret file mode %v, want 0600", st.Mode().Perm())
	}
	second, _ := secret(cfg, log)
	if string(first) != string(second) || len(first) < 32 {
		t.Errorf("development secret not stable or too short: %q vs %q", first, second)
	}
	cfg.Env = envProduction
	if _, err := secret(cfg, log); err == nil {
		t.Error("production fell back to the development secret")
	}
}
