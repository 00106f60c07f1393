package conformance

import (
	"fmt"
	"time"
)

// Result is a module's outcome, as the OpenID suite reports it
// (net.openid.conformance.testmodule.TestModule.Result).
type Result string

// The suite's result states. A module that requires a screenshot ends in REVIEW:
// a human (here: whoever reads the report, with the saved HTML and PNG) judges the page.
const (
	Passed  Result = "PASSED"
	Failed  Result = "FAILED"
	Warning Result = "WARNING"
	Review  Result = "REVIEW"
	Skipped Result = "SKIPPED"
)

// Severity is what a failed condition costs (net.openid.conformance.condition.Condition.ConditionResult).
type Severity string

// The suite's condition severities, plus SUCCESS for a condition that held.
const (
	Failure  Severity = "FAILURE"
	Warn     Severity = "WARNING"
	Info     Severity = "INFO"
	Success  Severity = "SUCCESS"
	Interupt Severity = "INTERRUPTED"
)

// LogEntry is one line of a module's log: a condition that was evaluated, or a note.
type LogEntry struct {
	Time         time.Time `json:"time"`
	Condition    string    `json:"condition,omitempty"`
	Result       Severity  `json:"result,omitempty"`
	Requirements []string  `json:"requirements,omitempty"`
	Message      string    `json:"msg"`
}

// Screenshot is a REVIEW page: what the user agent showed when the module ended
// waiting for a human to judge it (the suite's "placeholder" / uploaded image).
type Screenshot struct {
	Placeholder string `json:"placeholder"`
	URL         string `json:"url"`
	HTML        string `json:"html"`
	PNG         string `json:"png,omitempty"`
	Error       string `json:"error,omitempty"`
}

// ModuleResult is the outcome of one module run with one variant.
type ModuleResult struct {
	Plan        string        `json:"plan"`
	Module      string        `json:"module"`
	Variant     Variant       `json:"variant"`
	Result      Result        `json:"result"`
	Reason      string        `json:"reason,omitempty"`
	Started     time.Time     `json:"started"`
	Duration    time.Duration `json:"duration_ns"`
	Failures    []string      `json:"failures,omitempty"`
	Warnings    []string      `json:"warnings,omitempty"`
	Screenshots []Screenshot  `json:"screenshots,omitempty"`
	Log         []LogEntry    `json:"log"`
}

// stopSignal unwinds a module when a condition called with callAndStopOnFailure fails,
// when the module is skipped, or when it finishes waiting for a placeholder.
type stopSignal struct{ reason string }

// outcome folds the log into the suite's result: any FAILURE makes the module FAILED;
// otherwise an unfilled screenshot placeholder makes it REVIEW; otherwise any WARNING
// makes it WARNING; otherwise PASSED (AbstractTestModule.fireTestFinished /
// TestRunnerSupport: failures outrank placeholders, which outrank warnings).
func outcome(log []LogEntry, skipped bool, placeholders int) (Result, []string, []string) {
	var fails, warns []string
	for _, e := range log {
		switch e.Result {
		case Failure, Interupt:
			fails = append(fails, describe(e))
		case Warn:
			warns = append(warns, describe(e))
		}
	}
	switch {
	case len(fails) > 0:
		return Failed, fails, warns
	case skipped:
		return Skipped, fails, warns
	case placeholders > 0:
		return Review, fails, warns
	case len(warns) > 0:
		return Warning, fails, warns
	}
	return Passed, fails, warns
}

func describe(e LogEntry) string {
	if e.Condition == "" {
		return e.Message
	}
	return fmt.Sprintf("%s: %s", e.Condition, e.Message)
}
