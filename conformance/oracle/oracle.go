package oracle

import (
	"context"
	"fmt"
	"strings"

	"github.com/madfam-org/janua/conformance"
)

// All returns the named oracles.
func All(names []string, nodeDir, caFile string) ([]conformance.Oracle, error) {
	var out []conformance.Oracle
	for _, n := range names {
		switch n {
		case "openid-client":
			out = append(out, conformance.Oracle{Name: n, Run: func(ctx context.Context, b *conformance.Browser) conformance.OracleRun {
				return openidClient(ctx, b, nodeDir, caFile)
			}})
		case "zitadel":
			out = append(out, conformance.Oracle{Name: n, Run: zitadel})
		default:
			return nil, fmt.Errorf("unknown oracle %q (known: openid-client, zitadel)", n)
		}
	}
	return out, nil
}

// outcome is what one oracle saw, step by step.
type outcome struct {
	steps    []string
	failedAt string
	err      error
}

func (o *outcome) ok(step string) { o.steps = append(o.steps, step+" ok") }

func (o *outcome) fail(step string, err error) {
	o.failedAt, o.err = step, err
	o.steps = append(o.steps, step+" FAILED")
}

// covers maps the runner's modules (Basic and RP-Initiated Logout plans, response_type
// code) to the oracle steps whose success they imply.
var covers = []struct {
	plan, module string
	steps        []string
}{
	{basicPlan, "oidcc-server", []string{"authorize", "token", "userinfo"}},
	{basicPlan, "oidcc-ensure-request-with-valid-pkce-succeeds", []string{"authorize", "token", "userinfo"}},
	{basicPlan, "oidcc-userinfo-get", []string{"authorize", "token", "userinfo"}},
	{basicPlan, "oidcc-refresh-token", []string{"authorize", "token", "refresh"}},
	{logoutPlan, "oidcc-rp-initiated-logout", []string{"authorize", "token", "logout", "logged-out"}},
}

const (
	basicPlan  = "oidcc-basic-certification-test-plan"
	logoutPlan = "oidcc-rp-initiated-logout-certification-test-plan"
)

// compare turns an oracle's outcome into a verdict against the runner's report: a
// module agrees when the runner passed it (PASSED, WARNING, REVIEW) exactly when the
// oracle completed every step it covers. Modules whose steps the oracle never reached
// are not compared.
func compare(b *conformance.Browser, o *outcome) conformance.OracleRun {
	res := conformance.OracleRun{Steps: o.steps, Passed: true}
	done := map[string]bool{}
	for _, s := range o.steps {
		if strings.HasSuffix(s, " ok") {
			done[strings.TrimSuffix(s, " ok")] = true
		}
	}
	for _, c := range covers {
		verdict := b.Verdict(c.plan, c.module, "code")
		if verdict == "" || verdict == conformance.Skipped {
			continue
		}
		oracleOK, reached := true, true
		for _, s := range c.steps {
			switch {
			case s == o.failedAt:
				oracleOK = false
			case !done[s]:
				reached = false
			}
		}
		if oracleOK && !reached {
			continue
		}
		runnerOK := verdict != conformance.Failed
		switch {
		case oracleOK && !runnerOK:
			res.Passed = false
			res.Problems = append(res.Problems, fmt.Sprintf("the oracle completed %v but the runner's %s FAILED", c.steps, c.module))
		case !oracleOK && runnerOK:
			res.Passed = false
			res.Problems = append(res.Problems, fmt.Sprintf("the oracle failed at %s (%v) but the runner's %s is %s", o.failedAt, o.err, c.module, verdict))
		}
	}
	if o.failedAt != "" && res.Passed {
		res.Problems = append(res.Problems, fmt.Sprintf("the oracle failed at %s (%v), as the runner's verdicts predict", o.failedAt, o.err))
	}
	return res
}
