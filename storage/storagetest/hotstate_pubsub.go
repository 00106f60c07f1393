package storagetest

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/madfam-org/janua/storage"
)

// inbox collects the messages a subscriber receives.
type inbox struct {
	mu   sync.Mutex
	msgs []string
	more chan struct{} // signalled on every message
}

func newInbox() *inbox { return &inbox{more: make(chan struct{}, 1)} }

func (b *inbox) add(m string) {
	b.mu.Lock()
	b.msgs = append(b.msgs, m)
	b.mu.Unlock()
	select {
	case b.more <- struct{}{}:
	default:
	}
}

func (b *inbox) got() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.msgs)
}

// wait fails the test unless the inbox receives exactly want (in any
// order) within 5 seconds.
func (b *inbox) wait(t *testing.T, want ...string) {
	t.Helper()
	want = slices.Sorted(slices.Values(want))
	timeout := time.After(5 * time.Second)
	for {
		got := slices.Sorted(slices.Values(b.got()))
		if len(got) >= len(want) {
			if !slices.Equal(got, want) {
				t.Fatalf("received %q, want %q", got, want)
			}
			return
		}
		select {
		case <-b.more:
		case <-timeout:
			t.Fatalf("received %q after 5s, want %q", got, want)
		}
	}
}

// subscribe subscribes b to channel and cancels at the end of the test.
func (b *inbox) subscribe(t *testing.T, ctx context.Context, s storage.HotState, channel string) func() {
	t.Helper()
	cancel, err := s.Subscribe(ctx, channel, b.add)
	if err != nil {
		t.Fatalf("Subscribe(%q): %v", channel, err)
	}
	t.Cleanup(cancel)
	return cancel
}

func publish(t *testing.T, s storage.HotState, channel string, messages ...string) {
	t.Helper()
	for _, m := range messages {
		if err := s.Publish(ctxFor(t), channel, m); err != nil {
			t.Fatalf("Publish(%q): %v", channel, err)
		}
	}
}

// quiet gives a message that should not arrive a moment to do so anyway.
const quiet = 50 * time.Millisecond

var pubSubTests = []hotStateTest{
	{"DeliversToEverySubscriber", func(t *testing.T, h HotStateHarness) {
		ctx := ctxFor(t)
		peer := h.Peer(t)
		a, b, c := newInbox(), newInbox(), newInbox()
		a.subscribe(t, ctx, h.State, "clients")
		b.subscribe(t, ctx, h.State, "clients")
		c.subscribe(t, ctx, peer, "clients")
		// Published right after Subscribe returned: must arrive.
		publish(t, h.State, "clients", "evict:1", "evict:2", "evict:3")
		for _, in := range []*inbox{a, b, c} {
			in.wait(t, "evict:1", "evict:2", "evict:3")
		}
	}},
	{"PeerPublishReachesThisInstance", func(t *testing.T, h HotStateHarness) {
		ctx := ctxFor(t)
		peer := h.Peer(t)
		a := newInbox()
		a.subscribe(t, ctx, h.State, "keys")
		publish(t, peer, "keys", "rotated")
		a.wait(t, "rotated")
	}},
	{"ChannelsAreSeparate", func(t *testing.T, h HotStateHarness) {
		ctx := ctxFor(t)
		a, b := newInbox(), newInbox()
		a.subscribe(t, ctx, h.State, "a")
		b.subscribe(t, ctx, h.State, "b")
		publish(t, h.State, "a", "for-a")
		publish(t, h.State, "b", "for-b")
		a.wait(t, "for-a")
		b.wait(t, "for-b")
	}},
	{"CancelStopsDelivery", func(t *testing.T, h HotStateHarness) {
		ctx := ctxFor(t)
		gone, stays := newInbox(), newInbox()
		cancel := gone.subscribe(t, ctx, h.State, "c")
		stays.subscribe(t, ctx, h.State, "c")
		publish(t, h.State, "c", "before")
		gone.wait(t, "before")
		stays.wait(t, "before")
		cancel()
		cancel() // idempotent
		publish(t, h.State, "c", "after")
		stays.wait(t, "before", "after")
		time.Sleep(quiet)
		if got := gone.got(); !slices.Equal(got, []string{"before"}) {
			t.Fatalf("cancelled subscriber received %q, want only %q", got, "before")
		}
	}},
	{"ContextEndStopsDelivery", func(t *testing.T, h HotStateHarness) {
		sctx, end := context.WithCancel(ctxFor(t))
		gone, stays := newInbox(), newInbox()
		gone.subscribe(t, sctx, h.State, "c")
		stays.subscribe(t, ctxFor(t), h.State, "c")
		end()
		// The subscription ends asynchronously after ctx: poll until a
		// message reaches only the survivor.
		for i := 0; ; i++ {
			before := len(gone.got())
			msg := "after-" + strconv.Itoa(i)
			publish(t, h.State, "c", msg)
			waitFor(t, stays, msg)
			time.Sleep(quiet)
			if len(gone.got()) == before {
				break
			}
			if i == 20 {
				t.Fatal("subscriber still receives 20 messages after its context ended")
			}
		}
	}},
	{"ResubscribeAfterCancel", func(t *testing.T, h HotStateHarness) {
		ctx := ctxFor(t)
		for round := range 3 {
			in := newInbox()
			cancel := in.subscribe(t, ctx, h.State, "again")
			msg := "round-" + strconv.Itoa(round)
			publish(t, h.State, "again", msg)
			in.wait(t, msg)
			cancel()
		}
	}},
	{"CancelFromCallback", func(t *testing.T, h HotStateHarness) {
		ctx := ctxFor(t)
		done := make(chan struct{})
		var cancel func()
		var once sync.Once
		ready := make(chan struct{})
		c, err := h.State.Subscribe(ctx, "self", func(string) {
			<-ready
			once.Do(func() {
				cancel() // must neither deadlock nor panic
				close(done)
			})
		})
		if err != nil {
			t.Fatalf("Subscribe: %v", err)
		}
		cancel = c
		close(ready)
		publish(t, h.State, "self", "one")
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("cancel called from the callback did not return")
		}
	}},
	{"SlowSubscriberIsToldOfLoss", func(t *testing.T, h HotStateHarness) {
		// A subscriber stuck in its callback falls behind by more than its
		// queue: the messages that did not fit are dropped, and once it is
		// free it receives storage.MessagesLost (a cache then drops all).
		ctx := ctxFor(t)
		release := make(chan struct{})
		got := make(chan string, 1024)
		var first sync.Once
		c, err := h.State.Subscribe(ctx, "slow", func(m string) {
			first.Do(func() { <-release })
			got <- m
		})
		if err != nil {
			t.Fatalf("Subscribe: %v", err)
		}
		defer c()
		for i := range 1000 { // well past the queue, whatever its size
			publish(t, h.State, "slow", strconv.Itoa(i))
		}
		time.Sleep(500 * time.Millisecond) // the last deliveries reach the full queue, even on a loaded machine
		close(release)
		deadline := time.After(10 * time.Second)
		for {
			select {
			case m := <-got:
				if m == storage.MessagesLost {
					return
				}
			case <-deadline:
				t.Fatal("a subscriber that lost messages was not told")
			}
		}
	}},
	{"PublishWithoutSubscribers", func(t *testing.T, h HotStateHarness) {
		publish(t, h.State, "nobody", "hello")
	}},
	{"SubscribeWithEndedContext", func(t *testing.T, h HotStateHarness) {
		ctx, cancel := context.WithCancel(ctxFor(t))
		cancel()
		if c, err := h.State.Subscribe(ctx, "late", func(string) {}); err == nil {
			c()
			t.Fatal("Subscribe with an ended context succeeded")
		}
	}},
}

// waitFor waits until in has received msg.
func waitFor(t *testing.T, in *inbox, msg string) {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for !slices.Contains(in.got(), msg) {
		select {
		case <-in.more:
		case <-timeout:
			t.Fatalf("%q not received after 5s", msg)
		}
	}
}
