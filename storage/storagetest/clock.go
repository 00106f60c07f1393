package storagetest

import (
	"sync"
	"time"
)

// clockStart is where every Clock starts: a whole hour (indeed a whole day)
// since the Unix epoch, so rate windows of a second, a minute or an hour
// begin exactly at it.
func clockStart() time.Time { return time.Date(2030, time.January, 1, 0, 0, 0, 0, time.UTC) }

// Clock is a fake clock for the Now options of stores and hot-state
// implementations. It moves only when Advance is called. It is safe for
// concurrent use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a Clock set to 2030-01-01T00:00:00Z.
func NewClock() *Clock { return &Clock{now: clockStart()} }

// NewClockAt returns a Clock set to t.
func NewClockAt(t time.Time) *Clock { return &Clock{now: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}
