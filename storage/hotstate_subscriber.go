package storage

import (
	"context"
	"sync"
)

// subscriberQueue is how many messages a subscriber may fall behind before
// further messages to it are dropped.
const subscriberQueue = 256

// subscriber is one HotState.Subscribe registration, shared by the memory
// and Redis implementations. Messages are queued without blocking the
// publisher and handed to fn, one at a time, on the subscriber's own
// goroutine.
type subscriber struct {
	fn    func(string)
	queue chan string
	stop  chan struct{}
	once  sync.Once
}

// newSubscriber starts the goroutine that calls fn.
func newSubscriber(fn func(string)) *subscriber {
	s := &subscriber{fn: fn, queue: make(chan string, subscriberQueue), stop: make(chan struct{})}
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
		}
	}
}

// deliver queues message for fn and reports false when the queue is full
// and the message was dropped.
func (s *subscriber) deliver(message string) bool {
	select {
	case s.queue <- message:
		return true
	default:
		return false
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
