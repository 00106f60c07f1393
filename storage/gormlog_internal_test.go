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
