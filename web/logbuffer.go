package web

import (
	"io"
	"sync"
	"time"
)

// LogBuffer batches log lines on their way to w: a busy server writes one
// line per request, and one write(2) per line cost the discovery endpoint
// a tenth of its CPU. Lines are flushed when the buffer fills, every
// interval, and on Close, so at most interval's worth of lines is still
// in memory at any moment (and lost only if the process dies without
// returning from serve). Each line is written whole: slog hands the writer
// one complete record per Write.
//
// A flush writes outside the lock that lines are added under: it swaps in
// the spare buffer and writes the full one, so that a write(2) that
// blocks (the kernel throttling dirty pages while a database fsyncs on the
// same disk) holds up no request that logs meanwhile. Measured before
// this, every request in flight stalled together for 30–250 ms a few times
// a minute under load. Only a line that finds the buffer past its size
// waits for the write in progress, which bounds the memory.
type LogBuffer struct {
	mu   sync.Mutex // guards buf, size and err
	buf  []byte
	size int
	err  error // the last write's error, reported by the next Write

	wmu   sync.Mutex // held while writing to w: one write at a time, in order
	w     io.Writer
	spare []byte // the other buffer; wmu's holder owns it

	quit      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

// NewLogBuffer buffers up to size bytes for w and flushes every interval
// from its own goroutine until Close.
func NewLogBuffer(w io.Writer, size int, interval time.Duration) *LogBuffer {
	b := &LogBuffer{w: w, buf: make([]byte, 0, size), spare: make([]byte, 0, size), size: size,
		quit: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(b.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				_ = b.Flush()
			case <-b.quit:
				return
			}
		}
	}()
	return b
}

// Write queues p (one log record), and flushes when the buffer has
// reached its size. An earlier flush's error is reported once, with p
// kept.
func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	err := b.err
	b.err = nil
	b.buf = append(b.buf, p...)
	full := len(b.buf) >= b.size
	b.mu.Unlock()
	if full {
		if ferr := b.Flush(); ferr != nil && err == nil {
			b.mu.Lock()
			b.err = nil // reported here
			b.mu.Unlock()
			err = ferr
		}
	}
	return len(p), err
}

// Flush writes out what is buffered.
func (b *LogBuffer) Flush() error {
	b.wmu.Lock()
	defer b.wmu.Unlock()
	b.mu.Lock()
	out := b.buf
	b.buf = b.spare[:0]
	b.mu.Unlock()
	if len(out) == 0 {
		b.spare = out
		return nil
	}
	_, err := b.w.Write(out)
	b.spare = out[:0]
	if err != nil {
		b.mu.Lock()
		b.err = err
		b.mu.Unlock()
	}
	return err
}

// Close stops the periodic flush and writes out the rest. Lines written
// after Close go straight to w.
func (b *LogBuffer) Close() error {
	b.closeOnce.Do(func() {
		close(b.quit)
		<-b.done
	})
	b.mu.Lock()
	b.size = 0 // from now on every line fills the buffer
	b.mu.Unlock()
	return b.Flush()
}
