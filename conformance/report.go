package conformance

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is the outcome of a run: one table per plan, and the JSON document with
// every module's log.
type Report struct {
	Started       time.Time    `json:"started"`
	Finished      time.Time    `json:"finished"`
	DiscoveryURL  string       `json:"discovery_url"`
	Fatal         string       `json:"fatal,omitempty"`
	Plans         []PlanReport `json:"plans"`
	NotApplicable []string     `json:"not_applicable,omitempty"`
	Oracles       []OracleRun  `json:"oracles,omitempty"`
}

// PlanReport is one plan's modules, in plan order.
type PlanReport struct {
	Name        string         `json:"name"`
	Source      string         `json:"source"`
	CertProfile string         `json:"certification_profile"`
	Modules     []ModuleResult `json:"modules"`
}

// OracleRun is one certified relying party's run of the happy flows, compared with
// the runner's own verdict.
type OracleRun struct {
	Name     string   `json:"name"`
	Passed   bool     `json:"passed"`
	Steps    []string `json:"steps"`
	Problems []string `json:"problems,omitempty"`
}

// Failed says whether anything FAILED (the process then exits 1).
func (r *Report) Failed() bool {
	if r.Fatal != "" {
		return true
	}
	for _, p := range r.Plans {
		for _, m := range p.Modules {
			if m.Result == Failed {
				return true
			}
		}
	}
	for _, o := range r.Oracles {
		if !o.Passed {
			return true
		}
	}
	return false
}

// Counts tallies results.
func (r *Report) Counts() map[Result]int {
	c := map[Result]int{}
	for _, p := range r.Plans {
		for _, m := range p.Modules {
			c[m.Result]++
		}
	}
	return c
}

// WriteTables prints one table per plan.
func (r *Report) WriteTables(w io.Writer) {
	if r.Fatal != "" {
		fmt.Fprintln(w, r.Fatal)
	}
	for _, p := range r.Plans {
		fmt.Fprintf(w, "\n## %s (%s, %s)\n\n", p.Name, p.CertProfile, p.Source)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "module\tvariant\tresult\tnote")
		for _, m := range p.Modules {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", m.Module, m.Variant.Key(), m.Result, note(m))
		}
		tw.Flush()
	}
	if len(r.NotApplicable) > 0 {
		fmt.Fprintln(w, "\nNot listed by the suite for these variants (@VariantNotApplicable):")
		for _, s := range r.NotApplicable {
			fmt.Fprintln(w, "  -", s)
		}
	}
	if len(r.Oracles) > 0 {
		fmt.Fprintln(w, "\n## independent relying parties (oracles)")
		fmt.Fprintln(w)
		for _, o := range r.Oracles {
			state := "AGREES"
			if !o.Passed {
				state = "DISAGREES"
			}
			fmt.Fprintf(w, "%-28s %s  (%s)\n", o.Name, state, strings.Join(o.Steps, ", "))
			for _, p := range o.Problems {
				fmt.Fprintln(w, "    -", p)
			}
		}
	}
	c := r.Counts()
	fmt.Fprintf(w, "\nTotal: %d PASSED, %d FAILED, %d WARNING, %d REVIEW, %d SKIPPED in %s\n",
		c[Passed], c[Failed], c[Warning], c[Review], c[Skipped], r.Finished.Sub(r.Started).Round(time.Second))
}

func note(m ModuleResult) string {
	switch m.Result {
	case Failed:
		return truncate(strings.Join(m.Failures, "; "), 160)
	case Skipped:
		return truncate(m.Reason, 160)
	case Warning:
		return truncate(strings.Join(m.Warnings, "; "), 160)
	case Review:
		var s []string
		for _, sh := range m.Screenshots {
			name := sh.PNG
			if name == "" {
				name = sh.HTML + " (" + sh.Error + ")"
			}
			s = append(s, filepath.Base(name))
		}
		return strings.Join(s, " ")
	}
	return ""
}

func truncate(s string, n int) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > n {
		return s[:n-1] + "…"
	}
	return s
}

// WriteJSON saves the report.
func (r *Report) WriteJSON(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}
