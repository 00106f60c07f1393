package conformance

import (
	"fmt"
	"strings"
)

// Variant is the suite's variant selection for one module run
// (net.openid.conformance.variant.*). Plans here run with a static client and
// discovery, as Janua's certification will.
type Variant struct {
	ResponseType       string `json:"response_type,omitempty"`
	ResponseMode       string `json:"response_mode,omitempty"`
	ClientAuthType     string `json:"client_auth_type,omitempty"`
	ClientRegistration string `json:"client_registration,omitempty"`
	ServerMetadata     string `json:"server_metadata,omitempty"`
}

// Key is the variant as the suite prints it.
func (v Variant) Key() string {
	var parts []string
	add := func(k, val string) {
		if val != "" {
			parts = append(parts, k+"="+val)
		}
	}
	add("client_auth_type", v.ClientAuthType)
	add("response_type", v.ResponseType)
	add("response_mode", v.ResponseMode)
	return strings.Join(parts, ", ")
}

func (v Variant) formPost() bool { return v.ResponseMode == "form_post" }

// includes says the response type contains part ("code", "id_token", "token").
func (v Variant) includes(part string) bool {
	for _, p := range strings.Fields(v.ResponseType) {
		if p == part {
			return true
		}
	}
	return false
}

func (v Variant) implicitFlow() bool { return !v.includes("code") }

// Module is one of the suite's test modules (@PublishTestModule): a row of a plan.
type Module struct {
	// Name is the suite's testName.
	Name string
	// Flags are the letters of conformance-plans.md: R (ends REVIEW), R? (REVIEW only
	// when the OP shows a page instead of redirecting an error), L (fresh login),
	// S (SKIPPED when the OP does not support the feature), W (some failures only warn).
	Flags string
	// Summary is what the OP must do.
	Summary string
	// NotApplicable returns why the suite leaves the module out of a plan for v
	// (@VariantNotApplicable), or "".
	NotApplicable func(Variant) string
	// Bare modules do their own configuration (the discovery verification modules);
	// every other module starts with the suite's configure() steps (T.setup).
	Bare bool
	// Slow modules wait on purpose; the runner starts them first.
	Slow bool
	// Run is the module's test body.
	Run func(*T)
}

// Entry is a plan's ModuleListEntry: modules run with one variant.
type Entry struct {
	Variant Variant
	Modules []*Module
}

// Plan is one of the suite's test plans (@PublishTestPlan).
type Plan struct {
	Name        string
	Source      string
	CertProfile string
	Entries     []Entry
	// Absent says why the plan cannot run yet (the OP feature it tests is not there,
	// or the modules are still to be written); such a plan is listed, never run.
	Absent string
}

// Job is one module to run with one variant.
type Job struct {
	Plan    *Plan
	Module  *Module
	Variant Variant
}

// Jobs expands the plan into module runs, in plan order, leaving out the modules
// the suite does not list for a variant; those are returned separately.
func (p *Plan) Jobs() (jobs []Job, notApplicable []string) {
	for _, e := range p.Entries {
		for _, m := range e.Modules {
			if m.NotApplicable != nil {
				if why := m.NotApplicable(e.Variant); why != "" {
					notApplicable = append(notApplicable, fmt.Sprintf("%s (%s): %s", m.Name, e.Variant.Key(), why))
					continue
				}
			}
			jobs = append(jobs, Job{Plan: p, Module: m, Variant: e.Variant})
		}
	}
	return jobs, notApplicable
}

// FindPlans returns the named plans, or every runnable plan for "all".
func FindPlans(names []string) ([]*Plan, error) {
	if len(names) == 0 || (len(names) == 1 && names[0] == "all") {
		var out []*Plan
		for _, p := range Plans() {
			if p.Absent == "" {
				out = append(out, p)
			}
		}
		return out, nil
	}
	var out []*Plan
	for _, n := range names {
		var found *Plan
		for _, p := range Plans() {
			if p.Name == n {
				found = p
			}
		}
		if found == nil {
			return nil, fmt.Errorf("unknown plan %q", n)
		}
		if found.Absent != "" {
			return nil, fmt.Errorf("plan %s cannot run yet: %s", n, found.Absent)
		}
		out = append(out, found)
	}
	return out, nil
}

// staticOnly marks modules the suite does not run with client_registration=static_client.
func staticNA(v Variant) string {
	if v.ClientRegistration == "static_client" {
		return "@VariantNotApplicable(ClientRegistration static_client)"
	}
	return ""
}

// responseTypesNA marks modules the suite does not run for some response types.
func responseTypesNA(types ...string) func(Variant) string {
	return func(v Variant) string {
		for _, t := range types {
			if v.ResponseType == t {
				return "@VariantNotApplicable(ResponseType " + t + ")"
			}
		}
		return ""
	}
}
