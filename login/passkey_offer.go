package login

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/madfam-org/janua/storage"
)

// Right after sign-up the new user is offered a passkey ("Add a passkey"
// or "Not now") before the flow continues, so their next sign-in needs no
// password. The page is plain HTML: "Not now" is a link to where the
// sign-up was going; adding one is the page script's registration
// ceremony, after which it goes there too.

// passkeyOfferView is the data of passkey_offer.html.
type passkeyOfferView struct {
	ClientName string
	// Next is where the sign-up continues: the flow's resume, or the
	// account page.
	Next     string
	Sections map[string]any
}

// afterSignup finishes a sign-up: like any first factor (afterFirstFactor),
// except that a sign-up that signed in at once goes by the passkey offer.
func (p *Pages) afterSignup(c echo.Context, fr *flowRequest, lang string, u *storage.User) error {
	finish := func() error {
		return p.afterFirstFactor(c, fr, lang, u, false, []string{AMRPassword}, auditSignupSucceeded, "")
	}
	if !p.passkeysOn() {
		return finish()
	}
	loc, err := p.redirectTarget(c, finish)
	if err != nil {
		return err
	}
	if strings.HasPrefix(loc, FactorPath) {
		// A second factor is due: that step offers passkeys itself.
		return c.Redirect(http.StatusSeeOther, loc)
	}
	return c.Redirect(http.StatusSeeOther, PasskeyOfferPath+flowQuery(fr))
}

// showPasskeyOffer is GET /signup/passkey[?flow=…].
func (p *Pages) showPasskeyOffer(c echo.Context) error {
	fr, lang, err := p.loadFlow(c)
	if err != nil {
		return err
	}
	a, ok, err := p.o.Sessions.Authenticated(c)
	if err != nil {
		return err
	}
	if !ok {
		return c.Redirect(http.StatusSeeOther, p.o.LoginPath+flowQuery(fr))
	}
	v := passkeyOfferView{Next: AccountPath, Sections: map[string]any{}}
	if fr != nil {
		v.Next, v.ClientName = p.o.ResumePath+flowQuery(fr), fr.client.Name
		if fr.flow.Subject != "" && fr.flow.Subject != a.Subject {
			return p.resume(c, fr) // the flow is another user's sign-in
		}
	}
	s, err := passkeyFactor{p}.section(c.Request().Context(), a.Subject)
	if err != nil {
		return err
	}
	if sec := s.(passkeySection); len(sec.Passkeys) > 0 || sec.Full {
		return c.Redirect(http.StatusSeeOther, v.Next)
	}
	v.Sections["passkey"] = s
	return p.render(c, http.StatusOK, "passkey_offer", lang, "passkey.offer_title", v)
}
