package oracle

import (
	"errors"
	"testing"

	"github.com/madfam-org/janua/conformance"
)

func report(server conformance.Result) *conformance.Report {
	mod := func(name string, r conformance.Result) conformance.ModuleResult {
		return conformance.ModuleResult{Module: name, Result: r, Variant: conformance.Variant{ResponseType: "code"}}
	}
	return &conformance.Report{Plans: []conformance.PlanReport{
		{Name: "oidcc-basic-certification-test-plan", Modules: []conformance.ModuleResult{
			mod("oidcc-server", server), mod("oidcc-ensure-request-with-valid-pkce-succeeds", server),
			mod("oidcc-userinfo-get", server), mod("oidcc-refresh-token", server),
		}},
		{Name: "oidcc-rp-initiated-logout-certification-test-plan", Modules: []conformance.ModuleResult{
			mod("oidcc-rp-initiated-logout", server),
		}},
	}}
}

func allOK() *outcome {
	o := &outcome{}
	for _, s := range []string{"authorize", "token", "userinfo", "refresh", "logout", "logged-out"} {
		o.ok(s)
	}
	return o
}

// A certified RP and the runner must agree; either direction of disagreement is reported.
func TestCompare(t *testing.T) {
	failedToken := &outcome{}
	failedToken.ok("authorize")
	failedToken.fail("token", errors.New("invalid_grant"))
	cases := []struct {
		name   string
		server conformance.Result
		o      *outcome
		agrees bool
	}{
		{"both succeed", conformance.Passed, allOK(), true},
		{"runner failed a flow the RP completed", conformance.Failed, allOK(), false},
		{"RP failed a flow the runner passed", conformance.Passed, failedToken, false},
		{"both fail", conformance.Failed, failedToken, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := compare(&conformance.Browser{Report: report(c.server)}, c.o)
			if res.Passed != c.agrees {
				t.Fatalf("agrees = %v, want %v: %v", res.Passed, c.agrees, res.Problems)
			}
		})
	}
}
