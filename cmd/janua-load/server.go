package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// clockTicks is Linux's USER_HZ, the unit of /proc/PID/stat's CPU times
// (100 on every architecture Go supports there).
const clockTicks = 100

// statementsMetric is the counter Janua's metrics listener exports per kind.
const statementsMetric = "janua_db_statements_total"

// serverProbe reads the server's cost: CPU time and resident memory from
// /proc/PID (the server's own accounting, so a busy machine does not
// distort it) or from the metrics endpoint, and statements from the
// metrics endpoint.
type serverProbe struct {
	pid        int
	metricsURL string
	http       *http.Client
}

func (p *serverProbe) enabled() bool { return p.pid > 0 || p.metricsURL != "" }

// serverSample is the server's counters at one moment; a field the probe
// cannot read is negative.
type serverSample struct {
	cpuSeconds float64
	rssBytes   float64
	statements map[string]float64 // by kind; nil without the metrics endpoint
}

func (p *serverProbe) sample(ctx context.Context) (serverSample, error) {
	s := serverSample{cpuSeconds: -1, rssBytes: -1}
	if !p.enabled() {
		return s, nil
	}
	if p.metricsURL != "" {
		m, err := p.scrape(ctx)
		if err != nil {
			return s, err
		}
		s.statements = map[string]float64{}
		for k, v := range m {
			if kind, ok := strings.CutPrefix(k, statementsMetric+`{kind="`); ok {
				s.statements[strings.TrimSuffix(kind, `"}`)] = v
			}
		}
		if v, ok := m["process_cpu_seconds_total"]; ok {
			s.cpuSeconds = v
		}
		if v, ok := m["process_resident_memory_bytes"]; ok {
			s.rssBytes = v
		}
	}
	if p.pid > 0 {
		cpu, err := procCPU(p.pid)
		if err != nil {
			return s, err
		}
		rss, err := procRSS(p.pid)
		if err != nil {
			return s, err
		}
		s.cpuSeconds, s.rssBytes = cpu, rss
	}
	return s, nil
}

// rss reads resident memory alone, for the peak sampler.
func (p *serverProbe) rss(ctx context.Context) float64 {
	if p.pid > 0 {
		v, err := procRSS(p.pid)
		if err != nil {
			return -1
		}
		return v
	}
	m, err := p.scrape(ctx)
	if err != nil {
		return -1
	}
	if v, ok := m["process_resident_memory_bytes"]; ok {
		return v
	}
	return -1
}

// scrape reads the Prometheus text exposition: sample name with labels →
// value (only unlabelled samples and the statement counter are needed).
func (p *serverProbe) scrape(ctx context.Context) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.metricsURL, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/plain")
	res, err := p.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 8<<20))
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("metrics: status %d", res.StatusCode)
	}
	return parseMetrics(body), nil
}

func parseMetrics(body []byte) map[string]float64 {
	out := map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		name, val := line[:i], line[i+1:]
		// An optional timestamp follows the value.
		if j := strings.LastIndexByte(name, ' '); j > 0 && !strings.Contains(name[j:], "}") {
			name, val = name[:j], name[j+1:]
		}
		if v, err := strconv.ParseFloat(val, 64); err == nil {
			out[name] = v
		}
	}
	return out
}

// procCPU is the process's user + system CPU time in seconds.
func procCPU(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("server CPU: %w", err)
	}
	// The command name is in parentheses and may hold spaces: count the
	// fields after its closing parenthesis (field 3 onwards, proc(5)).
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("server CPU: unexpected /proc/PID/stat")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, errors.New("server CPU: short /proc/PID/stat")
	}
	utime, err1 := strconv.ParseUint(f[11], 10, 64) // field 14
	stime, err2 := strconv.ParseUint(f[12], 10, 64) // field 15
	if err1 != nil || err2 != nil {
		return 0, errors.New("server CPU: unreadable /proc/PID/stat")
	}
	return float64(utime+stime) / clockTicks, nil
}

// machineCPU is the machine's busy and total time over all cores, in
// clock ticks, from the first line of /proc/stat (proc(5)): idle and
// iowait are not busy.
func machineCPU() (busy, total float64, err error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, fmt.Errorf("machine CPU: %w", err)
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) < 6 || f[0] != "cpu" {
		return 0, 0, errors.New("machine CPU: unexpected /proc/stat")
	}
	for i, v := range f[1:] {
		n, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return 0, 0, errors.New("machine CPU: unreadable /proc/stat")
		}
		// user nice system idle iowait irq softirq steal guest guest_nice:
		// guest time is already counted in user.
		if i >= 8 {
			break
		}
		total += n
		if i != 3 && i != 4 {
			busy += n
		}
	}
	return busy, total, nil
}

// loadSample is janua-load's own CPU time and the machine's at one moment;
// negative when unreadable.
type loadSample struct{ self, busy, total float64 }

func sampleLoad() loadSample {
	s := loadSample{-1, -1, -1}
	if v, err := procCPU(os.Getpid()); err == nil {
		s.self = v
	}
	if b, t, err := machineCPU(); err == nil {
		s.busy, s.total = b, t
	}
	return s
}

// loadUsage is janua-load's CPU per operation and the machine's busy share
// between two samples.
func loadUsage(before, after loadSample, ops uint64) *LoadUsage {
	u := &LoadUsage{CPUMicrosPerOp: -1, MachineBusy: -1}
	if before.self >= 0 && after.self >= 0 && ops > 0 {
		u.CPUMicrosPerOp = round((after.self-before.self)*1e6/float64(ops), 1)
	}
	if before.total >= 0 && after.total > before.total {
		u.MachineBusy = round(100*(after.busy-before.busy)/(after.total-before.total), 0)
	}
	return u
}

// procRSS is the process's resident set size in bytes (VmRSS).
func procRSS(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("server memory: %w", err)
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) >= 1 {
				kb, err := strconv.ParseFloat(f[0], 64)
				if err == nil {
					return kb * 1024, nil
				}
			}
		}
	}
	return 0, errors.New("server memory: no VmRSS in /proc/PID/status")
}

// peakSampler reads resident memory every 100 ms and keeps the highest.
type peakSampler struct {
	cancel context.CancelFunc
	done   chan struct{}
	mu     sync.Mutex
	peak   float64
}

func (p *serverProbe) startPeak(ctx context.Context) *peakSampler {
	if !p.enabled() {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	ps := &peakSampler{cancel: cancel, done: make(chan struct{}), peak: -1}
	go func() {
		defer close(ps.done)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			if v := p.rss(ctx); v > 0 {
				ps.mu.Lock()
				ps.peak = max(ps.peak, v)
				ps.mu.Unlock()
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return ps
}

func (ps *peakSampler) stop() float64 {
	if ps == nil {
		return -1
	}
	ps.cancel()
	<-ps.done
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return ps.peak
}

// usage is the server's cost over the measured window, per operation
// completed (successful or not: both cost the server).
func usage(before, after serverSample, peak float64, ops uint64) *ServerUsage {
	u := &ServerUsage{CPUSeconds: -1, CPUMicrosPerOp: -1, StatementsPerOp: -1, Statements: -1}
	per := func(v float64) float64 {
		if ops == 0 {
			return -1
		}
		return v / float64(ops)
	}
	if before.cpuSeconds >= 0 && after.cpuSeconds >= 0 {
		u.CPUSeconds = round(after.cpuSeconds-before.cpuSeconds, 3)
		if v := per(u.CPUSeconds * 1e6); v >= 0 {
			u.CPUMicrosPerOp = round(v, 1)
		}
	}
	mib := func(b float64) float64 {
		if b < 0 {
			return -1
		}
		return round(b/(1<<20), 1)
	}
	u.RSSBeforeMiB, u.RSSAfterMiB = mib(before.rssBytes), mib(after.rssBytes)
	u.RSSPeakMiB = mib(max(peak, before.rssBytes, after.rssBytes))
	if before.statements != nil && after.statements != nil {
		u.StatementsByKind = map[string]float64{}
		var total float64
		for k, v := range after.statements {
			d := v - before.statements[k]
			total += d
			if d > 0 {
				u.StatementsByKind[k] = d
			}
		}
		u.Statements = total
		if v := per(total); v >= 0 {
			u.StatementsPerOp = round(v, 2)
		}
	}
	return u
}

func round(v float64, places int) float64 {
	p := math.Pow10(places)
	return math.Round(v*p) / p
}

// profileURL is the CPU profiler of the server whose metrics are at
// metricsURL: Janua serves /debug/pprof/ beside /metrics when metrics.pprof
// is set.
func profileURL(metricsURL string, d time.Duration) (string, error) {
	u, err := url.Parse(metricsURL)
	if err != nil {
		return "", err
	}
	u.Path, u.RawQuery = "/debug/pprof/profile", "seconds="+strconv.Itoa(max(1, int(d.Round(time.Second)/time.Second)))
	return u.String(), nil
}

// profileTake is a CPU profile being taken; wait returns once it is written.
type profileTake struct{ done chan error }

// startProfile asks the server for a CPU profile of the next d and writes
// it to path. Without --profile-dir it does nothing.
func (p *serverProbe) startProfile(ctx context.Context, d time.Duration, path string) *profileTake {
	if p.metricsURL == "" || path == "" {
		return nil
	}
	pt := &profileTake{done: make(chan error, 1)}
	go func() {
		pt.done <- func() error {
			target, err := profileURL(p.metricsURL, d)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(ctx, d+30*time.Second)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
			if err != nil {
				return err
			}
			// The probe's client times out in seconds; a profile takes d.
			res, err := (&http.Client{}).Do(req)
			if err != nil {
				return err
			}
			defer res.Body.Close()
			if res.StatusCode != http.StatusOK {
				return fmt.Errorf("%s: %s (is metrics.pprof on?)", target, res.Status)
			}
			f, err := os.Create(path)
			if err != nil {
				return err
			}
			if _, err := io.Copy(f, io.LimitReader(res.Body, 64<<20)); err != nil {
				_ = f.Close()
				return err
			}
			return f.Close()
		}()
	}()
	return pt
}

func (pt *profileTake) wait() error {
	if pt == nil {
		return nil
	}
	return <-pt.done
}
