package storage

import (
	"errors"
	"fmt"
	"time"
)

// errHotStateClosed is returned by every HotState method called after Close.
var errHotStateClosed = errors.New("storage: hot state is closed")

// maxRateProduct bounds limit·window (in milliseconds) so that the sliding
// window arithmetic stays exact in int64 and in the float64 numbers of Redis
// Lua scripts (integers are exact up to 2^53; two buckets sum to at most
// twice this).
const maxRateProduct = 1 << 52

// checkKey rejects an empty key. op names the method in the error; the key
// itself never appears in errors because callers build keys from secrets.
func checkKey(op, key string) error {
	if key == "" {
		return fmt.Errorf("storage: hot state %s: empty key", op)
	}
	return nil
}

// checkRate validates the arguments of Allow and returns the window in whole
// milliseconds.
func checkRate(key string, limit int, window time.Duration) (int64, error) {
	if err := checkKey("allow", key); err != nil {
		return 0, err
	}
	if limit < 1 {
		return 0, fmt.Errorf("storage: hot state allow: limit %d is below 1", limit)
	}
	if window < time.Millisecond {
		return 0, fmt.Errorf("storage: hot state allow: window %v is shorter than 1ms", window)
	}
	ms := window.Milliseconds()
	if int64(limit) > maxRateProduct/ms {
		return 0, fmt.Errorf("storage: hot state allow: limit %d × window %v is too large", limit, window)
	}
	return ms, nil
}

// ttlMillis validates a ttl and rounds it up to whole milliseconds, the
// resolution Redis expires keys at.
func ttlMillis(op string, ttl time.Duration) (int64, error) {
	if ttl <= 0 {
		return 0, fmt.Errorf("storage: hot state %s: ttl %v is not positive", op, ttl)
	}
	return int64((ttl + time.Millisecond - 1) / time.Millisecond), nil
}

// checkSubscribe validates the arguments of Subscribe.
func checkSubscribe(channel string, fn func(string)) error {
	if channel == "" {
		return errors.New("storage: hot state subscribe: empty channel")
	}
	if fn == nil {
		return errors.New("storage: hot state subscribe: nil fn")
	}
	return nil
}
