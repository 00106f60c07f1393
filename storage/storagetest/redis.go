package storagetest

import (
	"fmt"
	"net"
	"os"
	"testing"
	"time"
)

// RedisAddr returns the host:port of the Redis server tests may use, from
// JANUA_TEST_REDIS_ADDR. When the variable is unset or nothing answers there,
// the test is skipped, except under CI=true, where a missing server fails
// the test: CI must never pass by skipping.
func RedisAddr(t testing.TB) string {
	t.Helper()
	addr := os.Getenv("JANUA_TEST_REDIS_ADDR")
	missing := func(format string, args ...any) {
		t.Helper()
		why := fmt.Sprintf(format, args...)
		missingServer(t, why)
		t.Skip(why)
	}
	if addr == "" {
		missing("JANUA_TEST_REDIS_ADDR is not set")
		return ""
	}
	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		missing("redis at JANUA_TEST_REDIS_ADDR=%s is unreachable: %v", addr, err)
		return ""
	}
	_ = conn.Close()
	return addr
}
