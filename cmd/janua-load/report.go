package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is one run of janua-load.
type Report struct {
	Issuer      string    `json:"issuer"`
	Started     time.Time `json:"started"`
	Duration    string    `json:"duration"`
	Concurrency int       `json:"concurrency"`
	Rate        float64   `json:"rate,omitempty"`
	Results     []Result  `json:"results"`
}

// Result is one scenario's figures. Latencies are of successful operations;
// the server's figures are per operation completed, failed or not.
type Result struct {
	Scenario      string            `json:"scenario"`
	Skipped       string            `json:"skipped,omitempty"`
	SetupError    string            `json:"setup_error,omitempty"`
	Concurrency   int               `json:"concurrency"`
	Rate          float64           `json:"rate,omitempty"`
	Seconds       float64           `json:"seconds"`
	Ops           uint64            `json:"ops"`
	Errors        uint64            `json:"errors"`
	Requests      uint64            `json:"requests"`
	OpsPerSec     float64           `json:"ops_per_second"`
	RequestsPerOp float64           `json:"requests_per_op"`
	LatencyMS     *Latency          `json:"latency_ms,omitempty"`
	ErrorSamples  map[string]uint64 `json:"error_samples,omitempty"`
	Server        *ServerUsage      `json:"server,omitempty"`
	ServerError   string            `json:"server_error,omitempty"`
	// Load is what janua-load itself and the whole machine spent over the
	// measured window: on a shared 2-core machine, the load generator's
	// share bounds what the server can be shown to do.
	Load *LoadUsage `json:"load,omitempty"`
	// HalfRate is the open-loop pass at half of OpsPerSec (--half-rate).
	HalfRate *HalfRate `json:"half_rate,omitempty"`
}

// HalfRate is a scenario run open loop at half its closed-loop maximum.
type HalfRate struct {
	Rate      float64  `json:"rate"`
	OpsPerSec float64  `json:"ops_per_second"`
	Errors    uint64   `json:"errors"`
	LatencyMS *Latency `json:"latency_ms,omitempty"`
}

// Latency is in milliseconds.
type Latency struct {
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
}

// LoadUsage is the load generator's own CPU time per operation and the
// machine's busy share (all cores, from /proc/stat); -1 is "not measured".
type LoadUsage struct {
	CPUMicrosPerOp float64 `json:"cpu_us_per_op"`
	MachineBusy    float64 `json:"machine_busy_percent"`
}

// ServerUsage is what the server spent; -1 is "not measured".
type ServerUsage struct {
	CPUSeconds       float64            `json:"cpu_seconds"`
	CPUMicrosPerOp   float64            `json:"cpu_us_per_op"`
	RSSBeforeMiB     float64            `json:"rss_before_mib"`
	RSSPeakMiB       float64            `json:"rss_peak_mib"`
	RSSAfterMiB      float64            `json:"rss_after_mib"`
	Statements       float64            `json:"statements"`
	StatementsPerOp  float64            `json:"statements_per_op"`
	StatementsByKind map[string]float64 `json:"statements_by_kind,omitempty"`
}

func (r *Report) failed() bool {
	for _, x := range r.Results {
		if x.Errors > 0 || x.SetupError != "" {
			return true
		}
	}
	return false
}

func (r *Report) write(w io.Writer, format string) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	case "markdown":
		return r.markdown(w)
	}
	return r.text(w)
}

// columns are the table's, shared by text and Markdown.
var columns = []string{"scenario", "ops/s", "p50 ms", "p90 ms", "p99 ms", "p99 ms at ½ ops/s", "errors", "req/op", "CPU µs/op", "stmts/op", "RSS MiB before/peak/after", "load CPU µs/op", "busy %"}

func (x *Result) row() []string {
	if x.Skipped != "" {
		return []string{x.Scenario, "skipped", "", "", "", "", "", "", "", "", "", "", ""}
	}
	if x.SetupError != "" {
		return []string{x.Scenario, "set-up failed", "", "", "", "", "", "", "", "", "", "", ""}
	}
	row := []string{x.Scenario, fmt.Sprintf("%.0f", x.OpsPerSec), "-", "-", "-", "-", fmt.Sprint(x.Errors), fmt.Sprintf("%.1f", x.RequestsPerOp), "-", "-", "-", "-", "-"}
	if l := x.LatencyMS; l != nil {
		row[2], row[3], row[4] = ms(l.P50), ms(l.P90), ms(l.P99)
	}
	if h := x.HalfRate; h != nil && h.LatencyMS != nil {
		row[5] = ms(h.LatencyMS.P99) + fmt.Sprintf(" (%.0f/s)", h.OpsPerSec)
	}
	if s := x.Server; s != nil {
		row[8] = orDash(s.CPUMicrosPerOp, "%.0f")
		row[9] = orDash(s.StatementsPerOp, "%.2f")
		row[10] = orDash(s.RSSBeforeMiB, "%.0f") + " / " + orDash(s.RSSPeakMiB, "%.0f") + " / " + orDash(s.RSSAfterMiB, "%.0f")
	}
	if l := x.Load; l != nil {
		row[11] = orDash(l.CPUMicrosPerOp, "%.0f")
		row[12] = orDash(l.MachineBusy, "%.0f")
	}
	return row
}

func ms(v float64) string {
	if v < 10 {
		return fmt.Sprintf("%.2f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

func orDash(v float64, format string) string {
	if v < 0 {
		return "-"
	}
	return fmt.Sprintf(format, v)
}

func (r *Report) text(w io.Writer) error {
	fmt.Fprintf(w, "issuer %s, %s per scenario, concurrency %d", r.Issuer, r.Duration, r.Concurrency)
	if r.Rate > 0 {
		fmt.Fprintf(w, ", open loop at %.0f ops/s", r.Rate)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(columns, "\t"))
	for i := range r.Results {
		fmt.Fprintln(tw, strings.Join(r.Results[i].row(), "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	r.notes(w, "")
	return nil
}

func (r *Report) markdown(w io.Writer) error {
	fmt.Fprintln(w, "| "+strings.Join(columns, " | ")+" |")
	fmt.Fprintln(w, "|"+strings.Repeat(" --- |", len(columns)))
	for i := range r.Results {
		fmt.Fprintln(w, "| "+strings.Join(r.Results[i].row(), " | ")+" |")
	}
	fmt.Fprintln(w)
	r.notes(w, "- ")
	return nil
}

// notes lists set-up failures, error messages and statement kinds.
func (r *Report) notes(w io.Writer, bullet string) {
	for _, x := range r.Results {
		if x.Skipped != "" {
			fmt.Fprintf(w, "%s%s: skipped: %s\n", bullet, x.Scenario, x.Skipped)
		}
		if x.SetupError != "" {
			fmt.Fprintf(w, "%s%s: set-up failed: %s\n", bullet, x.Scenario, x.SetupError)
		}
		if x.ServerError != "" {
			fmt.Fprintf(w, "%s%s: server figures unavailable: %s\n", bullet, x.Scenario, x.ServerError)
		}
		for _, msg := range slices.Sorted(maps.Keys(x.ErrorSamples)) {
			fmt.Fprintf(w, "%s%s: %d× %s\n", bullet, x.Scenario, x.ErrorSamples[msg], msg)
		}
		if x.Server != nil && len(x.Server.StatementsByKind) > 0 && x.Ops+x.Errors > 0 {
			var parts []string
			for _, k := range slices.Sorted(maps.Keys(x.Server.StatementsByKind)) {
				parts = append(parts, fmt.Sprintf("%s %.2f", k, x.Server.StatementsByKind[k]/float64(x.Ops+x.Errors)))
			}
			fmt.Fprintf(w, "%s%s: statements per op: %s\n", bullet, x.Scenario, strings.Join(parts, ", "))
		}
	}
}
