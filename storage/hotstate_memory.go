package storage

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

var _ HotState = (*MemoryHotState)(nil)

// defaultSweepInterval is how often MemoryHotState removes expired entries
// when MemoryHotStateOptions.SweepInterval is zero.
const defaultSweepInterval = time.Minute

// MemoryHotStateOptions configures NewMemoryHotState.
type MemoryHotStateOptions struct {
	// Now is the clock every expiry and rate window is measured with;
	// time.Now when nil.
	Now func() time.Time
	// SweepInterval is how often, in real time, a background goroutine
	// removes expired entries; one minute when zero or negative. Expired
	// entries are also ignored (and dropped) whenever they are accessed.
	SweepInterval time.Duration
	// Logger receives warnings such as messages dropped for a slow
	// subscriber; nothing is logged when nil.
	Logger *slog.Logger
}

// MemoryHotState is the HotState of a single Janua instance: maps guarded by
// mutexes, one per kind of state, and in-process fan-out for Publish. Its
// memory stays bounded by the live entries: a background goroutine, stopped
// by Close, sweeps expired ones.
type MemoryHotState struct {
	now    func() time.Time
	log    *slog.Logger
	closed atomic.Bool
	once   sync.Once
	stop   chan struct{} // closed by Close
	swept  chan struct{} // closed when the sweeper has returned

	rateMu sync.Mutex
	rates  map[string]memoryRate

	usedMu sync.Mutex
	used   map[string]time.Time // marker → expiry

	valueMu sync.Mutex
	values  map[string]memoryValue

	subMu sync.RWMutex
	subs  map[string]map[*subscriber]struct{} // channel → subscribers
}

// memoryRate is a rate counter with the expiry Redis would give it: two
// windows after its last counted hit.
type memoryRate struct {
	rateCounter
	expires time.Time
}

// memoryValue is a value stored by Put.
type memoryValue struct {
	data    []byte
	expires time.Time
}

// NewMemoryHotState returns an empty MemoryHotState and starts its sweeper.
func NewMemoryHotState(opts MemoryHotStateOptions) *MemoryHotState {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.SweepInterval <= 0 {
		opts.SweepInterval = defaultSweepInterval
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	m := &MemoryHotState{
		now:    opts.Now,
		log:    opts.Logger,
		stop:   make(chan struct{}),
		swept:  make(chan struct{}),
		rates:  make(map[string]memoryRate),
		used:   make(map[string]time.Time),
		values: make(map[string]memoryValue),
		subs:   make(map[string]map[*subscriber]struct{}),
	}
	go m.sweepEvery(opts.SweepInterval)
	return m
}

// Allow implements HotState.Allow.
func (m *MemoryHotState) Allow(_ context.Context, key string, limit int, window time.Duration) (RateDecision, error) {
	w, err := checkRate(key, limit, window)
	if err != nil {
		return RateDecision{}, err
	}
	if m.closed.Load() {
		return RateDecision{}, errHotStateClosed
	}
	now := m.now().UnixMilli()
	m.rateMu.Lock()
	defer m.rateMu.Unlock()
	r, ok := m.rates[key]
	if ok && now >= r.expires.UnixMilli() {
		r = memoryRate{}
	}
	counter, d := r.hit(now, w, int64(limit))
	if d.Allowed {
		m.rates[key] = memoryRate{rateCounter: counter, expires: time.UnixMilli(now + 2*w)}
	}
	return d, nil
}

// ResetRate implements HotState.ResetRate.
func (m *MemoryHotState) ResetRate(_ context.Context, key string) error {
	if err := m.check("reset rate", key); err != nil {
		return err
	}
	m.rateMu.Lock()
	delete(m.rates, key)
	m.rateMu.Unlock()
	return nil
}

// MarkUsed implements HotState.MarkUsed.
func (m *MemoryHotState) MarkUsed(_ context.Context, key string, ttl time.Duration) (bool, error) {
	if err := m.check("mark used", key); err != nil {
		return false, err
	}
	ms, err := ttlMillis("mark used", ttl)
	if err != nil {
		return false, err
	}
	now := m.now()
	m.usedMu.Lock()
	defer m.usedMu.Unlock()
	if expires, ok := m.used[key]; ok && now.Before(expires) {
		return false, nil
	}
	m.used[key] = now.Add(time.Duration(ms) * time.Millisecond)
	return true, nil
}

// Ping implements HotState.Ping: memory always answers until Close.
func (m *MemoryHotState) Ping(context.Context) error {
	if m.closed.Load() {
		return errHotStateClosed
	}
	return nil
}

// Close stops the sweeper and every subscription. It is idempotent.
func (m *MemoryHotState) Close() error {
	m.once.Do(func() {
		m.closed.Store(true)
		close(m.stop)
		<-m.swept
		m.subMu.Lock()
		for _, set := range m.subs {
			for s := range set {
				s.close()
			}
		}
		clear(m.subs)
		m.subMu.Unlock()
	})
	return nil
}

// check validates key and refuses calls after Close.
func (m *MemoryHotState) check(op, key string) error {
	if err := checkKey(op, key); err != nil {
		return err
	}
	if m.closed.Load() {
		return errHotStateClosed
	}
	return nil
}
