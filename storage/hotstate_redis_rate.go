package storage

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// rateScript is rateCounter.hit in Lua, applied atomically to the hash
// KEYS[1] (fields w, b, c, p: window, current bucket index, current and
// previous counts). ARGV: now in unix milliseconds (from the injected clock,
// not the server's TIME, so every instance and every test clock measure
// windows alike), window in milliseconds, limit. It returns {allowed (0 or
// 1), remaining, retry after in milliseconds}. The hash expires two windows
// after its last counted hit, when neither of its buckets weighs any more,
// and never sooner than 10 s: the expiry runs on Redis's own clock, while
// the buckets are reckoned by ARGV's, which decides alone whether a bucket
// is stale; a window of milliseconds would otherwise lose its hash to a
// scheduling pause between two hits.
//
// Numbers are Lua doubles; checkRate keeps every product below 2^53, where
// they are exact integers, so the two implementations agree to the unit.
const rateScript = `
local now = tonumber(ARGV[1])
local w = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local n = math.floor(now / w)
local e = now - n * w
local s = redis.call('HMGET', KEYS[1], 'w', 'b', 'c', 'p')
local b = tonumber(s[2])
local c = tonumber(s[3]) or 0
local p = tonumber(s[4]) or 0
if tonumber(s[1]) ~= w or b == nil or b < n - 1 then
  b, c, p = n, 0, 0
elseif b == n - 1 then
  b, c, p = n, 0, c
elseif b > n then
  e = 0
end
local used = p * (w - e) + c * w
local capacity = limit * w
if used + w <= capacity then
  c = c + 1
  redis.call('HSET', KEYS[1], 'w', w, 'b', b, 'c', c, 'p', p)
  redis.call('PEXPIRE', KEYS[1], math.max(2 * w, 10000))
  return {1, math.floor((capacity - used - w) / w), 0}
end
local t = -1
if c + 1 <= limit and p > 0 then
  t = math.ceil((p * (w - e) - (limit - c - 1) * w) / p)
  if e + t >= w then
    t = -1
  end
end
if t < 0 then
  local e2 = 0
  if c > 0 then
    e2 = math.min(math.max(math.ceil(w * (c - limit + 1) / c), 0), w)
  end
  t = w - e + e2
end
return {0, 0, t}
`

// Allow implements HotState.Allow with rateScript.
func (r *RedisHotState) Allow(ctx context.Context, key string, limit int, window time.Duration) (RateDecision, error) {
	w, err := checkRate(key, limit, window)
	if err != nil {
		return RateDecision{}, err
	}
	if r.closed.Load() {
		return RateDecision{}, errHotStateClosed
	}
	now := r.now().UnixMilli()
	res := r.rate.Exec(ctx, r.client,
		[]string{r.ratePrefix + key},
		[]string{strconv.FormatInt(now, 10), strconv.FormatInt(w, 10), strconv.Itoa(limit)})
	reply, err := res.ToArray()
	if err != nil {
		return RateDecision{}, fmt.Errorf("storage: redis hot state allow: %w", err)
	}
	if len(reply) != 3 {
		return RateDecision{}, fmt.Errorf("storage: redis hot state allow: script returned %d values, want 3", len(reply))
	}
	var v [3]int64
	for i := range reply {
		if v[i], err = reply[i].AsInt64(); err != nil {
			return RateDecision{}, fmt.Errorf("storage: redis hot state allow: %w", err)
		}
	}
	return RateDecision{Allowed: v[0] == 1, Remaining: int(v[1]), RetryAfter: time.Duration(v[2]) * time.Millisecond}, nil
}

// ResetRate implements HotState.ResetRate.
func (r *RedisHotState) ResetRate(ctx context.Context, key string) error {
	if err := r.check("reset rate", key); err != nil {
		return err
	}
	if err := r.client.Do(ctx, r.client.B().Del().Key(r.ratePrefix+key).Build()).Error(); err != nil {
		return fmt.Errorf("storage: redis hot state reset rate: %w", err)
	}
	return nil
}
