package storage

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/rueidis"
)

// MarkUsed implements HotState.MarkUsed with SET NX PX: the server lets
// exactly one writer create the marker, and a refused SET leaves its expiry
// alone.
func (r *RedisHotState) MarkUsed(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	if err := r.check("mark used", key); err != nil {
		return false, err
	}
	ms, err := ttlMillis("mark used", ttl)
	if err != nil {
		return false, err
	}
	cmd := r.client.B().Set().Key(r.usedPrefix + key).Value("1").Nx().PxMilliseconds(ms).Build()
	err = r.client.Do(ctx, cmd).Error()
	switch {
	case err == nil:
		return true, nil
	case rueidis.IsRedisNil(err):
		return false, nil
	default:
		return false, fmt.Errorf("storage: redis hot state mark used: %w", err)
	}
}

// Put implements HotState.Put with SET PX, which replaces value and expiry.
func (r *RedisHotState) Put(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if err := r.check("put", key); err != nil {
		return err
	}
	ms, err := ttlMillis("put", ttl)
	if err != nil {
		return err
	}
	cmd := r.client.B().Set().Key(r.valuePrefix + key).Value(rueidis.BinaryString(value)).PxMilliseconds(ms).Build()
	if err := r.client.Do(ctx, cmd).Error(); err != nil {
		return fmt.Errorf("storage: redis hot state put: %w", err)
	}
	return nil
}

// Get implements HotState.Get.
func (r *RedisHotState) Get(ctx context.Context, key string) ([]byte, error) {
	if err := r.check("get", key); err != nil {
		return nil, err
	}
	return r.bytes("get", r.client.Do(ctx, r.client.B().Get().Key(r.valuePrefix+key).Build()))
}

// Take implements HotState.Take with GETDEL (Redis 6.2 or later).
func (r *RedisHotState) Take(ctx context.Context, key string) ([]byte, error) {
	if err := r.check("take", key); err != nil {
		return nil, err
	}
	return r.bytes("take", r.client.Do(ctx, r.client.B().Getdel().Key(r.valuePrefix+key).Build()))
}

// bytes turns the reply of GET or GETDEL into a value or ErrNotFound.
func (r *RedisHotState) bytes(op string, res rueidis.RedisResult) ([]byte, error) {
	v, err := res.AsBytes()
	switch {
	case err == nil:
		return v, nil
	case rueidis.IsRedisNil(err):
		return nil, fmt.Errorf("storage: redis hot state %s: %w", op, ErrNotFound)
	default:
		return nil, fmt.Errorf("storage: redis hot state %s: %w", op, err)
	}
}

// Delete implements HotState.Delete.
func (r *RedisHotState) Delete(ctx context.Context, key string) error {
	if err := r.check("delete", key); err != nil {
		return err
	}
	if err := r.client.Do(ctx, r.client.B().Del().Key(r.valuePrefix+key).Build()).Error(); err != nil {
		return fmt.Errorf("storage: redis hot state delete: %w", err)
	}
	return nil
}
