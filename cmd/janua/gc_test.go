package main

import (
	rtmetrics "runtime/metrics"
	"testing"
)

// janua serve collects garbage at GOGC=200 unless the operator set GOGC.
func TestGCPercent(t *testing.T) {
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == "GOGC" {
				return v
			}
			return ""
		}
	}
	if got := gcPercentFor(env("")); got != 200 {
		t.Errorf("GOGC unset: %d, want 200", got)
	}
	for _, v := range []string{"50", "off"} {
		if got := gcPercentFor(env(v)); got != 0 {
			t.Errorf("GOGC=%s: %d, want 0 (the runtime's)", v, got)
		}
	}
}

// A running janua serve has set the collector's target.
func TestServeSetsGCPercent(t *testing.T) {
	c := newCLI(t)
	startServe(t, c)
	sample := []rtmetrics.Sample{{Name: "/gc/gogc:percent"}}
	rtmetrics.Read(sample)
	if got := sample[0].Value.Uint64(); got != serveGCPercent {
		t.Errorf("GOGC while serving: %d, want %d", got, serveGCPercent)
	}
}
