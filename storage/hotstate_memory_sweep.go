package storage

import "time"

// sweepEvery calls Sweep every interval (real time) until Close.
func (m *MemoryHotState) sweepEvery(interval time.Duration) {
	defer close(m.swept)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-tick.C:
			m.Sweep()
		}
	}
}

// Sweep removes every entry that has expired by the injected clock and
// returns how many it removed. The background sweeper calls it; tests may
// call it directly.
func (m *MemoryHotState) Sweep() int {
	now := m.now()
	removed := 0

	m.rateMu.Lock()
	for k, r := range m.rates {
		if !now.Before(r.expires) {
			delete(m.rates, k)
			removed++
		}
	}
	m.rateMu.Unlock()

	m.usedMu.Lock()
	for k, expires := range m.used {
		if !now.Before(expires) {
			delete(m.used, k)
			removed++
		}
	}
	m.usedMu.Unlock()

	m.valueMu.Lock()
	for k, v := range m.values {
		if !now.Before(v.expires) {
			delete(m.values, k)
			removed++
		}
	}
	m.valueMu.Unlock()
	return removed
}
