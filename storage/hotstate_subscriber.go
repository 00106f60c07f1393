package storage

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// subscriberQueue is how many messages a subscriber may fall behind before
// further messages to it are dropped.
const subscriberQueue = 256

// MessagesLost is what a subscriber's fn receives in place of messages it
// lost: its queue was full (it fell behind), or the connection that carried
// the channel broke and was made again (Redis). No publisher sends it (it
// starts with a NUL). A subscriber that keeps a cache should drop all of
// it: the lost messages may have been about anything.
const MessagesLost = "\x00lost"

// subscriber is one HotState.Subscribe registration, shared by the memory
// and Redis implementations. Messages are queued without blocking the
// publisher and handed to fn, one at a time, on the subscriber's own
// goroutine.
type subscriber struct {
	fn    func(string)
	queue chan string
	stop  chan struct{}
	once  sync.Once
	// lost is set when messages were lost; fn then gets MessagesLost.
	lost atomic.Bool
	wake chan struct{}
}

// newSubscriber starts the goroutine that calls fn.
func newSubscriber(fn func(string)) *subscriber {
	s := &subscriber{fn: fn, queue: make(chan string, subscriberQueue), stop: make(chan struct{}), wake: make(chan struct{}, 1)}
	go s.run()
	return s
}

func (s *subscriber) run() {
	for {
		select {
		case <-s.stop:
			return
		case m := <-s.queue:
			select {
			case <-s.stop:
				return // cancelled while the message waited
			default:
			}
			s.fn(m)
		case <-s.wake:
		}
		if s.lost.CompareAndSwap(true, false) {
			s.fn(MessagesLost)
		}
	}
}

// deliver queues message for fn and reports false when the queue is full
// and the message was dropped (fn is then told: MessagesLost).
func (s *subscriber) deliver(message string) bool {
	select {
	case s.queue <- message:
		return true
	default:
		s.markLost()
		return false
	}
}

// markLost tells fn, as soon as it is free, that messages were lost.
func (s *subscriber) markLost() {
	s.lost.Store(true)
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// close stops the goroutine; queued messages are discarded. A call to fn in
// progress finishes on its own.
func (s *subscriber) close() {
	s.once.Do(func() { close(s.stop) })
}

// subscription builds the cancel function Subscribe returns: it runs detach
// (which unregisters the subscriber so no later message reaches it) and stops
// the subscriber, once, when called or when ctx ends.
func subscription(ctx context.Context, s *subscriber, detach func()) func() {
	var once sync.Once
	release := func() {
		once.Do(func() {
			detach()
			s.close()
		})
	}
	stopWatching := context.AfterFunc(ctx, release)
	return func() {
		stopWatching()
		release()
	}
}

// SubscribeFor subscribes fn to channel on hot for as long as ctx lives;
// only the subscribing itself is bounded, by within. hot ends a
// subscription when the context it was made with ends, so that context
// must not be a short one: the returned stop ends it sooner.
func SubscribeFor(ctx context.Context, hot HotState, channel string, fn func(string), within time.Duration) (stop func(), err error) {
	sctx, cancel := context.WithCancel(ctx)
	timer := time.AfterFunc(within, cancel)
	unsubscribe, err := hot.Subscribe(sctx, channel, fn)
	if !timer.Stop() && err == nil {
		unsubscribe() // live, but cut by the timeout as it returned
		err = context.DeadlineExceeded
	}
	if err != nil {
		cancel()
		return nil, err
	}
	return func() { unsubscribe(); cancel() }, nil
}
