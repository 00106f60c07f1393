package oidc

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/ory/fosite"

	"github.com/madfam-org/janua/storage"
)

// Guessing client secrets, codes or refresh tokens at the token endpoint
// shows as failed requests from one address: after FailureLimit failed
// requests in FailureWindow the address is refused with 429 and
// Retry-After until the window lets it in again (RFC 6585 §4; RFC 9700
// §4.18 asks for brute-force protection). Only failures count, so a busy
// but honest client is never slowed.
//
// Every request to those endpoints asks whether its address is blocked, so
// the answer comes from memory: each instance keeps the blocked addresses
// it has heard of (blockList), and the instance that blocks one tells the
// others through the hot state's broadcast. The failures themselves are
// counted in the hot state, shared: an instance that missed a broadcast
// (started since, or a lost message) lets one more request through, and if
// that one fails too the count, still past the limit, blocks the address
// again and broadcasts it again.
const (
	blocksChannel = "oidc.blocks"
	failurePrefix = "oidc-fail:"
)

// blockList is the addresses blocked until a time, on this instance.
type blockList struct {
	mu     sync.RWMutex
	until  map[string]time.Time
	pruned time.Time // the last sweep of expired blocks
}

// blockListPrune is the size past which a block drops the expired ones.
const blockListPrune = 1024

func newBlockList() *blockList { return &blockList{until: map[string]time.Time{}} }

// wait returns how long ip stays blocked (zero or less: not blocked).
func (b *blockList) wait(ip string, now time.Time) time.Duration {
	b.mu.RLock()
	u, ok := b.until[ip]
	b.mu.RUnlock()
	if !ok {
		return 0
	}
	return u.Sub(now)
}

// add blocks ip until until (a later block of it wins).
func (b *blockList) add(ip string, until, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.until) >= blockListPrune && now.Sub(b.pruned) >= time.Second {
		b.pruned = now // at most a sweep a second, however many addresses
		for k, u := range b.until {
			if !u.After(now) {
				delete(b.until, k)
			}
		}
	}
	if u, ok := b.until[ip]; !ok || until.After(u) {
		b.until[ip] = until
	}
}

// receive applies a broadcast "<milliseconds> <address>": blocked for
// that long from now (a duration, so that the instances' clocks need not
// agree).
func (b *blockList) receive(message string) {
	n, ip, ok := strings.Cut(message, " ")
	if !ok {
		return
	}
	ms, err := strconv.ParseInt(n, 10, 64)
	if err != nil || ms <= 0 {
		return
	}
	now := time.Now()
	b.add(ip, now.Add(time.Duration(ms)*time.Millisecond), now)
}

// watch subscribes to blocks broadcast by every instance until ctx ends.
func (b *blockList) watch(ctx context.Context, hot storage.HotState, log *slog.Logger) {
	stop, err := subscribe(ctx, hot, blocksChannel, b.receive)
	if err != nil {
		log.WarnContext(ctx, "token endpoint blocks of other instances unavailable; each instance blocks on its own count", "err", err)
		return
	}
	go func() {
		<-ctx.Done()
		stop()
	}()
}

// countsAsGuess reports whether a refusal looks like guessing.
func countsAsGuess(err error) bool {
	switch fosite.ErrorToRFC6749Error(err).ErrorField {
	case "invalid_client", "invalid_grant", "unauthorized_client":
		return true
	}
	return false
}

// blocked answers 429 when the client's address is blocked, and reports it.
func (p *Provider) blocked(c echo.Context) bool {
	wait := p.blocks.wait(c.RealIP(), time.Now())
	if wait <= 0 {
		return false
	}
	h := c.Response().Header()
	h.Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
	h.Set("Content-Type", "application/json;charset=UTF-8")
	c.Response().WriteHeader(http.StatusTooManyRequests)
	_, _ = c.Response().Write([]byte(`{"error":"slow_down","error_description":"Too many failed requests from this address; retry later."}`))
	return true
}

// failed counts a failed request from the client's address and blocks the
// address once it passes the limit.
func (p *Provider) failed(ctx context.Context, ip string) {
	if p.opts.FailureLimit <= 0 {
		return
	}
	d, err := p.hot.Allow(ctx, failurePrefix+ip, p.opts.FailureLimit, p.opts.FailureWindow)
	if err != nil || d.Allowed {
		return
	}
	wait := max(d.RetryAfter, time.Second)
	now := time.Now()
	until := now.Add(wait)
	p.blocks.add(ip, until, now)
	p.opts.Logger.WarnContext(ctx, "address blocked at the token endpoint after repeated failures", "ip", ip, "for", wait.Round(time.Second))
	// Not the request's context: a client hanging up must not cancel it.
	if err := p.hot.Publish(context.WithoutCancel(ctx), blocksChannel, strconv.FormatInt(wait.Milliseconds(), 10)+" "+ip); err != nil {
		p.opts.Logger.WarnContext(ctx, "address block not broadcast to other instances", "ip", ip, "err", err)
	}
}
