package oracle

import (
	"context"
	"fmt"

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

// compare turns an oracle's outcome into a verdict against the runner's report: each
// step maps to the runner's modules that cover it in the Basic and RP-Initiated
// Logout plans.
func compare(b *conformance.Browser, o *outcome) conformance.OracleRun {
	const basic, logout = "oidcc-basic-certification-test-plan", "oidcc-rp-initiated-logout-certification-test-plan"
	covers := map[string][][2]string{
		"authorize":  {{basic, "oidcc-server"}, {basic, "oidcc-ensure-request-with-valid-pkce-succeeds"}},
		"token":      {{basic, "oidcc-server"}, {basic, "oidcc-ensure-request-with-valid-pkce-succeeds"}},
		"userinfo":   {{basic, "oidcc-userinfo-get"}},
		"refresh":    {{basic, "oidcc-refresh-token"}},
		"logout":     {{logout, "oidcc-rp-initiated-logout"}},
		"logged-out": {{logout, "oidcc-rp-initiated-logout"}},
	}
	order := []string{"authorize", "token", "userinfo", "refresh", "logout", "logged-out"}
	res := conformance.OracleRun{Steps: o.steps, Passed: true}
	reached := true
	for _, step := range order {
		if step == o.failedAt {
			reached = false
			for _, m := range covers[step] {
				if v := b.Verdict(m[0], m[1], "code"); v == conformance.Passed || v == conformance.Warning {
					res.Passed = false
					res.Problems = append(res.Problems, fmt.Sprintf("%s failed in the oracle (%v) but the runner's %s is %s", step, o.err, m[1], v))
				}
			}
			if len(res.Problems) == 0 {
				res.Problems = append(res.Problems, fmt.Sprintf("%s failed in the oracle too: %v", step, o.err))
			}
			break
		}
		for _, m := range covers[step] {
			if v := b.Verdict(m[0], m[1], "code"); v == conformance.Failed {
				res.Passed = false
				res.Problems = append(res.Problems, fmt.Sprintf("%s succeeded in the oracle but the runner's %s FAILED", step, m[1]))
			}
		}
	}
	_ = reached
	return res
}
