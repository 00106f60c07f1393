package storage

import (
	"bytes"
	"context"
	"fmt"
	"time"
)

// Put implements HotState.Put. The value is copied.
func (m *MemoryHotState) Put(_ context.Context, key string, value []byte, ttl time.Duration) error {
	if err := m.check("put", key); err != nil {
		return err
	}
	ms, err := ttlMillis("put", ttl)
	if err != nil {
		return err
	}
	v := memoryValue{data: bytes.Clone(value), expires: m.now().Add(time.Duration(ms) * time.Millisecond)}
	if v.data == nil {
		v.data = []byte{}
	}
	m.valueMu.Lock()
	m.values[key] = v
	m.valueMu.Unlock()
	return nil
}

// Get implements HotState.Get. The caller owns the returned slice.
func (m *MemoryHotState) Get(_ context.Context, key string) ([]byte, error) {
	if err := m.check("get", key); err != nil {
		return nil, err
	}
	now := m.now()
	m.valueMu.Lock()
	defer m.valueMu.Unlock()
	v, ok := m.values[key]
	if !ok || !now.Before(v.expires) {
		return nil, fmt.Errorf("storage: hot state get: %w", ErrNotFound)
	}
	return bytes.Clone(v.data), nil
}

// Take implements HotState.Take.
func (m *MemoryHotState) Take(_ context.Context, key string) ([]byte, error) {
	if err := m.check("take", key); err != nil {
		return nil, err
	}
	now := m.now()
	m.valueMu.Lock()
	defer m.valueMu.Unlock()
	v, ok := m.values[key]
	if !ok || !now.Before(v.expires) {
		return nil, fmt.Errorf("storage: hot state take: %w", ErrNotFound)
	}
	delete(m.values, key)
	return v.data, nil // no longer reachable from the map: no copy needed
}

// Delete implements HotState.Delete.
func (m *MemoryHotState) Delete(_ context.Context, key string) error {
	if err := m.check("delete", key); err != nil {
		return err
	}
	m.valueMu.Lock()
	delete(m.values, key)
	m.valueMu.Unlock()
	return nil
}
