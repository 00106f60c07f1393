package login

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/madfam-org/janua/storage"
	"github.com/madfam-org/janua/web"
)

// SecurityPath is the account security page: second factors and sessions.
const SecurityPath = "/account/security"

// securitySessionsPath takes the session actions of the security page.
const securitySessionsPath = SecurityPath + "/sessions"

// DefaultReauthWindow is how recent a sign-in must be for a sensitive
// change (adding or removing a factor, changing the password) without
// confirming who you are again.
const DefaultReauthWindow = 10 * time.Minute

// securityView is the data of security.html. Each second factor fills its
// own section (Sections[id], shown by the partial security_<id>).
type securityView struct {
	Email    string
	Sections map[string]any
	Sessions []sessionRow
	// Recent is set when sensitive changes need no re-authentication now;
	// ReauthURL confirms who the user is and comes back here.
	Recent    bool
	ReauthURL string
	// RequireSecondFactor: the last second factor may not be removed.
	RequireSecondFactor bool
	Notice              string
	SessionsAction      string
}

// Has reports whether the page shows method id (for templates).
func (v securityView) Has(id string) bool {
	_, ok := v.Sections[id]
	return ok
}

// sessionRow is one signed-in browser of the user.
type sessionRow struct {
	SID, IP, UserAgent    string
	CreatedAt, LastSeenAt time.Time
	Current               bool
}

// noticeKey limits the security page's notice to message keys.
var noticeKey = regexp.MustCompile(`^[a-z_]{1,40}$`)

// showSecurity is GET /account/security.
func (p *Pages) showSecurity(c echo.Context) error {
	a, u, lang, ok, err := p.account(c)
	if !ok || err != nil {
		return err
	}
	ctx := c.Request().Context()
	v := securityView{
		Email:               u.Email,
		Sections:            map[string]any{},
		Recent:              p.recent(a),
		ReauthURL:           p.o.LoginPath + "?" + url.Values{ReturnParam: {SecurityPath}}.Encode(),
		RequireSecondFactor: p.o.RequireSecondFactor,
		SessionsAction:      securitySessionsPath,
	}
	for _, f := range p.factors {
		s, err := f.section(ctx, u.ID)
		if err != nil {
			return err
		}
		v.Sections[f.id()] = s
	}
	if k := c.QueryParam("done"); noticeKey.MatchString(k) {
		if msg := p.o.Templates.T(lang, "security.done."+k); msg != "security.done."+k {
			v.Notice = msg
		}
	}
	current, err := p.o.Sessions.live(ctx, c)
	if err != nil {
		return err
	}
	list, err := p.store.ListUserBrowserSessions(ctx, u.ID)
	if err != nil {
		return err
	}
	for _, bs := range list {
		v.Sessions = append(v.Sessions, sessionRow{SID: bs.SID, IP: bs.IP, UserAgent: bs.UserAgent,
			CreatedAt: bs.CreatedAt, LastSeenAt: bs.LastSeenAt, Current: current != nil && bs.ID == current.ID})
	}
	return p.render(c, http.StatusOK, "security", lang, "security.title", v)
}

// securitySessions is POST /account/security/sessions: sign out one other
// browser (action=revoke, sid=…) or every other one (action=revoke_others).
func (p *Pages) securitySessions(c echo.Context) error {
	_, u, lang, ok, err := p.account(c)
	if !ok || err != nil {
		return err
	}
	ctx := c.Request().Context()
	current, err := p.o.Sessions.live(ctx, c)
	if err != nil || current == nil {
		return err
	}
	var ended int64
	switch c.FormValue("action") {
	case "revoke_others":
		if ended, err = p.store.RevokeUserBrowserSessions(ctx, u.ID, current.ID); err != nil {
			return err
		}
	case "revoke":
		sid := c.FormValue("sid")
		list, err := p.store.ListUserBrowserSessions(ctx, u.ID)
		if err != nil {
			return err
		}
		for _, bs := range list {
			if bs.SID == sid && bs.ID != current.ID {
				if err := p.store.RevokeBrowserSession(ctx, bs.ID); err != nil && !errors.Is(err, storage.ErrNotFound) {
					return err
				}
				ended = 1
			}
		}
	default:
		return &web.Error{Status: http.StatusBadRequest, Code: "invalid_action", Message: p.o.Templates.T(lang, "security.invalid")}
	}
	p.audit(c, auditEvent(c, auditSessionRevoked, storage.AuditSuccess, u.ID, "", map[string]any{"ended": ended}))
	return c.Redirect(http.StatusSeeOther, SecurityPath+"?done=sessions_ended")
}

// account returns the signed-in user of an account page. Without a
// session it sends the browser to sign in (ok=false, response written).
func (p *Pages) account(c echo.Context) (a Authentication, u *storage.User, lang string, ok bool, err error) {
	lang = p.o.Templates.Language("", c.Request().Header.Get("Accept-Language"))
	a, ok, err = p.o.Sessions.Authenticated(c)
	if err != nil {
		return a, nil, lang, false, err
	}
	if !ok {
		return a, nil, lang, false, c.Redirect(http.StatusSeeOther, p.o.LoginPath+"?"+url.Values{ReturnParam: {c.Path()}}.Encode())
	}
	u, err = p.store.GetUser(c.Request().Context(), a.Subject)
	if errors.Is(err, storage.ErrNotFound) {
		return a, nil, lang, false, c.Redirect(http.StatusSeeOther, p.o.LoginPath)
	}
	return a, u, lang, err == nil, err
}

// recent reports whether a was an active sign-in within the re-authentication window.
func (p *Pages) recent(a Authentication) bool {
	return p.o.Now().Sub(a.AuthTime) <= p.o.ReauthWindow
}

// sensitive returns the user allowed to make a sensitive change now: the
// signed-in user, if they signed in recently. Otherwise it sends the
// browser to confirm who they are and come back to the security page
// (ok=false, response written).
func (p *Pages) sensitive(c echo.Context) (u *storage.User, lang string, ok bool, err error) {
	a, u, lang, ok, err := p.account(c)
	if !ok || err != nil {
		return nil, lang, false, err
	}
	if !p.recent(a) {
		return nil, lang, false, c.Redirect(http.StatusSeeOther, p.o.LoginPath+"?"+url.Values{ReturnParam: {SecurityPath}}.Encode())
	}
	return u, lang, true, nil
}

// enroller returns who is enrolling a second factor: during a sign-in
// that requires one (fr's pending sign-in, pa set) a user with no
// standalone factor yet; otherwise the signed-in user after a recent
// sign-in (sensitive). A pending sign-in of a user who already has a
// factor may not enrol another: that would let a password alone add one.
// ok=false means a response was written.
//
// method is the method being enrolled: during a sign-in it must reach what
// the flow demands (the step offers no other). Without a flow, a recent
// sign-in on this browser is preferred to an abandoned pending one (a
// re-authentication left halfway).
func (p *Pages) enroller(c echo.Context, fr *flowRequest, method string) (u *storage.User, pa *pendingAuth, lang string, ok bool, err error) {
	if pa, err = p.pending(c, fr); err != nil {
		return nil, nil, "", false, err
	}
	if pa != nil && fr == nil {
		if a, signedIn, err := p.o.Sessions.Authenticated(c); err != nil {
			return nil, nil, "", false, err
		} else if signedIn && p.recent(a) {
			pa = nil
		}
	}
	if pa == nil {
		u, lang, ok, err = p.sensitive(c)
		return u, nil, lang, ok, err
	}
	lang = p.o.Templates.Language("", c.Request().Header.Get("Accept-Language"))
	if f := p.factorByID(method); f == nil || (fr != nil && !SatisfiesACR(f.reaches(), fr.flow.RequiredACR)) {
		return nil, nil, lang, false, &web.Error{Status: http.StatusForbidden, Code: "enrolment_refused", Message: p.o.Templates.T(lang, "factor.unavailable")}
	}
	ctx := c.Request().Context()
	ids, err := p.enrolledFactors(ctx, pa.UserID)
	if err != nil {
		return nil, nil, lang, false, err
	}
	if p.hasStandaloneFactor(ids) {
		return nil, nil, lang, false, &web.Error{Status: http.StatusForbidden, Code: "enrolment_refused", Message: p.o.Templates.T(lang, "factor.enrol_refused")}
	}
	u, err = p.store.GetUser(ctx, pa.UserID)
	return u, pa, lang, err == nil, err
}

// mayRemoveFactor reports whether userID may remove method id: not when a
// second factor is required and it is the last standalone one.
func (p *Pages) mayRemoveFactor(ctx context.Context, userID, id string) (bool, error) {
	f := p.factorByID(id)
	if !p.o.RequireSecondFactor || f == nil || !f.standalone() {
		return true, nil
	}
	ids, err := p.enrolledFactors(ctx, userID)
	if err != nil {
		return false, err
	}
	n := 0
	for _, other := range ids {
		if o := p.factorByID(other); o != nil && o.standalone() {
			n++
		}
	}
	return n > 1, nil
}

// errLastFactor refuses removing the last second factor of a user who
// must have one.
var errLastFactor = errors.New("login: the last second factor may not be removed")

// keepsRequiredFactor is the check, inside a removal's transaction after
// LockUser and the delete, that a user who must have a second factor still
// has a standalone one (errLastFactor otherwise, rolling the removal
// back): two removals at once cannot both pass mayRemoveFactor's early
// check and leave none.
func (p *Pages) keepsRequiredFactor(ctx context.Context, userID string) error {
	if !p.o.RequireSecondFactor {
		return nil
	}
	ids, err := p.enrolledFactors(ctx, userID)
	if err != nil {
		return err
	}
	if !p.hasStandaloneFactor(ids) {
		return errLastFactor
	}
	return nil
}
