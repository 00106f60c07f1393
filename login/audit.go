package login

import (
	"github.com/labstack/echo/v4"

	"github.com/madfam-org/janua/storage"
	"github.com/madfam-org/janua/web"
)

// The audit event types login records. Details never hold a password, a
// token or a cookie.
const (
	auditLoginSucceeded  = "login.succeeded"
	auditLoginFailed     = "login.failed" // details.reason: bad_password, unknown_user, disabled, no_password, locked
	auditLoginLocked     = "login.locked" // the account reached the failure threshold
	auditLoginCancelled  = "login.cancelled"
	auditSignupSucceeded = "signup.succeeded"
	auditSignupFailed    = "signup.failed" // details.reason: email_taken
	auditSessionEnded    = "session.ended"
	auditSessionRevoked  = "session.revoked"     // from the security page; details.ended: how many
	auditFactorFailed    = "login.factor_failed" // details.method, details.reason
)

// auditEvent describes one event of the request c. userID is whom it
// concerns (and who acted, when known).
func auditEvent(c echo.Context, typ, outcome, userID, clientID string, details map[string]any) *storage.AuditEvent {
	return &storage.AuditEvent{
		Type:      typ,
		Outcome:   outcome,
		Actor:     userID,
		Subject:   userID,
		ClientID:  clientID,
		IP:        c.RealIP(),
		UserAgent: clean(c.Request().UserAgent(), maxUserAgent),
		RequestID: web.RequestID(c.Request().Context()),
		Details:   details,
	}
}

// The audit events of second factors (TOTP, backup codes). Details carry
// the method ("totp", "backup"), never a code or a secret.
const (
	auditFactorSucceeded    = "login.factor_succeeded" // details.method (backup: details.remaining)
	auditFactorEnrolled     = "mfa.enrolled"           // details.method
	auditFactorEnrolFailed  = "mfa.enrol_failed"       // details.method, details.reason
	auditFactorRemoved      = "mfa.removed"            // details.method; a refusal is a failure with details.reason
	auditBackupCodesCreated = "mfa.backup_codes"       // details.count, details.reason: enrolment, regenerated
)
