package storage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/rueidis"
)

// redisResubscribeDelay is the pause before subscribing again after a
// subscription ended without being cancelled (rueidis already retries lost
// connections on its own; this covers what it gives up on).
const redisResubscribeDelay = time.Second

// redisUnsubscribeTimeout bounds the UNSUBSCRIBE sent when the last local
// subscriber of a channel leaves.
const redisUnsubscribeTimeout = 5 * time.Second

// redisChannel is the one server-side subscription a RedisHotState holds
// per channel, however many local subscribers share it. Local subscribers
// get messages by in-process fan-out.
type redisChannel struct {
	name string                   // prefixed channel name
	subs map[*subscriber]struct{} // guarded by RedisHotState.subMu
	stop context.CancelFunc       // ends run
	// stopped is set, under subMu, when the last subscriber left; the
	// channel stays in RedisHotState.channels until run has unsubscribed,
	// so that a new subscription to the same name can wait for it.
	stopped bool

	live     chan struct{} // closed once the server confirmed SUBSCRIBE
	liveOnce sync.Once
	// subscribed is set by the first confirmed SUBSCRIBE; a later one is
	// a resubscription after a broken connection.
	subscribed atomic.Bool
	dead       chan struct{} // closed when run has returned
	err        error         // why run returned; read after dead is closed
}

// Publish implements HotState.Publish with PUBLISH.
func (r *RedisHotState) Publish(ctx context.Context, channel, message string) error {
	if channel == "" {
		return errors.New("storage: hot state publish: empty channel")
	}
	if r.closed.Load() {
		return errHotStateClosed
	}
	cmd := r.client.B().Publish().Channel(r.chanPrefix + channel).Message(message).Build()
	if err := r.client.Do(ctx, cmd).Error(); err != nil {
		return fmt.Errorf("storage: redis hot state publish: %w", err)
	}
	return nil
}

// Subscribe implements HotState.Subscribe. The first local subscriber of a
// channel starts its server-side subscription; Subscribe returns once the
// server has confirmed it (rueidis.WithOnSubscriptionHook), so a message
// published afterwards, by any instance, is delivered.
func (r *RedisHotState) Subscribe(ctx context.Context, channel string, fn func(string)) (func(), error) {
	if err := checkSubscribe(channel, fn); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	name := r.chanPrefix + channel
	s := newSubscriber(fn)
	r.subMu.Lock()
	if r.closed.Load() {
		r.subMu.Unlock()
		s.close()
		return nil, errHotStateClosed
	}
	c := r.channels[name]
	if c == nil || c.stopped {
		c = r.startChannel(name)
	}
	c.subs[s] = struct{}{}
	r.subMu.Unlock()

	cancel := subscription(ctx, s, func() { r.unsubscribe(c, s) })
	select {
	case <-c.live:
		return cancel, nil
	case <-c.dead:
		cancel()
		return nil, fmt.Errorf("storage: redis hot state subscribe: %w", c.err)
	case <-ctx.Done():
		cancel()
		return nil, ctx.Err()
	}
}

// startChannel registers a subscription to name and starts its goroutine.
// The caller holds subMu.
func (r *RedisHotState) startChannel(name string) *redisChannel {
	ctx, stop := context.WithCancel(context.Background())
	c := &redisChannel{
		name: name,
		subs: make(map[*subscriber]struct{}),
		stop: stop,
		live: make(chan struct{}),
		dead: make(chan struct{}),
	}
	// A previous subscription to name may still be unsubscribing (it is
	// then stopped); its UNSUBSCRIBE would end ours too, so ours waits.
	prev := r.channels[name]
	r.channels[name] = c
	r.running.Add(1)
	go func() {
		defer r.running.Done()
		defer close(c.dead)
		if prev != nil {
			<-prev.dead
		}
		c.err = r.receive(ctx, c)
		r.subMu.Lock()
		if r.channels[name] == c {
			delete(r.channels, name)
		}
		r.subMu.Unlock()
	}()
	return c
}

// unsubscribe detaches s from c and ends c when s was its last subscriber.
func (r *RedisHotState) unsubscribe(c *redisChannel, s *subscriber) {
	r.subMu.Lock()
	defer r.subMu.Unlock()
	delete(c.subs, s)
	if len(c.subs) == 0 && !c.stopped {
		c.stopped = true
		c.stop()
	}
}

// receive holds the server-side subscription of c until ctx ends, then
// unsubscribes the connection it used. It returns early, with the reason,
// only when the server refuses the first SUBSCRIBE.
func (r *RedisHotState) receive(ctx context.Context, c *redisChannel) error {
	hooked := rueidis.WithOnSubscriptionHook(ctx, func(s rueidis.PubSubSubscription) {
		// Called again after every reconnection; only the first counts
		// as going live. A later one follows a broken connection: what
		// was published meanwhile is lost, and the subscribers are told.
		if s.Kind == "subscribe" && s.Channel == c.name {
			if c.subscribed.Swap(true) {
				r.lost(c)
			}
			c.liveOnce.Do(func() { close(c.live) })
		}
	})
	hooked = rueidis.WithOnReceiveReturnHook(hooked, func(err error, cc rueidis.CommandClient) error {
		if ctx.Err() != nil {
			// Leaving for good: drop the server side of the subscription,
			// which rueidis keeps on the shared connection otherwise.
			uctx, cancel := context.WithTimeout(context.Background(), redisUnsubscribeTimeout)
			defer cancel()
			_ = cc.Do(uctx, cc.B().Unsubscribe().Channel(c.name).Build()).Error()
		}
		return err
	})
	deliver := func(m rueidis.PubSubMessage) { r.fanOut(c, m.Message) }
	for {
		err := r.client.Receive(hooked, r.client.B().Subscribe().Channel(c.name).Build(), deliver)
		if ctx.Err() != nil {
			if r.closed.Load() {
				return errHotStateClosed
			}
			return ctx.Err()
		}
		select {
		case <-c.live:
		default:
			if err == nil {
				err = errors.New("subscription ended before it was confirmed")
			}
			return err
		}
		r.log.Warn("hot state: redis subscription ended, subscribing again",
			slog.String("channel", c.name), slog.Any("error", err))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(redisResubscribeDelay):
		}
	}
}

// lost tells every local subscriber of c that messages were lost.
func (r *RedisHotState) lost(c *redisChannel) {
	r.subMu.RLock()
	defer r.subMu.RUnlock()
	for s := range c.subs {
		s.markLost()
	}
}

// fanOut hands message to every local subscriber of c without blocking the
// connection that received it.
func (r *RedisHotState) fanOut(c *redisChannel, message string) {
	r.subMu.RLock()
	defer r.subMu.RUnlock()
	for s := range c.subs {
		if !s.deliver(message) {
			r.log.Warn("hot state: subscriber too slow, message dropped", slog.String("channel", c.name))
		}
	}
}
