package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

// The disk probe is bounded by its count, reports what it measured and
// leaves nothing behind.
func TestDiskProbe(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	cmd := diskCmd(&out)
	cmd.SetArgs([]string{"--dir", dir, "--count", "40", "--duration", "10s"})
	cmd.SetContext(context.Background())
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "40 flushes of 8 KiB") || !strings.Contains(out.String(), "p99.9") {
		t.Errorf("output: %q", out.String())
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("left %d files behind", len(left))
	}
	cmd = diskCmd(&out)
	cmd.SetArgs([]string{"--dir", dir, "--count", "0"})
	if err := cmd.Execute(); err == nil {
		t.Error("--count 0 accepted")
	}
}

func TestSummarizeDisk(t *testing.T) {
	var lat []time.Duration
	for i := 1; i <= 1000; i++ {
		lat = append(lat, time.Duration(i)*20*time.Microsecond) // 20 µs … 20 ms
	}
	p := summarizeDisk(lat, time.Second)
	if p.N != 1000 || p.P50 != 10*time.Millisecond || p.P99 != 19800*time.Microsecond || p.P999 != 19980*time.Microsecond || p.Max != 20*time.Millisecond {
		t.Errorf("%+v", p)
	}
	if p.Over1ms != 950 || p.Over10ms != 500 {
		t.Errorf("over 1 ms %d, over 10 ms %d", p.Over1ms, p.Over10ms)
	}
	if (summarizeDisk(nil, 0) != diskProbe{}) {
		t.Error("no flushes: not the zero probe")
	}
}
