package login

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/madfam-org/janua/storage"
	"github.com/madfam-org/janua/web"
)

// FactorPath is the second step of a sign-in: after a first factor
// (password, magic link, email code) the user proves a second one (TOTP,
// a backup code, a passkey) or, when one is required and they have none,
// enrols one.
const FactorPath = "/login/factor"

// pendingCookie names the cookie of a sign-in halfway through: 256 random
// bits; the hot state keeps the pendingAuth under their SHA-256.
const pendingCookie = "janua-pending"

// pendingTTL is how long a user has between the first and second factor.
const pendingTTL = 10 * time.Minute

// A secondFactor is a method that can follow a first factor. Each one
// (totp.go, backupcode.go, passkey.go) is listed in Pages.factors; its page
// pieces are the partials factor_<id> (the sign-in step), enrol_<id>
// (enrolment during a sign-in that requires a second factor) and
// security_<id> (its section of the account security page).
type secondFactor interface {
	// id names the method in URLs, templates and audit events: "totp",
	// "backup", "passkey".
	id() string
	// enrolled reports whether a user with e can use the method now.
	enrolled(e storage.FactorEnrolment) bool
	// standalone is false for a method that only backs up the others
	// (backup codes): it neither satisfies a second-factor requirement on
	// its own nor counts as "the last factor".
	standalone() bool
	// reaches is the class a first factor plus this method reaches
	// (ACRMFA, or ACRPhishingResistant for passkeys).
	reaches() string
	// section is the data of the method's security_<id> partial for userID.
	section(ctx context.Context, userID string) (any, error)
}

// pendingAuth is a sign-in whose first factor passed.
type pendingAuth struct {
	UserID   string   `json:"u"`
	AMR      []string `json:"amr"`
	Remember bool     `json:"rem,omitempty"`
	// Flow is the challenge of the flow being signed in to ("" for none);
	// Return is where a sign-in without a flow goes afterwards.
	Flow   string `json:"flow,omitempty"`
	Return string `json:"ret,omitempty"`
	// Browser binds it to the browser that passed the first factor.
	Browser string `json:"b"`
	// Event is the audit event type of the completed sign-in.
	Event string `json:"ev"`

	token string // the cookie value (not stored)
}

// factorView is the data of factor.html.
type factorView struct {
	ClientName string
	Query      string // "?flow=…" or ""
	Action     string // this page's URL, for forms that post to it
	// Offered are the enrolled methods that meet the requirement; Enrol are
	// the methods the user may enrol now (when Offered is empty and a
	// second factor is required).
	Offered, Enrol []string
	Error          string
	Sections       map[string]any
}

// Offers reports whether the page offers method id (for templates).
func (v factorView) Offers(id string) bool { return slices.Contains(v.Offered, id) }

// Enrols reports whether the page offers to enrol method id.
func (v factorView) Enrols(id string) bool { return slices.Contains(v.Enrol, id) }

// needsSecondFactor reports whether a sign-in of u with methods amr must
// go on to a second factor: the user enrolled a standalone one (backup
// codes alone do not count: they only back up another), the server
// requires one for everyone, or the flow requires a class amr does not
// reach.
func (p *Pages) needsSecondFactor(ctx context.Context, fr *flowRequest, userID string, amr []string) (bool, error) {
	if acrOf(amr) != ACRPassword {
		return false, nil // the first factor was already multi-factor (a passkey with user verification)
	}
	if p.o.RequireSecondFactor || (fr != nil && !SatisfiesACR(acrOf(amr), fr.flow.RequiredACR)) {
		return true, nil
	}
	ids, err := p.enrolledFactors(ctx, userID)
	return p.hasStandaloneFactor(ids), err
}

// enrolledFactors lists the methods userID has enrolled, standalone ones
// first in Pages.factors order, from one read of the store.
func (p *Pages) enrolledFactors(ctx context.Context, userID string) ([]string, error) {
	e, err := p.store.GetFactorEnrolment(ctx, userID)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, f := range p.factors {
		if f.enrolled(e) {
			ids = append(ids, f.id())
		}
	}
	return ids, nil
}

// hasStandaloneFactor reports whether ids holds a method that is a second
// factor on its own.
func (p *Pages) hasStandaloneFactor(ids []string) bool {
	for _, f := range p.factors {
		if f.standalone() && slices.Contains(ids, f.id()) {
			return true
		}
	}
	return false
}

// factorByID returns the method named id.
func (p *Pages) factorByID(id string) secondFactor {
	for _, f := range p.factors {
		if f.id() == id {
			return f
		}
	}
	return nil
}

// afterFirstFactor finishes a sign-in whose first factor (amr) passed: at
// once, or through the second-factor step when one is needed.
func (p *Pages) afterFirstFactor(c echo.Context, fr *flowRequest, lang string, u *storage.User, remember bool, amr []string, event, returnTo string) error {
	need, err := p.needsSecondFactor(c.Request().Context(), fr, u.ID, amr)
	if err != nil {
		return err
	}
	if !need {
		return p.signIn(c, fr, lang, u, remember, amr, event, returnTo)
	}
	pa := &pendingAuth{UserID: u.ID, AMR: amr, Remember: remember, Return: returnTo,
		Browser: p.o.Cookies.BrowserHash(c), Event: event}
	if fr != nil {
		pa.Flow = fr.challenge
	}
	if err := p.savePending(c, pa); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, FactorPath+flowQuery(fr))
}

// savePending stores pa under a new cookie token.
func (p *Pages) savePending(c echo.Context, pa *pendingAuth) error {
	pa.token = randomToken(32)
	raw, err := json.Marshal(pa)
	if err != nil {
		return err
	}
	if err := p.o.HotState.Put(c.Request().Context(), pendingKey(pa.token), raw, pendingTTL); err != nil {
		return err
	}
	p.o.Cookies.Set(c, pendingCookie, pa.token, 0, http.SameSiteLaxMode)
	return nil
}

// pending returns this browser's sign-in halfway through for the flow of
// fr (nil when there is none, or it expired, or belongs to another flow).
func (p *Pages) pending(c echo.Context, fr *flowRequest) (*pendingAuth, error) {
	token := p.o.Cookies.Get(c, pendingCookie)
	if token == "" || len(token) > 64 {
		return nil, nil
	}
	raw, err := p.o.HotState.Get(c.Request().Context(), pendingKey(token))
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var pa pendingAuth
	if json.Unmarshal(raw, &pa) != nil {
		return nil, nil
	}
	flow := ""
	if fr != nil {
		flow = fr.challenge
	}
	if subtle.ConstantTimeCompare([]byte(pa.Browser), []byte(p.o.Cookies.BrowserHash(c))) != 1 ||
		subtle.ConstantTimeCompare([]byte(pa.Flow), []byte(flow)) != 1 {
		return nil, nil
	}
	pa.token = token
	return &pa, nil
}

// secondFactorPassed completes the sign-in pa with a second factor whose
// methods are amr: once only (the pending record is taken first, so two
// concurrent submissions cannot both sign in).
func (p *Pages) secondFactorPassed(c echo.Context, fr *flowRequest, lang string, pa *pendingAuth, amr []string) error {
	ctx := c.Request().Context()
	if _, err := p.o.HotState.Take(ctx, pendingKey(pa.token)); errors.Is(err, storage.ErrNotFound) {
		return p.factorExpired(lang)
	} else if err != nil {
		return err
	}
	p.o.Cookies.Clear(c, pendingCookie)
	if err := p.throttle.succeededKey(ctx, secondFactorKey(pa.UserID)); err != nil {
		return err
	}
	u, err := p.store.GetUser(ctx, pa.UserID)
	if err != nil {
		return err
	}
	if u.Disabled() {
		return p.factorExpired(lang)
	}
	return p.signIn(c, fr, lang, u, pa.Remember, combineAMR(pa.AMR, amr), pa.Event, pa.Return)
}

// secondFactorFailed audits a failed second factor of pa's user and
// reports whether their second factors are now locked. counted says the
// attempt was already counted (secondFactorAttempt, for guessable codes);
// otherwise this failure counts now.
func (p *Pages) secondFactorFailed(c echo.Context, pa *pendingAuth, method, clientID, reason string, counted bool) (locked bool, err error) {
	ctx := c.Request().Context()
	var lockedNow bool
	if counted {
		wait, err := p.throttle.lockedKey(ctx, secondFactorKey(pa.UserID))
		if err != nil {
			return false, err
		}
		lockedNow = wait > 0
	} else if lockedNow, err = p.throttle.failedKey(ctx, secondFactorKey(pa.UserID)); err != nil {
		return false, err
	}
	p.audit(c, auditEvent(c, auditFactorFailed, storage.AuditFailure, pa.UserID, clientID, map[string]any{"method": method, "reason": reason}))
	if lockedNow {
		p.audit(c, auditEvent(c, auditLoginLocked, storage.AuditFailure, pa.UserID, clientID,
			map[string]any{"method": method, "failures": p.o.Limits.LockoutFailures, "locked_for": p.o.Limits.LockoutDuration.String()}))
	}
	return lockedNow, nil
}

// secondFactorAttempt counts an attempt at a guessable second factor (a
// TOTP or backup code) of userID before it is checked, and returns how
// long their second factors stay locked when it may not go on.
func (p *Pages) secondFactorAttempt(ctx context.Context, userID string) (time.Duration, error) {
	return p.throttle.attemptKey(ctx, secondFactorKey(userID))
}

// secondFactorLocked returns how much longer pa's user may not try a
// second factor (0 when they may).
func (p *Pages) secondFactorLocked(ctx context.Context, userID string) (time.Duration, error) {
	return p.throttle.lockedKey(ctx, secondFactorKey(userID))
}

// factorExpired is the page of a second-factor step that no longer exists.
func (p *Pages) factorExpired(lang string) error {
	return &web.Error{Status: http.StatusBadRequest, Code: "sign_in_expired", Message: p.o.Templates.T(lang, "factor.expired")}
}

// showFactor is GET /login/factor: the second-factor step.
func (p *Pages) showFactor(c echo.Context) error {
	fr, lang, err := p.loadFlow(c)
	if err != nil {
		return err
	}
	pa, err := p.pending(c, fr)
	if err != nil {
		return err
	}
	if pa == nil {
		return c.Redirect(http.StatusSeeOther, p.o.LoginPath+flowQuery(fr))
	}
	v, err := p.factorView(c.Request().Context(), fr, pa)
	if err != nil {
		return err
	}
	return p.render(c, http.StatusOK, "factor", lang, "factor.title", v)
}

// submitFactor is POST /login/factor: the user gives up on the sign-in.
// When the account cannot reach what the flow demands, the client hears
// unmet_authentication_requirements (OpenID Connect Core Unmet
// Authentication Requirements 1.0 §2), otherwise access_denied.
func (p *Pages) submitFactor(c echo.Context) error {
	fr, lang, err := p.loadFlow(c)
	if err != nil {
		return err
	}
	if c.FormValue("action") != "cancel" {
		return &web.Error{Status: http.StatusBadRequest, Code: "invalid_action", Message: p.o.Templates.T(lang, "security.invalid")}
	}
	pa, err := p.pending(c, fr)
	if err != nil {
		return err
	}
	if pa != nil {
		_, _ = p.o.HotState.Take(c.Request().Context(), pendingKey(pa.token))
		v, err := p.factorView(c.Request().Context(), fr, pa)
		if err != nil {
			return err
		}
		if len(v.Offered) == 0 && len(v.Enrol) == 0 {
			return p.reject(c, fr, lang, "unmet_authentication_requirements", "The account cannot reach the authentication the client requires.")
		}
	}
	return p.cancel(c, fr, lang)
}

// factorView lists what the step offers pa's user for the flow of fr.
func (p *Pages) factorView(ctx context.Context, fr *flowRequest, pa *pendingAuth) (factorView, error) {
	v := factorView{Query: flowQuery(fr), Action: FactorPath + flowQuery(fr), Sections: map[string]any{}}
	if fr != nil {
		v.ClientName = fr.client.Name
	}
	required := ""
	if fr != nil {
		required = fr.flow.RequiredACR
	}
	ids, err := p.enrolledFactors(ctx, pa.UserID)
	if err != nil {
		return v, err
	}
	standalone := p.hasStandaloneFactor(ids)
	for _, f := range p.factors {
		if !slices.Contains(ids, f.id()) || !SatisfiesACR(f.reaches(), required) {
			continue
		}
		if f.standalone() || standalone {
			v.Offered = append(v.Offered, f.id())
		}
	}
	// Enrolling during a sign-in is only for a user with no second factor
	// yet (enroller refuses the others: a password alone must not add one).
	// A user whose factors cannot reach the demand adds a stronger one from
	// the security page after signing in with what they have.
	if len(v.Offered) == 0 && !standalone {
		for _, f := range p.factors {
			if f.standalone() && SatisfiesACR(f.reaches(), required) {
				v.Enrol = append(v.Enrol, f.id())
			}
		}
	}
	for _, id := range append(append([]string(nil), v.Offered...), v.Enrol...) {
		s, err := p.factorByID(id).section(ctx, pa.UserID)
		if err != nil {
			return v, err
		}
		v.Sections[id] = s
	}
	return v, nil
}

// pendingKey is the hot-state key of a pending sign-in's cookie token.
func pendingKey(token string) string {
	sum := sha256.Sum256([]byte(token))
	return "login/pending/" + hex.EncodeToString(sum[:16])
}

// secondFactorKey names a user's second-factor failures in the throttle.
func secondFactorKey(userID string) string { return "mfa/" + userID }
