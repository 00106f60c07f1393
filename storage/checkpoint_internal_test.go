package storage

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The pool's SQLite connections never checkpoint (a commit must not stop
// to copy the WAL back and fsync); the store's checkpointer does, and
// rewinds the WAL once it passes its limit, so the file stays bounded
// under writes.
func TestWALCheckpointer(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "janua.db")
	const restart = 64 // frames: 256 KiB at 4 KiB a page
	s, err := Open(ctx, Options{URL: "sqlite:" + path, Secret: []byte("checkpoint secret, long enough"), walRestartPages: restart})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })

	var auto int
	if err := s.gdb.Raw("PRAGMA wal_autocheckpoint").Scan(&auto).Error; err != nil {
		t.Fatal(err)
	}
	if auto != 0 {
		t.Fatalf("pool connections checkpoint every %d pages, want never (0)", auto)
	}
	if err := s.gdb.Exec("CREATE TABLE ckpt (b TEXT NOT NULL)").Error; err != nil {
		t.Fatal(err)
	}
	blob := strings.Repeat("x", 4000)
	const rounds, perRound = 16, 40 // each round ≥ 40 frames, 2.5 MiB in all
	for r := range rounds {
		before := s.ckpt.restart.Load()
		for range perRound {
			if err := s.gdb.Exec("INSERT INTO ckpt (b) VALUES (?)", blob).Error; err != nil {
				t.Fatal(err)
			}
		}
		// Past the limit every other round: wait for the rewind.
		if r%2 == 1 {
			deadline := time.Now().Add(10 * time.Second)
			for s.ckpt.restart.Load() == before {
				if time.Now().After(deadline) {
					t.Fatalf("round %d: no RESTART checkpoint within 10 s (%d PASSIVE)", r, s.ckpt.passive.Load())
				}
				time.Sleep(10 * time.Millisecond)
			}
		}
	}
	fi, err := os.Stat(path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	written := int64(rounds * perRound * len(blob))
	if fi.Size() > written/2 {
		t.Errorf("WAL is %d bytes after %d written: it was not rewound", fi.Size(), written)
	}
	var n int
	if err := s.gdb.Raw("SELECT count(*) FROM ckpt").Scan(&n).Error; err != nil || n != rounds*perRound {
		t.Fatalf("%d rows (%v), want %d", n, err, rounds*perRound)
	}
	if s.ckpt.passive.Load() == 0 {
		t.Error("no PASSIVE checkpoint ran")
	}
}
