package storagetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/madfam-org/janua/storage"
)

// invalidCalls are calls the contract rejects with an error.
var invalidCalls = []struct {
	name string
	call func(ctx context.Context, s storage.HotState) error
}{
	{"AllowEmptyKey", func(ctx context.Context, s storage.HotState) error {
		_, err := s.Allow(ctx, "", 1, time.Second)
		return err
	}},
	{"AllowZeroLimit", func(ctx context.Context, s storage.HotState) error {
		_, err := s.Allow(ctx, "k", 0, time.Second)
		return err
	}},
	{"AllowNegativeLimit", func(ctx context.Context, s storage.HotState) error {
		_, err := s.Allow(ctx, "k", -1, time.Second)
		return err
	}},
	{"AllowZeroWindow", func(ctx context.Context, s storage.HotState) error {
		_, err := s.Allow(ctx, "k", 1, 0)
		return err
	}},
	{"AllowNegativeWindow", func(ctx context.Context, s storage.HotState) error {
		_, err := s.Allow(ctx, "k", 1, -time.Second)
		return err
	}},
	{"AllowSubMillisecondWindow", func(ctx context.Context, s storage.HotState) error {
		_, err := s.Allow(ctx, "k", 1, time.Microsecond)
		return err
	}},
	{"AllowHugeLimitTimesWindow", func(ctx context.Context, s storage.HotState) error {
		_, err := s.Allow(ctx, "k", 1<<30, 24*time.Hour)
		return err
	}},
	{"ResetRateEmptyKey", func(ctx context.Context, s storage.HotState) error {
		return s.ResetRate(ctx, "")
	}},
	{"MarkUsedEmptyKey", func(ctx context.Context, s storage.HotState) error {
		_, err := s.MarkUsed(ctx, "", time.Minute)
		return err
	}},
	{"MarkUsedZeroTTL", func(ctx context.Context, s storage.HotState) error {
		_, err := s.MarkUsed(ctx, "k", 0)
		return err
	}},
	{"MarkUsedNegativeTTL", func(ctx context.Context, s storage.HotState) error {
		_, err := s.MarkUsed(ctx, "k", -time.Minute)
		return err
	}},
	{"PutEmptyKey", func(ctx context.Context, s storage.HotState) error {
		return s.Put(ctx, "", []byte("v"), time.Minute)
	}},
	{"PutZeroTTL", func(ctx context.Context, s storage.HotState) error {
		return s.Put(ctx, "k", []byte("v"), 0)
	}},
	{"GetEmptyKey", func(ctx context.Context, s storage.HotState) error {
		_, err := s.Get(ctx, "")
		return err
	}},
	{"TakeEmptyKey", func(ctx context.Context, s storage.HotState) error {
		_, err := s.Take(ctx, "")
		return err
	}},
	{"DeleteEmptyKey", func(ctx context.Context, s storage.HotState) error {
		return s.Delete(ctx, "")
	}},
	{"PublishEmptyChannel", func(ctx context.Context, s storage.HotState) error {
		return s.Publish(ctx, "", "m")
	}},
	{"SubscribeEmptyChannel", func(ctx context.Context, s storage.HotState) error {
		_, err := s.Subscribe(ctx, "", func(string) {})
		return err
	}},
	{"SubscribeNilFunc", func(ctx context.Context, s storage.HotState) error {
		_, err := s.Subscribe(ctx, "c", nil)
		return err
	}},
}

// callSafely runs call, turning a panic into an error that says so.
func callSafely(ctx context.Context, s storage.HotState, call func(context.Context, storage.HotState) error) (err error, panicked bool) {
	defer func() {
		if r := recover(); r != nil {
			err, panicked = fmt.Errorf("panic: %v", r), true
		}
	}()
	return call(ctx, s), false
}

var lifecycleTests = []hotStateTest{
	{"Ping", func(t *testing.T, h HotStateHarness) {
		if err := h.State.Ping(ctxFor(t)); err != nil {
			t.Fatalf("Ping: %v", err)
		}
	}},
	{"InvalidArguments", func(t *testing.T, h HotStateHarness) {
		ctx := ctxFor(t)
		for _, c := range invalidCalls {
			err, panicked := callSafely(ctx, h.State, c.call)
			if panicked {
				t.Errorf("%s: %v", c.name, err)
			} else if err == nil {
				t.Errorf("%s: no error", c.name)
			}
		}
		// The store is still usable afterwards.
		mustAllow(t, h.State, "k", 1, true)
	}},
	{"Close", func(t *testing.T, h HotStateHarness) {
		ctx := ctxFor(t)
		in := newInbox()
		in.subscribe(t, ctx, h.State, "c")
		if err := h.State.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if err := h.State.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		if err := h.State.Ping(ctx); err == nil {
			t.Error("Ping after Close succeeded")
		}
		after := []struct {
			name string
			call func(context.Context, storage.HotState) error
		}{
			{"Allow", func(ctx context.Context, s storage.HotState) error {
				_, err := s.Allow(ctx, "k", 1, time.Second)
				return err
			}},
			{"MarkUsed", func(ctx context.Context, s storage.HotState) error {
				_, err := s.MarkUsed(ctx, "k", time.Minute)
				return err
			}},
			{"Put", func(ctx context.Context, s storage.HotState) error { return s.Put(ctx, "k", nil, time.Minute) }},
			{"Get", func(ctx context.Context, s storage.HotState) error {
				_, err := s.Get(ctx, "k")
				return err
			}},
			{"Publish", func(ctx context.Context, s storage.HotState) error { return s.Publish(ctx, "c", "m") }},
			{"Subscribe", func(ctx context.Context, s storage.HotState) error {
				_, err := s.Subscribe(ctx, "c", func(string) {})
				return err
			}},
		}
		for _, c := range after {
			if err, panicked := callSafely(ctx, h.State, c.call); err == nil || panicked {
				t.Errorf("%s after Close: err = %v, want an error and no panic", c.name, err)
			}
		}
	}},
}
