package oidc

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/ory/fosite"

	"github.com/madfam-org/janua/storage"
)

// errUnmetAuthentication is OpenID Connect Core Unmet Authentication
// Requirements 1.0 §2's error: the request demands (as an essential claim)
// an authentication context class the provider cannot reach.
var errUnmetAuthentication = &fosite.RFC6749Error{
	ErrorField:       "unmet_authentication_requirements",
	DescriptionField: "The authorization server cannot meet the authentication requirements of the request.",
	CodeField:        http.StatusBadRequest,
}

// acrRequest is a request's demand on the authentication context class.
type acrRequest struct {
	// values are the acceptable classes the provider supports, in the
	// request's order of preference.
	values []string
	// essential is set when the claims parameter marks acr essential (OIDC
	// Core §5.5.1.1): unmet, the request fails instead of going on.
	essential bool
}

// String is the flow record's form (storage.Flow.RequiredACR).
func (a acrRequest) String() string { return strings.Join(a.values, " ") }

// requestedACR reads the acr demand: the claims parameter's id_token acr
// (OIDC Core §5.5.1.1), else acr_values (§3.1.2.1), else the client's
// default_acr_values (OIDC Registration §2). Classes the provider does not
// reach are dropped: a voluntary request for only such classes demands
// nothing; an essential one cannot be met.
func (p *Provider) requestedACR(form map[string][]string, claims claimsRequest, client *storage.Client) (acrRequest, error) {
	var want []string
	essential := false
	if raw, ok := claims.IDToken["acr"]; ok && string(raw) != "null" {
		var c struct {
			Essential bool     `json:"essential"`
			Value     string   `json:"value"`
			Values    []string `json:"values"`
		}
		if err := json.Unmarshal(raw, &c); err != nil {
			return acrRequest{}, fosite.ErrInvalidRequest.WithHint("The acr member of the claims parameter is not a valid claim request (OIDC Core §5.5.1).")
		}
		essential = c.Essential
		want = c.Values
		if c.Value != "" {
			want = []string{c.Value}
		}
	}
	if len(want) == 0 {
		if v := form["acr_values"]; len(v) > 0 {
			want = strings.Fields(v[0])
		}
	}
	if len(want) == 0 {
		want = client.Metadata.DefaultACRValues
	}
	var out acrRequest
	for _, w := range want {
		if slices.Contains(p.auth.ACRValues(), w) && !slices.Contains(out.values, w) {
			out.values = append(out.values, w)
		}
	}
	if essential && len(want) > 0 && len(out.values) == 0 {
		return acrRequest{}, errUnmetAuthentication
	}
	out.essential = essential
	return out, nil
}

// satisfied reports whether authn meets the demand.
func (p *Provider) satisfied(authn Authentication, a acrRequest) bool {
	return len(a.values) == 0 || p.auth.SatisfiesACR(authn.ACR, a.String())
}

// reportedACR is the ID token's acr: the first requested class the
// authentication meets (OIDC Core §5.5.1.1: the acr returned must be one
// of the values requested), else the class it reached.
func (p *Provider) reportedACR(authn Authentication, a acrRequest) string {
	for _, v := range a.values {
		if p.auth.SatisfiesACR(authn.ACR, v) {
			return v
		}
	}
	return authn.ACR
}
