// Package oracle runs OpenID-certified relying parties against the OP under test as
// independent oracles for the conformance runner: panva's openid-client (npm, as a
// Node subprocess speaking JSON lines) and zitadel/oidc's pkg/client/rp (in process).
// Each runs the code flow with PKCE, userinfo, refresh and RP-Initiated Logout with
// the runner's user agent as the browser, and its outcome is compared with the
// runner's verdicts for oidcc-server, oidcc-ensure-request-with-valid-pkce-succeeds,
// oidcc-userinfo-get, oidcc-refresh-token and oidcc-rp-initiated-logout: when a
// certified RP succeeds where the runner FAILED, or fails where the runner PASSED,
// the oracle DISAGREES and the run exits 1.
package oracle
