package storage

import (
	"context"
	"errors"
	"log/slog"
)

// Publish implements HotState.Publish: every subscriber of channel on this
// MemoryHotState gets message, unless it is too far behind.
func (m *MemoryHotState) Publish(_ context.Context, channel, message string) error {
	if channel == "" {
		return errors.New("storage: hot state publish: empty channel")
	}
	if m.closed.Load() {
		return errHotStateClosed
	}
	m.subMu.RLock()
	defer m.subMu.RUnlock()
	for s := range m.subs[channel] {
		if !s.deliver(message) {
			m.log.Warn("hot state: subscriber too slow, message dropped", slog.String("channel", channel))
		}
	}
	return nil
}

// Subscribe implements HotState.Subscribe. The subscription is live as soon
// as it is registered, before Subscribe returns.
func (m *MemoryHotState) Subscribe(ctx context.Context, channel string, fn func(string)) (func(), error) {
	if err := checkSubscribe(channel, fn); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s := newSubscriber(fn)
	m.subMu.Lock()
	if m.closed.Load() {
		m.subMu.Unlock()
		s.close()
		return nil, errHotStateClosed
	}
	set := m.subs[channel]
	if set == nil {
		set = make(map[*subscriber]struct{})
		m.subs[channel] = set
	}
	set[s] = struct{}{}
	m.subMu.Unlock()
	return subscription(ctx, s, func() { m.unsubscribe(channel, s) }), nil
}

// unsubscribe removes s from channel, and channel once nobody listens.
func (m *MemoryHotState) unsubscribe(channel string, s *subscriber) {
	m.subMu.Lock()
	defer m.subMu.Unlock()
	if set := m.subs[channel]; set != nil {
		delete(set, s)
		if len(set) == 0 {
			delete(m.subs, channel)
		}
	}
}
