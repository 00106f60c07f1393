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
type LogBuffer struct {
	mu   sync.Mutex
	w    io.Writer
	buf  []byte
	size int
	err  error // the last write's error, reported by the next Write

	quit      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

// NewLogBuffer buffers up to size bytes for w and flushes every interval
// from its own goroutine until Close.
func NewLogBuffer(w io.Writer, size int, interval time.Duration) *LogBuffer {
	b := &LogBuffer{w: w, buf: make([]byte, 0, size), size: size, quit: make(chan struct{}), done: make(chan struct{})}
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

// Write queues p (one log record), writing the buffer out first when p
// would not fit, or p itself when it is larger than the buffer.
func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	// An earlier flush's error is reported once, with this line kept.
	err := b.err
	b.err = nil
	if len(b.buf)+len(p) > b.size {
		if ferr := b.flushLocked(); ferr != nil {
			b.err = nil
			err = ferr
		}
	}
	if len(p) > b.size {
		n, werr := b.w.Write(p)
		if werr != nil {
			return n, werr
		}
		return n, err
	}
	b.buf = append(b.buf, p...)
	return len(p), err
}

// Flush writes out what is buffered.
func (b *LogBuffer) Flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.flushLocked()
}

func (b *LogBuffer) flushLocked() error {
	if len(b.buf) == 0 {
		return nil
	}
	_, err := b.w.Write(b.buf)
	b.buf = b.buf[:0]
	if err != nil {
		b.err = err
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
	defer b.mu.Unlock()
	err := b.flushLocked()
	b.size = 0 // from now on every line is larger than the buffer
	return err
}
