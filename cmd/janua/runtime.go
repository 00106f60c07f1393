package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/madfam-org/janua/storage"
	"github.com/madfam-org/janua/web"
)

// devSecretFile is where development keeps its generated secret.
const devSecretFile = "secret"

// logger builds the process logger from the configuration: JSON in
// production, text in development, unless log.format says otherwise.
func (a *app) logger(c Config) *slog.Logger { return a.loggerTo(a.io.err, c) }

// loggerTo is logger writing to w.
func (a *app) loggerTo(w io.Writer, c Config) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.Log.Level))
	json := c.Log.Format == "json" || (c.Log.Format == "auto" && c.production())
	return web.NewLogger(w, level, json)
}

// secret returns the key-encryption secret: the configured one, or in
// development one generated on first use and kept in the data directory
// (mode 0600), with a warning. Production never reaches the fallback:
// validation refuses to start without JANUA_SECRET.
func secret(c Config, log *slog.Logger) ([]byte, error) {
	if c.Secret != "" {
		return []byte(c.Secret), nil
	}
	if c.production() {
		return nil, errors.New("JANUA_SECRET is required in production")
	}
	path := filepath.Join(c.DataDir, devSecretFile)
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		s := strings.TrimSpace(string(b))
		if len(s) < 32 {
			return nil, fmt.Errorf("development secret %s is too short; delete it to generate a new one (sealed keys will be regenerated)", path)
		}
		return []byte(s), nil
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("read development secret: %w", err)
	}
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	s := base64.RawURLEncoding.EncodeToString(raw)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return secret(c, log) // another process created it first
	}
	if err != nil {
		return nil, fmt.Errorf("create development secret: %w", err)
	}
	if _, err := f.WriteString(s + "\n"); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("write development secret: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("write development secret: %w", err)
	}
	log.Warn("generated a development key-encryption secret; set JANUA_SECRET in production", "path", path)
	return []byte(s), nil
}

// openStore opens the database (without migrating).
func openStore(ctx context.Context, c Config, log *slog.Logger) (*storage.Store, error) {
	sec, err := secret(c, log)
	if err != nil {
		return nil, err
	}
	return storage.Open(ctx, storage.Options{
		URL:          c.databaseURL(),
		Secret:       sec,
		Logger:       log,
		MaxOpenConns: c.Database.MaxOpenConns,
	})
}

// openMigratedStore opens the database and applies pending migrations; the
// administrative commands use it so they work on a fresh data directory.
func openMigratedStore(ctx context.Context, c Config, log *slog.Logger) (*storage.Store, error) {
	s, err := openStore(ctx, c, log)
	if err != nil {
		return nil, err
	}
	if _, err := s.Migrate(ctx); err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

// withStore is the frame of every administrative command: check --output,
// load the configuration, open and migrate the store, run fn, close.
func (a *app) withStore(cmd *cobra.Command, fn func(ctx context.Context, c Config, s *storage.Store) error) error {
	if err := a.checkOutput(); err != nil {
		return err
	}
	c, err := a.config()
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	s, err := openMigratedStore(ctx, c, a.logger(c))
	if err != nil {
		return err
	}
	defer s.Close()
	return fn(ctx, c, s)
}

// openHotState connects Redis when configured, else keeps hot state in memory.
func openHotState(ctx context.Context, c Config, log *slog.Logger) (storage.HotState, string, error) {
	if c.Redis.URL == "" {
		return storage.NewMemoryHotState(storage.MemoryHotStateOptions{}), "memory (single instance)", nil
	}
	hs, err := storage.NewRedisHotState(ctx, storage.RedisHotStateOptions{URL: c.Redis.URL, Prefix: c.Redis.Prefix, Logger: log})
	if err != nil {
		return nil, "", fmt.Errorf("redis: %w", err)
	}
	return hs, "redis " + redactRedisURL(c.Redis.URL), nil
}
