package web

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the flusher and the test at once,
// counting the writes it gets.
type syncBuffer struct {
	mu     sync.Mutex
	b      bytes.Buffer
	writes int
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes++
	return s.b.Write(p)
}

func (s *syncBuffer) snapshot() (string, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String(), s.writes
}

// Lines are batched into few writes, whole and in order; the timer flushes
// a quiet buffer; Close flushes the rest; a line larger than the buffer
// goes straight through.
func TestLogBuffer(t *testing.T) {
	out := &syncBuffer{}
	b := NewLogBuffer(out, 1024, 20*time.Millisecond)
	var want strings.Builder
	for i := range 100 {
		line := strings.Repeat(string(rune('a'+i%26)), 40) + "\n"
		want.WriteString(line)
		if _, err := b.Write([]byte(line)); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, writes := out.snapshot()
		if got == want.String() {
			if writes > 100*41/1024+2 {
				t.Fatalf("%d writes for 100 lines of 41 bytes through a 1 KiB buffer", writes)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the timer never flushed: %d of %d bytes out", len(got), want.Len())
		}
		time.Sleep(10 * time.Millisecond)
	}
	big := strings.Repeat("x", 2000) + "\n"
	tail := "last line\n"
	_, _ = b.Write([]byte(tail))
	_, _ = b.Write([]byte(big))
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if got, _ := out.snapshot(); got != want.String()+tail+big {
		t.Fatal("lines lost or reordered around a line larger than the buffer")
	}
	after := "after close\n"
	_, _ = b.Write([]byte(after))
	if got, _ := out.snapshot(); !strings.HasSuffix(got, after) {
		t.Fatal("a line written after Close was held back")
	}
}

// gateWriter blocks every write until its gate is closed.
type gateWriter struct {
	gate    chan struct{}
	entered chan struct{}
	once    sync.Once
	out     syncBuffer
}

func (g *gateWriter) Write(p []byte) (int, error) {
	g.once.Do(func() { close(g.entered) })
	<-g.gate
	return g.out.Write(p)
}

// A write to w that blocks holds up no line logged meanwhile (while the
// buffer has room): requests do not stall on a slow log file.
func TestLogBufferSlowWriter(t *testing.T) {
	g := &gateWriter{gate: make(chan struct{}), entered: make(chan struct{})}
	b := NewLogBuffer(g, 1024, 5*time.Millisecond)
	_, _ = b.Write([]byte("first\n"))
	select {
	case <-g.entered: // the timer's flush is now stuck in w.Write
	case <-time.After(5 * time.Second):
		t.Fatal("the timer never flushed")
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 10 {
			_, _ = b.Write([]byte(strings.Repeat(string(rune('a'+i)), 20) + "\n"))
		}
	}()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("lines waited for a blocked write although the buffer had room")
	}
	close(g.gate)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	got, _ := g.out.snapshot()
	want := "first\n"
	for i := range 10 {
		want += strings.Repeat(string(rune('a'+i)), 20) + "\n"
	}
	if got != want {
		t.Fatalf("lines lost or reordered:\n%q\nwant\n%q", got, want)
	}
}
