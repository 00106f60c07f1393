package main

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/madfam-org/janua/login"
	"github.com/madfam-org/janua/oidc"
)

// The authentication context class a request demands (OIDC Core §3.1.2.1
// acr_values, §5.5.1.1 an essential acr claim, OIDC Registration §2
// default_acr_values) and the one the ID token reports.
func TestE2EACRRequests(t *testing.T) {
	t.Parallel()
	eachBackend(t, nil, func(t *testing.T, o *op) {
		res, err := http.Get(o.issuer + "/.well-known/openid-configuration")
		if err != nil {
			t.Fatal(err)
		}
		var meta struct {
			ACR []string `json:"acr_values_supported"`
		}
		_ = json.NewDecoder(res.Body).Decode(&meta)
		res.Body.Close()
		if !slices.Equal(meta.ACR, login.ACRValues()) {
			t.Fatalf("acr_values_supported %v, want %v", meta.ACR, login.ACRValues())
		}

		c := o.register(t, oidc.ClientSpec{})
		rp := o.goRP(t, c)
		a := o.agent()
		// Any listed class will do: a password sign-in meets "phr 1", and the
		// ID token names the class met among those requested.
		s := rp.login(a, oauth2.SetAuthURLParam("acr_values", "phr 1"))
		if s.Claims["acr"] != login.ACRPassword || !slices.Equal(anyStrings(s.Claims["amr"]), []string{login.AMRPassword}) {
			t.Errorf("acr_values=phr 1: acr %v amr %v", s.Claims["acr"], s.Claims["amr"])
		}
		// Classes Janua does not know, asked voluntarily, demand nothing.
		s = rp.login(a, oauth2.SetAuthURLParam("acr_values", "urn:example:gold"))
		if s.Claims["acr"] != login.ACRPassword {
			t.Errorf("unknown voluntary acr: acr %v", s.Claims["acr"])
		}
		// Asked as essential, they cannot be met: the request fails at the
		// client with unmet_authentication_requirements.
		claims := `{"id_token":{"acr":{"essential":true,"values":["urn:example:gold"]}}}`
		u, state, _, _ := rp.authURL(oauth2.SetAuthURLParam("claims", claims))
		resp := a.authorize(u, c.Redirect)
		if resp.Get("error") != "unmet_authentication_requirements" || resp.Get("state") != state {
			t.Errorf("essential unknown acr: %v", resp.Params)
		}
		// A malformed acr claim request is invalid_request.
		u, _, _, _ = rp.authURL(oauth2.SetAuthURLParam("claims", `{"id_token":{"acr":"mfa"}}`))
		if resp := a.authorize(u, c.Redirect); resp.Get("error") != "invalid_request" {
			t.Errorf("malformed acr claim: %v", resp.Params)
		}
		// A signed-in session weaker than the demand goes back to sign-in
		// (step-up) instead of being reused; this user has no second factor,
		// so the page says the account cannot reach it, and giving up tells
		// the client unmet_authentication_requirements.
		u, state, _, _ = rp.authURL(oauth2.SetAuthURLParam("acr_values", login.ACRPhishingResistant))
		resp = a.authorize(u, c.Redirect)
		if resp.Mode != "" || !strings.Contains(resp.Page, `id="factor-unavailable"`) || !slices.Equal(resp.Shown, []string{"login"}) {
			t.Fatalf("acr_values=phr for a password-only user: shown %v mode %q params %v\n%.800s", resp.Shown, resp.Mode, resp.Params, resp.Page)
		}
		giveUpUnmet(t, a, c.Redirect, state)
	})
}

func anyStrings(v any) []string {
	var out []string
	if l, ok := v.([]any); ok {
		for _, s := range l {
			if s, ok := s.(string); ok {
				out = append(out, s)
			}
		}
	}
	return out
}

// A user whose second factor (TOTP) cannot reach what a flow demands
// (phr) is not offered to enrol a passkey on the way: a password alone
// must never add a factor. The page says to add one from the security
// page, and giving up tells the client unmet_authentication_requirements.
func TestE2EStepUpBeyondEnrolledFactors(t *testing.T) {
	t.Parallel()
	eachPasskeyBackend(t, nil, func(t *testing.T, o *op) {
		c := o.register(t, oidc.ClientSpec{FirstParty: true})
		rp := o.goRP(t, c)
		a := o.agent()
		m := newMFA(t)
		checkMFA(t, m.login(rp, a, oauth2.SetAuthURLParam("acr_values", login.ACRMFA))) // enrols TOTP

		u, state, _, _ := rp.authURL(oauth2.SetAuthURLParam("acr_values", login.ACRPhishingResistant))
		resp := m.authorize(a, u, c.Redirect)
		if resp.Mode != "" || !strings.Contains(resp.Page, `id="factor-unavailable"`) ||
			strings.Contains(resp.Page, `id="passkey-enrol"`) || strings.Contains(resp.Page, `id="totp-form"`) {
			t.Fatalf("acr_values=phr for a TOTP user: shown %v mode %q %v\n%.1500s", resp.Shown, resp.Mode, resp.Params, resp.Page)
		}
		// Posting a method the step does not offer (it cannot reach phr) is
		// refused before any code is looked at, and so is enrolling one.
		action, fields, _ := pageForm(a.page, "factor-cancel-form")
		query := action[strings.Index(action, "?"):]
		for _, path := range []string{"/login/factor/totp", "/login/factor/backup", "/login/factor/totp/enrol"} {
			fields.Set("code", m.app.next())
			res := a.do(http.MethodPost, o.issuer+path+query, fields)
			if res.StatusCode != http.StatusBadRequest && res.StatusCode != http.StatusForbidden {
				t.Errorf("%s on a phr flow: %d", path, res.StatusCode)
			}
		}
		a.get(action) // back to the step, for its cancel form
		giveUpUnmet(t, a, c.Redirect, state)
	})
}

// giveUpUnmet presses Cancel on the factor page a stopped at: the client
// must hear unmet_authentication_requirements with its state.
func giveUpUnmet(t *testing.T, a *agent, redirect, state string) {
	t.Helper()
	action, fields, ok := pageForm(a.page, "factor-cancel-form")
	if !ok {
		t.Fatal("no cancel form on the factor page")
	}
	fields.Set("action", "cancel")
	resp := a.checkIss(a.navigate(http.MethodPost, a.o.issuer+action, fields, redirect))
	if resp.Get("error") != "unmet_authentication_requirements" || resp.Get("state") != state {
		t.Errorf("giving up: %v", resp.Params)
	}
}
