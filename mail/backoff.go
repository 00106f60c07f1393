package mail

import (
	"math/rand/v2"
	"time"
)

// Retry is the schedule of delivery attempts: after the nth failed attempt
// the next waits Base·2ⁿ⁻¹, at most Max, plus up to a fifth more at random,
// so instances that failed together do not retry together; after Attempts
// attempts the message is dead.
type Retry struct {
	Base     time.Duration // default 30 s
	Max      time.Duration // default 1 h
	Attempts int           // default 10 (about 4 hours of trying)
}

func (r Retry) withDefaults() Retry {
	if r.Base <= 0 {
		r.Base = 30 * time.Second
	}
	if r.Max <= 0 {
		r.Max = time.Hour
	}
	if r.Max < r.Base {
		r.Max = r.Base
	}
	if r.Attempts <= 0 {
		r.Attempts = 10
	}
	return r
}

// delay is the wait after the attempt-th failed attempt (1-based).
func (r Retry) delay(attempt int) time.Duration {
	d := r.Base
	for i := 1; i < attempt && d < r.Max; i++ {
		d *= 2
	}
	d = min(d, r.Max)
	return d + time.Duration(rand.Int64N(int64(d)/5+1))
}
