package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

// growthCmd prints two saved reports side by side: each scenario's figures
// on an empty database and on a seeded one, and the change (make
// bench-growth; issue 6's target: within 20 %).
func growthCmd(stdout io.Writer) *cobra.Command {
	var emptyFile, seededFile string
	cmd := &cobra.Command{
		Use:   "growth --empty FILE --seeded FILE",
		Short: "Compare two saved reports (--save): empty database against seeded, as a Markdown table",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			empty, err := readReport(emptyFile)
			if err != nil {
				return err
			}
			seeded, err := readReport(seededFile)
			if err != nil {
				return err
			}
			if empty == nil || seeded == nil {
				return fmt.Errorf("--empty and --seeded are required")
			}
			writeGrowth(stdout, empty, seeded)
			return nil
		},
	}
	cmd.Flags().StringVar(&emptyFile, "empty", "", "saved report of the empty database")
	cmd.Flags().StringVar(&seededFile, "seeded", "", "saved report of the seeded database")
	return cmd
}

func writeGrowth(w io.Writer, empty, seeded *Report) {
	fmt.Fprintln(w, "| scenario | ops/s | Δ | CPU µs/op | Δ | stmts/op | Δ | p99 ms | Δ | RSS peak MiB | Δ |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
	for i := range seeded.Results {
		s := &seeded.Results[i]
		b := resultOf(empty, s.Scenario)
		if b == nil || s.Skipped != "" || s.SetupError != "" {
			continue
		}
		pair := func(a, z float64, known bool) string {
			if !known {
				return " | "
			}
			return num(a) + " → " + num(z) + " | " + pct(a, z)
		}
		lat := func(r *Result) float64 {
			if r.LatencyMS == nil {
				return 0
			}
			return r.LatencyMS.P99
		}
		srv := b.Server != nil && s.Server != nil
		var cpu, stm, rss [2]float64
		if srv {
			cpu = [2]float64{b.Server.CPUMicrosPerOp, s.Server.CPUMicrosPerOp}
			stm = [2]float64{b.Server.StatementsPerOp, s.Server.StatementsPerOp}
			rss = [2]float64{b.Server.RSSPeakMiB, s.Server.RSSPeakMiB}
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", s.Scenario, pair(b.OpsPerSec, s.OpsPerSec, true),
			pair(cpu[0], cpu[1], srv), pair(stm[0], stm[1], srv), pair(lat(b), lat(s), b.LatencyMS != nil && s.LatencyMS != nil),
			pair(rss[0], rss[1], srv))
	}
}

func num(x float64) string {
	if x >= 100 {
		return fmt.Sprintf("%.0f", x)
	}
	return fmt.Sprintf("%.2f", x)
}

func pct(a, b float64) string {
	if a == 0 {
		return ""
	}
	return fmt.Sprintf("%+.1f %%", (b-a)/a*100)
}
