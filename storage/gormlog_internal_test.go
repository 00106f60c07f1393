package storage

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"
)

// gorm's statement rendering runs only for a line that is written, and the
// line never holds parameters.
func TestGormLog(t *testing.T) {
	var buf bytes.Buffer
	l := newGormLogger(slog.New(slog.NewTextHandler(&buf, nil)))
	ctx := context.Background()
	rendered := 0
	fc := func() (string, int64) { rendered++; return "SELECT * FROM users WHERE id = ?", 1 }

	l.Trace(ctx, time.Now(), fc, nil)
	l.Trace(ctx, time.Now(), fc, gorm.ErrRecordNotFound)
	if rendered != 0 || buf.Len() != 0 {
		t.Fatalf("a quick statement and a missing row: rendered %d times, logged %q", rendered, buf.String())
	}
	l.Trace(ctx, time.Now(), fc, errors.New("boom"))
	l.Trace(ctx, time.Now().Add(-time.Second), fc, nil)
	if rendered != 2 {
		t.Errorf("rendered %d times, want 2 (a failure, a slow statement)", rendered)
	}
	out := buf.String()
	if !strings.Contains(out, "statement failed") || !strings.Contains(out, "slow statement") {
		t.Errorf("log: %q", out)
	}
	sql, params := l.ParamsFilter(ctx, "SELECT ?", "secret")
	if sql != "SELECT ?" || params != nil {
		t.Errorf("ParamsFilter kept parameters: %q %v", sql, params)
	}
}

// Every statement the store sends with parameters goes through gormLog
// without them, even those whose results gorm reads with its Scan (which
// renders the SQL eagerly, parameters included, through a recorder of its
// own): a slow-statement line never carries a code, a flow or a user ID.
func TestGormLogStoreStatementsHoldNoParameters(t *testing.T) {
	ctx := context.Background()
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	s, err := Open(ctx, Options{URL: "sqlite:" + t.TempDir() + "/janua.db", Secret: []byte("gorm log secret, long enough"), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	// Every statement is slow from here on.
	s.gdb.Logger = gormLog{log: log, slow: -1}
	if s.rdb != nil {
		s.rdb.Logger = s.gdb.Logger
	}
	buf.Reset()
	const secret = "8f3e1c42-5b6a-4d7e-9f80-1a2b3c4d5e6f"
	if _, _, err := s.ConsumeEmailCode(ctx, "id-"+secret, "code-"+secret, "flow-"+secret, "browser-"+secret); !errors.Is(err, ErrNotFound) {
		t.Fatalf("ConsumeEmailCode: %v", err)
	}
	if _, err := s.GetFactorEnrolment(ctx, secret); err != nil {
		t.Fatalf("GetFactorEnrolment: %v", err)
	}
	out := buf.String()
	if strings.Count(out, "slow statement") < 2 {
		t.Fatalf("want a slow-statement line per statement; log:\n%s", out)
	}
	if strings.Contains(out, secret) {
		t.Errorf("a logged statement holds a parameter:\n%s", out)
	}
}
