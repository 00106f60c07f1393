package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"slices"
	"sync"
	"time"
)

// step is one operation of a worker; it returns the HTTP requests it sent.
type step func(ctx context.Context) (requests int, err error)

// maxErrorKinds bounds the distinct error messages a scenario keeps.
const maxErrorKinds = 20

// tally is one worker's record of the measured window.
type tally struct {
	lat      []time.Duration
	ok, errs uint64
	reqs     uint64
	errMsgs  map[string]uint64
}

func (t *tally) fail(err error) {
	t.errs++
	if t.errMsgs == nil {
		t.errMsgs = map[string]uint64{}
	}
	msg := err.Error()
	if len(msg) > 200 {
		msg = msg[:200] + "…"
	}
	if _, ok := t.errMsgs[msg]; !ok && len(t.errMsgs) >= maxErrorKinds {
		msg = "(other errors)"
	}
	t.errMsgs[msg]++
}

func (t *tally) merge(o *tally) {
	t.lat = append(t.lat, o.lat...)
	t.ok += o.ok
	t.errs += o.errs
	t.reqs += o.reqs
	for k, v := range o.errMsgs {
		if t.errMsgs == nil {
			t.errMsgs = map[string]uint64{}
		}
		t.errMsgs[k] += v
	}
}

// runScenario sets up one worker per --concurrency, warms up, measures for
// --duration, and reports. A set-up failure is reported, not measured.
func runScenario(ctx context.Context, e *env, sc *scenario, log io.Writer) Result {
	res := runScenarioWith(ctx, e, sc, e.opts, log)
	if d := e.opts.halfRate; d > 0 && res.SetupError == "" && res.OpsPerSec > 0 && ctx.Err() == nil {
		// The latency target: p99 at half the maximum rate, open
		// loop (latency counted from each operation's planned start).
		half := *e.opts
		half.rate, half.duration, half.warmup, half.profileDir = res.OpsPerSec/2, d, time.Second, ""
		h := runScenarioWith(ctx, e, sc, &half, log)
		res.HalfRate = &HalfRate{Rate: round(half.rate, 0), OpsPerSec: round(h.OpsPerSec, 1), Errors: h.Errors, LatencyMS: h.LatencyMS}
		res.Errors += h.Errors
		for k, v := range h.ErrorSamples {
			if res.ErrorSamples == nil {
				res.ErrorSamples = map[string]uint64{}
			}
			res.ErrorSamples[k] += v
		}
	}
	return res
}

// runScenarioWith runs sc with options o (the run's, or the half-rate
// pass's).
func runScenarioWith(ctx context.Context, e *env, sc *scenario, o *options, log io.Writer) Result {
	res := Result{Scenario: sc.name, Concurrency: o.concurrency, Rate: o.rate}
	steps := make([]step, o.concurrency)
	errs := make([]error, o.concurrency)
	var wg sync.WaitGroup
	for i := range steps {
		wg.Go(func() { steps[i], errs[i] = sc.setup(ctx, e, i) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			res.SetupError = err.Error()
			return res
		}
	}
	if o.rate > 0 {
		fmt.Fprintf(log, "janua-load: %s: %d workers, open loop at %.0f ops/s, %s warm-up, %s measured\n", sc.name, o.concurrency, o.rate, o.warmup, o.duration)
	} else {
		fmt.Fprintf(log, "janua-load: %s: %d workers, %s warm-up, %s measured\n", sc.name, o.concurrency, o.warmup, o.duration)
	}

	start := time.Now()
	measureFrom := start.Add(o.warmup)
	end := measureFrom.Add(o.duration)
	var before serverSample
	var loadBefore loadSample
	var beforeErr error
	var peak *peakSampler
	var profile *profileTake
	// The server's counters at the start of the measured window: at once
	// without a warm-up, else when it ends (operations in flight then blur
	// the edge by at most --concurrency operations).
	beforeTaken := make(chan struct{})
	takeBefore := func() {
		defer close(beforeTaken)
		sleepUntil(ctx, measureFrom)
		loadBefore = sampleLoad()
		before, beforeErr = e.server.sample(ctx)
		peak = e.server.startPeak(ctx)
		if o.profileDir != "" {
			profile = e.server.startProfile(ctx, o.duration, filepath.Join(o.profileDir, sc.name+".pprof"))
		}
	}
	if o.warmup == 0 {
		takeBefore()
		start = time.Now()
		measureFrom, end = start, start.Add(o.duration)
	} else {
		go takeBefore()
	}

	tallies := make([]tally, o.concurrency)
	var ticks chan time.Time
	if o.rate > 0 {
		ticks = make(chan time.Time, o.concurrency*4)
		go schedule(ctx, ticks, start, end, o.rate)
	}
	for i := range steps {
		wg.Go(func() { work(ctx, steps[i], &tallies[i], ticks, measureFrom, end, o.timeout) })
	}
	wg.Wait()
	<-beforeTaken
	measured := time.Since(measureFrom)
	loadAfter := sampleLoad()
	after, afterErr := e.server.sample(ctx)
	peakRSS := peak.stop()
	if err := profile.wait(); err != nil {
		fmt.Fprintf(log, "janua-load: %s: CPU profile: %v\n", sc.name, err)
	}

	var all tally
	for i := range tallies {
		all.merge(&tallies[i])
	}
	res.fill(&all, measured)
	res.Load = loadUsage(loadBefore, loadAfter, all.ok+all.errs)
	if e.server.enabled() {
		if beforeErr != nil || afterErr != nil {
			res.ServerError = fmt.Sprint(firstErr(beforeErr, afterErr))
		} else {
			res.Server = usage(before, after, peakRSS, all.ok+all.errs)
		}
	}
	return res
}

// work runs steps until end: back to back (closed loop), or at the times
// ticks gives (open loop), latency counted from the planned start so that
// a slow server cannot hide its queue (no coordinated omission).
func work(ctx context.Context, st step, t *tally, ticks <-chan time.Time, measureFrom, end time.Time, timeout time.Duration) {
	one := func(planned time.Time) {
		rctx, cancel := context.WithTimeout(ctx, timeout*4)
		n, err := st(rctx)
		cancel()
		done := time.Now()
		if planned.Before(measureFrom) {
			return
		}
		t.reqs += uint64(n)
		if err != nil {
			t.fail(err)
			return
		}
		t.ok++
		t.lat = append(t.lat, done.Sub(planned))
	}
	if ticks == nil {
		for ctx.Err() == nil {
			now := time.Now()
			if !now.Before(end) {
				return
			}
			one(now)
		}
		return
	}
	for planned := range ticks {
		if ctx.Err() != nil {
			return
		}
		// A planned start the workers did not reach in time is a failure
		// of the server to keep up with --rate.
		if time.Since(end) > timeout {
			if !planned.Before(measureFrom) {
				t.fail(fmt.Errorf("open loop: not started before the run ended (the server is slower than --rate)"))
			}
			continue
		}
		one(planned)
	}
}

// schedule sends the planned start of every operation, rate per second,
// from start until end.
func schedule(ctx context.Context, ticks chan<- time.Time, start, end time.Time, rate float64) {
	defer close(ticks)
	interval := time.Duration(float64(time.Second) / rate)
	for i := int64(0); ; i++ {
		at := start.Add(time.Duration(i) * interval)
		if !at.Before(end) {
			return
		}
		sleepUntil(ctx, at)
		if ctx.Err() != nil {
			return
		}
		ticks <- at
	}
}

func sleepUntil(ctx context.Context, t time.Time) {
	d := time.Until(t)
	if d <= 0 {
		return
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
	case <-timer.C:
	}
}

// fill computes the client-side figures.
func (r *Result) fill(t *tally, measured time.Duration) {
	r.Seconds = measured.Seconds()
	r.Ops, r.Errors, r.Requests = t.ok, t.errs, t.reqs
	if r.Seconds > 0 {
		r.OpsPerSec = float64(t.ok) / r.Seconds
	}
	if n := t.ok + t.errs; n > 0 {
		r.RequestsPerOp = float64(t.reqs) / float64(n)
	}
	r.ErrorSamples = t.errMsgs
	if len(t.lat) == 0 {
		return
	}
	slices.Sort(t.lat)
	var sum time.Duration
	for _, d := range t.lat {
		sum += d
	}
	ms := func(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }
	r.LatencyMS = &Latency{
		Mean: ms(sum / time.Duration(len(t.lat))),
		P50:  ms(percentile(t.lat, 0.50)),
		P90:  ms(percentile(t.lat, 0.90)),
		P99:  ms(percentile(t.lat, 0.99)),
		Max:  ms(t.lat[len(t.lat)-1]),
	}
}

// percentile is the nearest-rank percentile of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
