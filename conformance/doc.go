// Package conformance is Janua's independent, black-box runner for the OpenID
// Foundation's OpenID Provider certification plans.
//
// The OpenID Foundation's own suite (openid-certification/conformance-suite: Java,
// Maven, MongoDB) cannot be built on Janua's machines, so this package re-implements
// the plans that matter to Janua with the suite's own plan names, module names,
// result states (PASSED, FAILED, WARNING, REVIEW, SKIPPED) and condition severities
// (FAILURE, WARNING, INFO). It talks to any OpenID Provider from the outside, over
// HTTPS only, and never imports another Janua package.
//
// The pieces, one file per concept:
//
//   - plan.go, plans_oidcc.go: the plans as tables of modules and variants, in the
//     suite's order (OIDCCBasicTestPlan.java, OIDCCImplicitTestPlan.java, ...), each
//     module a row a reader can match against shared/docs/conformance-plans.md.
//   - testenv.go, status.go: one module run (the suite's AbstractTestModule): the
//     condition log, callAndStopOnFailure / callAndContinueOnFailure, skip and
//     screenshot placeholders, and how they add up to a result.
//   - useragent.go, forms.go: the browser. A cookie-jar HTTP user agent that follows
//     redirects, fills the login form (any form with a password field), submits
//     consent and auto-submitting (form_post) forms, and stops at the runner's own
//     callback or on a page it cannot act on (an error page, for REVIEW).
//   - callback.go, tls.go: the relying party's HTTPS endpoints (redirect_uri,
//     post_logout_redirect_uri) and the TLS proxy with a per-run certificate
//     authority that fronts an http-only OP.
//   - discovery.go, jwks.go, idtoken.go, authorize.go, token.go, userinfo.go,
//     entropy.go: the suite's conditions (condition/client/*.java), as plain
//     functions returning an error that the module records with a severity.
//   - modules_*.go: the modules (openid/OIDCC*.java) built from those pieces.
//   - review.go: the saved HTML and headless-Chromium PNG of REVIEW pages.
//   - report.go, runner.go: concurrency, the table per plan on stdout, the JSON report.
//
// Plans still to come (oidcc-dynamic-certification-test-plan, the back- and
// front-channel logout plans) are declared in plans_oidcc.go as planned-but-absent,
// so adding one is adding its rows and the modules' Run functions.
package conformance
