package login

import (
	"context"
	"crypto/rand"
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/madfam-org/janua/storage"
	"github.com/madfam-org/janua/web"
)

// Backup codes: ten single-use codes for when the authenticator (or
// passkey) is out of reach. Each is ten characters of Crockford's base32
// (no i, l, o or u to misread; 32 symbols, so 50 random bits), shown once
// as "xxxxx-xxxxx" and stored only as a keyed hash (storage/backupcode.go).
// They back up a standalone factor and never stand alone.
const (
	backupCodeCount  = 10
	backupCodeLength = 10
	backupAlphabet   = "0123456789abcdefghjkmnpqrstvwxyz"
	// backupLow is how few unused codes make a sign-in warn.
	backupLow = 3
)

// Paths of backup codes.
const (
	backupPath         = FactorPath + "/backup"
	securityBackupPath = SecurityPath + "/backup"
)

// BackupCodeStore is the persistence of backup codes.
type BackupCodeStore interface {
	ReplaceBackupCodes(ctx context.Context, userID string, codes []string) error
	ConsumeBackupCode(ctx context.Context, userID, code string) (remaining int, err error)
	CountBackupCodes(ctx context.Context, userID string) (int, error)
	DeleteBackupCodes(ctx context.Context, userID string) (int64, error)
}

// backupFactor is backup codes as a second factor.
type backupFactor struct{ p *Pages }

func (backupFactor) id() string       { return "backup" }
func (backupFactor) standalone() bool { return false }
func (backupFactor) reaches() string  { return ACRMFA }

func (backupFactor) enrolled(e storage.FactorEnrolment) bool { return e.BackupCodes > 0 }

// backupSection is the data of the security_backup and factor_backup
// partials.
type backupSection struct {
	Remaining int
	// Available: the user has a standalone factor for codes to back up.
	Available bool
	Low       bool
	Action    string
}

func (f backupFactor) section(ctx context.Context, userID string) (any, error) {
	n, err := f.p.store.CountBackupCodes(ctx, userID)
	if err != nil {
		return nil, err
	}
	others, err := f.p.otherStandaloneFactors(ctx, userID, f.id())
	return backupSection{Remaining: n, Available: others, Low: n <= backupLow, Action: securityBackupPath}, err
}

// newBackupCodes returns backupCodeCount fresh codes (normalised form).
func newBackupCodes() ([]string, error) {
	codes := make([]string, backupCodeCount)
	raw := make([]byte, backupCodeLength)
	for i := range codes {
		if _, err := rand.Read(raw); err != nil {
			return nil, err
		}
		b := make([]byte, backupCodeLength)
		for j, r := range raw {
			b[j] = backupAlphabet[r&31] // 256 is a multiple of 32: uniform
		}
		codes[i] = string(b)
	}
	return codes, nil
}

// formatBackupCode is how a code is shown: "xxxxx-xxxxx".
func formatBackupCode(code string) string {
	return code[:backupCodeLength/2] + "-" + code[backupCodeLength/2:]
}

// normalizeBackupCode reads what a user typed: any case, spaces and
// dashes anywhere, o for 0 and i or l for 1 (Crockford's decoding). "" when
// it cannot be a code.
func normalizeBackupCode(s string) string {
	if len(s) > 32 {
		return ""
	}
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r == ' ' || r == '-':
			continue
		case r == 'o':
			r = '0'
		case r == 'i' || r == 'l':
			r = '1'
		case !strings.ContainsRune(backupAlphabet, r):
			return ""
		}
		b.WriteRune(r)
	}
	if b.Len() != backupCodeLength {
		return ""
	}
	return b.String()
}

// ensureBackupCodes gives u a set of backup codes when they have none
// unused (inside the caller's transaction) and returns them to show once;
// nil when they still have some.
func (p *Pages) ensureBackupCodes(ctx context.Context, c echo.Context, u *storage.User, clientID string) ([]string, error) {
	n, err := p.store.CountBackupCodes(ctx, u.ID)
	if err != nil || n > 0 {
		return nil, err
	}
	codes, err := newBackupCodes()
	if err != nil {
		return nil, err
	}
	if err := p.store.ReplaceBackupCodes(ctx, u.ID, codes); err != nil {
		return nil, err
	}
	return codes, p.store.RecordAuditEvent(ctx, auditEvent(c, auditBackupCodesCreated, storage.AuditSuccess, u.ID, clientID,
		map[string]any{"count": len(codes), "reason": "enrolment"}))
}

// dropOrphanBackupCodes deletes userID's backup codes when no standalone
// factor is left for them to back up (call it in the transaction that
// removes a factor) and returns how many it deleted.
func (p *Pages) dropOrphanBackupCodes(ctx context.Context, userID string) (int64, error) {
	if others, err := p.otherStandaloneFactors(ctx, userID, "backup"); err != nil || others {
		return 0, err
	}
	return p.store.DeleteBackupCodes(ctx, userID)
}

// submitBackup is POST /login/factor/backup: a backup code as the second
// factor of a pending sign-in. The code is used up (and the user told by
// mail) in one transaction; few left, a page says so before going on.
func (p *Pages) submitBackup(c echo.Context) error {
	at, ok, err := p.beginFactorAttempt(c, backupFactor{}.id())
	if !ok || err != nil {
		return err
	}
	ctx := c.Request().Context()
	u, err := p.store.GetUser(ctx, at.pa.UserID)
	if err != nil {
		return err
	}
	standalone, err := p.otherStandaloneFactors(ctx, u.ID, "backup")
	if err != nil {
		return err
	}
	code := normalizeBackupCode(c.FormValue("code"))
	if !standalone || code == "" {
		return p.factorFailed(c, at, "backup", "bad_code", "backup.failed")
	}
	left := 0
	err = p.store.InTx(ctx, func(ctx context.Context) error {
		var err error
		if left, err = p.store.ConsumeBackupCode(ctx, u.ID, code); err != nil {
			return err
		}
		detail := p.o.Templates.T(at.lang, "backup.remaining", left)
		return p.mfaMail(ctx, c, u, at.lang, "mail.mfa.backup_code_used", detail)
	})
	if errors.Is(err, storage.ErrNotFound) {
		// Wrong, or used already (perhaps a moment ago by another request).
		return p.factorFailed(c, at, "backup", "bad_code", "backup.failed")
	}
	if err != nil {
		return err
	}
	p.audit(c, auditEvent(c, auditFactorSucceeded, storage.AuditSuccess, u.ID, at.clientID, map[string]any{"method": "backup", "remaining": left}))
	if left > backupLow {
		return p.secondFactorPassed(c, at.fr, at.lang, at.pa, []string{AMROTP})
	}
	next, err := p.redirectTarget(c, func() error { return p.secondFactorPassed(c, at.fr, at.lang, at.pa, []string{AMROTP}) })
	if err != nil {
		return err
	}
	return p.render(c, http.StatusOK, "backup_codes", at.lang, "backup.low_title", backupCodesView{Left: left, Continue: next})
}

// regenerateBackup is POST /account/security/backup: a new set of codes,
// shown once; every earlier code stops working in the same transaction.
// Sensitive, and only for a user with a factor to back up.
func (p *Pages) regenerateBackup(c echo.Context) error {
	u, lang, ok, err := p.sensitive(c)
	if !ok || err != nil {
		return err
	}
	ctx := c.Request().Context()
	if standalone, err := p.otherStandaloneFactors(ctx, u.ID, "backup"); err != nil {
		return err
	} else if !standalone {
		return &web.Error{Status: http.StatusConflict, Code: "no_factor", Message: p.o.Templates.T(lang, "backup.unavailable")}
	}
	codes, err := newBackupCodes()
	if err != nil {
		return err
	}
	err = p.store.InTx(ctx, func(ctx context.Context) error {
		if err := p.store.ReplaceBackupCodes(ctx, u.ID, codes); err != nil {
			return err
		}
		if err := p.store.RecordAuditEvent(ctx, auditEvent(c, auditBackupCodesCreated, storage.AuditSuccess, u.ID, "",
			map[string]any{"count": len(codes), "reason": "regenerated"})); err != nil {
			return err
		}
		return p.mfaMail(ctx, c, u, lang, "mail.mfa.backup_regenerated", "")
	})
	if err != nil {
		return err
	}
	return p.showBackupCodes(c, lang, codes, SecurityPath+"?done=backup_regenerated")
}
