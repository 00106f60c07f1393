package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

// The budget of issue 6, checked against saved reports (--save) so that
// docs/performance.md says for each target whether this run met it, and by
// how much it missed. Figures are PostgreSQL + Redis unless a target names
// SQLite.

// target is one row of the budget.
type target struct {
	measure string
	backend string // "sqlite", "postgres" or "" for a figure given by flag
	want    string // the target as the issue states it
	// got reads the figure from the backend's report (and the flags); ok
	// says whether it meets the target.
	got func(r *Report, in *targetInputs) (value float64, shown string, ok, known bool)
}

// targetInputs are the figures that come from outside the load reports.
type targetInputs struct {
	sqlite, postgres         *Report
	sqliteFile, postgresFile string
	sqliteReadyMS            float64
	pgIdleMiB                float64
	argon2CPUMicros          float64 // BenchmarkVerifyArgon2idDefault, cpu-µs/op
	argon2ParallelCPUMicros  float64 // BenchmarkVerifyArgon2idDefaultParallel, cpu-µs/op
	argon2SharePct           float64 // argon2id's share of the password scenario's CPU profile, %
}

func resultOf(r *Report, scenario string) *Result {
	if r == nil {
		return nil
	}
	for i := range r.Results {
		if r.Results[i].Scenario == scenario && r.Results[i].Skipped == "" && r.Results[i].SetupError == "" {
			return &r.Results[i]
		}
	}
	return nil
}

// atLeast is a throughput target.
func atLeast(scenario string, min float64) func(*Report, *targetInputs) (float64, string, bool, bool) {
	return func(r *Report, _ *targetInputs) (float64, string, bool, bool) {
		x := resultOf(r, scenario)
		if x == nil {
			return 0, "", false, false
		}
		return x.OpsPerSec, fmt.Sprintf("%.0f/s", x.OpsPerSec), x.OpsPerSec >= min && x.Errors == 0, true
	}
}

// statementsAtMost is a statements-per-operation target.
func statementsAtMost(scenario string, max float64) func(*Report, *targetInputs) (float64, string, bool, bool) {
	return func(r *Report, _ *targetInputs) (float64, string, bool, bool) {
		x := resultOf(r, scenario)
		if x == nil || x.Server == nil || x.Server.StatementsPerOp < 0 {
			return 0, "", false, false
		}
		v := x.Server.StatementsPerOp
		return v, fmt.Sprintf("%.2f", v), v <= max+0.05, true
	}
}

// latencyScenarios are the scenarios the p99 target covers ("every
// scenario above" in the issue's table).
var latencyScenarios = []string{"cc-opaque", "cc-jwt-es256", "introspect", "refresh", "code", "discovery", "jwks"}

func targets() []target {
	return []target{
		{"client_credentials, opaque", "sqlite", "≥ 8,000/s", atLeast("cc-opaque", 8000)},
		{"client_credentials, opaque", "postgres", "≥ 5,000/s", atLeast("cc-opaque", 5000)},
		{"client_credentials, JWT ES256", "postgres", "≥ 8,000/s", atLeast("cc-jwt-es256", 8000)},
		{"introspection of an opaque token", "postgres", "≥ 15,000/s", atLeast("introspect", 15000)},
		{"refresh with rotation", "postgres", "≥ 2,000/s", atLeast("refresh", 2000)},
		{"code + PKCE flow, ES256 ID token", "postgres", "≥ 800/s", atLeast("code", 800)},
		{"code + PKCE flow, ES256 ID token", "sqlite", "≥ 1,500/s", atLeast("code", 1500)},
		{"discovery", "postgres", "≥ 30,000/s", atLeast("discovery", 30000)},
		{"JWKS", "postgres", "≥ 30,000/s", atLeast("jwks", 30000)},
		{"p99 at half the maximum rate, every scenario above", "postgres", "≤ 20 ms", func(r *Report, _ *targetInputs) (float64, string, bool, bool) {
			worst, name := -1.0, ""
			for _, s := range latencyScenarios {
				x := resultOf(r, s)
				if x == nil || x.HalfRate == nil || x.HalfRate.LatencyMS == nil {
					return 0, "", false, false
				}
				if p := x.HalfRate.LatencyMS.P99; p > worst {
					worst, name = p, s
				}
			}
			return worst, fmt.Sprintf("worst %.1f ms (%s)", worst, name), worst <= 20, true
		}},
		{"password sign-in, CPU per sign-in", "postgres", "≤ 1.1 × argon2id alone", func(r *Report, in *targetInputs) (float64, string, bool, bool) {
			x := resultOf(r, "password")
			if x == nil || x.Server == nil || x.Server.CPUMicrosPerOp <= 0 {
				return 0, "", false, false
			}
			cpu := x.Server.CPUMicrosPerOp
			// Against the hash benchmarked on its own: with every processor
			// hashing at once (as the sign-in load runs it) when measured,
			// and on an otherwise idle machine.
			var against []string
			if in.argon2ParallelCPUMicros > 0 {
				against = append(against, fmt.Sprintf("%.2f × the hash with every processor hashing (%.1f ms)", cpu/in.argon2ParallelCPUMicros, in.argon2ParallelCPUMicros/1000))
			}
			if in.argon2CPUMicros > 0 {
				against = append(against, fmt.Sprintf("%.2f × the hash on an idle machine (%.1f ms)", cpu/in.argon2CPUMicros, in.argon2CPUMicros/1000))
			}
			// In the run itself: the share of the sign-in's CPU that is the
			// hash (its CPU profile). Same process, same moment, same
			// neighbours: none of the run-to-run noise of a benchmark taken
			// apart, which on a shared machine is of the order of the 10 %
			// measured; the yardstick when known.
			if in.argon2SharePct > 0 {
				ratio := 100 / in.argon2SharePct
				text := fmt.Sprintf("%.3f × (argon2id is %.1f %% of the sign-in's %.1f ms in its CPU profile)", ratio, in.argon2SharePct, cpu/1000)
				if len(against) > 0 {
					text += "; " + strings.Join(against, ", ")
				}
				return ratio, text, ratio <= 1.1, true
			}
			base := in.argon2ParallelCPUMicros
			if base <= 0 {
				base = in.argon2CPUMicros
			}
			if base <= 0 {
				return 0, "", false, false
			}
			ratio := cpu / base
			return ratio, fmt.Sprintf("%.2f × (%.1f ms / %.1f ms)", ratio, cpu/1000, base/1000), ratio <= 1.1, true
		}},
		{"statements per client_credentials grant", "postgres", "≤ 2", statementsAtMost("cc-opaque", 2)},
		{"statements per full code flow", "postgres", "≤ 8", statementsAtMost("code", 8)},
		{"idle RSS", "postgres", "≤ 40 MB", func(_ *Report, in *targetInputs) (float64, string, bool, bool) {
			if in.pgIdleMiB <= 0 {
				return 0, "", false, false
			}
			mb := in.pgIdleMiB * 1.048576
			return mb, fmt.Sprintf("%.1f MB", mb), mb <= 40, true
		}},
		{"peak RSS under any scenario", "postgres", "≤ 150 MB", func(r *Report, _ *targetInputs) (float64, string, bool, bool) {
			worst, name := -1.0, ""
			for _, x := range r.Results {
				if x.Server != nil && x.Server.RSSPeakMiB > worst {
					worst, name = x.Server.RSSPeakMiB, x.Scenario
				}
			}
			if worst < 0 {
				return 0, "", false, false
			}
			mb := worst * 1.048576
			return mb, fmt.Sprintf("%.0f MB (%s)", mb, name), mb <= 150, true
		}},
		{"start to ready", "sqlite", "≤ 300 ms", func(_ *Report, in *targetInputs) (float64, string, bool, bool) {
			if in.sqliteReadyMS <= 0 {
				return 0, "", false, false
			}
			return in.sqliteReadyMS, fmt.Sprintf("%.0f ms", in.sqliteReadyMS), in.sqliteReadyMS <= 300, true
		}},
	}
}

func targetsCmd(stdout io.Writer) *cobra.Command {
	var in targetInputs
	cmd := &cobra.Command{
		Use:   "targets --sqlite FILE --postgres FILE [flags]",
		Short: "Check saved reports (--save) against the performance budget and print a Markdown table",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if in.sqlite, err = readReport(in.sqliteFile); err != nil {
				return err
			}
			if in.postgres, err = readReport(in.postgresFile); err != nil {
				return err
			}
			return writeTargets(stdout, &in)
		},
	}
	f := cmd.Flags()
	f.StringVar(&in.sqliteFile, "sqlite", "", "saved report of the SQLite run")
	f.StringVar(&in.postgresFile, "postgres", "", "saved report of the PostgreSQL + Redis run")
	f.Float64Var(&in.sqliteReadyMS, "sqlite-ready-ms", 0, "start to ready on SQLite, in milliseconds")
	f.Float64Var(&in.pgIdleMiB, "postgres-idle-mib", 0, "idle RSS on PostgreSQL + Redis, MiB")
	f.Float64Var(&in.argon2CPUMicros, "argon2-cpu-us", 0, "CPU of one argon2id check alone, µs (BenchmarkVerifyArgon2idDefault)")
	f.Float64Var(&in.argon2SharePct, "argon2-share-pct", 0, "argon2id's share of the password scenario's server CPU profile, %; the password target's yardstick when given")
	f.Float64Var(&in.argon2ParallelCPUMicros, "argon2-parallel-cpu-us", 0, "CPU of one argon2id check with every processor checking at once, µs (BenchmarkVerifyArgon2idDefaultParallel); the password target's yardstick when given")
	return cmd
}

// readReport reads a saved report; an empty path is no report.
func readReport(path string) (*Report, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &r, nil
}

// writeTargets prints the budget as a Markdown table: each target, the
// figure, and whether it holds (or the factor by which it misses).
func writeTargets(w io.Writer, in *targetInputs) error {
	fmt.Fprintln(w, "| measure | backend | target | this run | holds |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- |")
	for _, t := range targets() {
		r := in.postgres
		name := "PostgreSQL + Redis"
		if t.backend == "sqlite" {
			r, name = in.sqlite, "SQLite"
		}
		value, shown, ok, known := 0.0, "not measured", false, false
		if r != nil || t.measure == "idle RSS" || t.measure == "start to ready" {
			value, shown, ok, known = t.got(orEmpty(r), in)
			if !known {
				shown = "not measured"
			}
		}
		verdict := "–"
		switch {
		case known && ok:
			verdict = "yes"
		case known:
			verdict = "no" + missBy(t.want, value)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", t.measure, name, t.want, shown, verdict)
	}
	return nil
}

func orEmpty(r *Report) *Report {
	if r == nil {
		return &Report{}
	}
	return r
}

// missBy says how far value is from a throughput target ("≥ N/s"): the
// factor still needed.
func missBy(want string, value float64) string {
	if !strings.HasPrefix(want, "≥") || value <= 0 {
		return ""
	}
	var n float64
	if _, err := fmt.Sscanf(strings.ReplaceAll(strings.TrimPrefix(want, "≥ "), ",", ""), "%f", &n); err != nil || n <= 0 {
		return ""
	}
	return fmt.Sprintf(" (%.1f× short)", math.Round(n/value*10)/10)
}
