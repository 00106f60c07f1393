package conformance

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

func base64Std(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// userinfoStyle is how the access token is presented (RFC 6750 §2.1, §2.2).
type userinfoStyle int

const (
	userinfoGet userinfoStyle = iota
	userinfoPostHeader
	userinfoPostBody
)

type userinfoResponse struct {
	Status int
	Header http.Header
	Body   []byte
	JSON   map[string]any
}

// callUserinfo calls the userinfo endpoint (OpenID Connect Core 1.0 §5.3.1).
func (t *T) callUserinfo(accessToken string, style userinfoStyle) *userinfoResponse {
	ep := t.endpoint("userinfo_endpoint")
	if ep == "" {
		t.fail("CallUserInfoEndpoint", "the discovery document has no userinfo_endpoint")
	}
	var req *http.Request
	var err error
	switch style {
	case userinfoGet:
		req, err = http.NewRequestWithContext(t.ctx, http.MethodGet, ep, nil)
		if err == nil {
			req.Header.Set("Authorization", "Bearer "+accessToken)
		}
	case userinfoPostHeader:
		req, err = http.NewRequestWithContext(t.ctx, http.MethodPost, ep, strings.NewReader(""))
		if err == nil {
			req.Header.Set("Authorization", "Bearer "+accessToken)
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	case userinfoPostBody:
		req, err = http.NewRequestWithContext(t.ctx, http.MethodPost, ep, strings.NewReader(url.Values{"access_token": {accessToken}}.Encode()))
		if err == nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	}
	if err != nil {
		t.fail("CallUserInfoEndpoint", "%v", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, body, err := t.run.do(req)
	if err != nil {
		t.fail("CallUserInfoEndpoint", "userinfo endpoint %s: %v", ep, err)
	}
	ur := &userinfoResponse{Status: resp.StatusCode, Header: resp.Header, Body: body}
	_ = json.Unmarshal(body, &ur.JSON)
	return ur
}

// requestProtectedResource is the suite's requestProtectedResource: the access token
// works at the userinfo endpoint.
func (t *T) requestProtectedResource(accessToken string) *userinfoResponse {
	ur := t.callUserinfo(accessToken, userinfoGet)
	t.call("EnsureHttpStatusCodeIs200", Failure, []string{"OIDCC-5.3.2"}, func() error {
		if ur.Status != 200 {
			return fmt.Errorf("userinfo endpoint returned HTTP %d: %s", ur.Status, truncate(string(ur.Body), 200))
		}
		return nil
	})
	return ur
}

// checkUserinfo is the suite's checks of a userinfo response (AbstractOIDCCUserInfoTest,
// AbstractOIDCCReturnedClaimsServerTest.validateUserInfoResponse): JSON, a sub equal to
// the ID Token's (OpenID Connect Core 1.0 §5.3.2), standard claim types (§5.1).
func (t *T) checkUserinfo(ur *userinfoResponse, idTokens ...*idToken) {
	t.call("EnsureUserInfoContentTypeIsJson", Failure, []string{"OIDCC-5.3.2"}, func() error {
		return jsonContentType(ur.Header.Get("Content-Type"))
	})
	t.stop("ExtractUserInfoFromUserInfoEndpointResponse", []string{"OIDCC-5.3.2"}, func() error {
		if ur.JSON == nil {
			return fmt.Errorf("userinfo response is not a JSON object: %s", truncate(string(ur.Body), 200))
		}
		return nil
	})
	t.call("ValidateUserInfoStandardClaims", Failure, []string{"OIDCC-5.1"}, func() error { return validateStandardClaims(ur.JSON) })
	t.call("EnsureUserInfoContainsSub", Failure, []string{"OIDCC-5.3.2"}, func() error {
		if s, _ := ur.JSON["sub"].(string); s == "" {
			return errors.New("userinfo response has no sub")
		}
		return nil
	})
	t.call("EnsureUserInfoBirthDateValid", Failure, []string{"OIDCC-5.1"}, func() error { return birthdate(ur.JSON) })
	for _, tok := range idTokens {
		if tok == nil {
			continue
		}
		t.call("VerifyUserInfoAndIdTokenSameSub", Failure, []string{"OIDCC-5.3.2"}, func() error {
			if ur.JSON["sub"] != tok.Claims["sub"] {
				return fmt.Errorf("userinfo sub %v differs from the id_token's %v", ur.JSON["sub"], tok.Claims["sub"])
			}
			return nil
		})
	}
}

// standardClaimTypes is OpenID Connect Core 1.0 §5.1's member types.
var standardClaimTypes = map[string]string{
	"sub": "string", "name": "string", "given_name": "string", "family_name": "string", "middle_name": "string",
	"nickname": "string", "preferred_username": "string", "profile": "string", "picture": "string",
	"website": "string", "email": "string", "email_verified": "bool", "gender": "string", "birthdate": "string",
	"zoneinfo": "string", "locale": "string", "phone_number": "string", "phone_number_verified": "bool",
	"address": "object", "updated_at": "number",
}

func validateStandardClaims(claims map[string]any) error {
	var bad []string
	for k, want := range standardClaimTypes {
		v, ok := claims[k]
		if !ok {
			continue
		}
		okType := false
		switch want {
		case "string":
			_, okType = v.(string)
		case "bool":
			_, okType = v.(bool)
		case "number":
			_, okType = v.(float64)
		case "object":
			var m map[string]any
			m, okType = v.(map[string]any)
			for mk, mv := range m {
				if _, s := mv.(string); !s {
					bad = append(bad, "address."+mk)
				}
			}
		}
		if !okType {
			bad = append(bad, fmt.Sprintf("%s (not a %s)", k, want))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("standard claims of the wrong type: %s", strings.Join(bad, ", "))
	}
	return nil
}

var birthdateRE = regexp.MustCompile(`^(\d{4}|\d{4}-\d{2}-\d{2}|0000-\d{2}-\d{2})$`)

func birthdate(claims map[string]any) error {
	v, ok := claims["birthdate"]
	if !ok {
		return nil
	}
	s, _ := v.(string)
	if !birthdateRE.MatchString(s) {
		return fmt.Errorf("birthdate %v is not YYYY or YYYY-MM-DD (OpenID Connect Core 1.0 §5.1)", v)
	}
	return nil
}

// scopeClaims are the claims each scope requests (OpenID Connect Core 1.0 §5.4).
var scopeClaims = map[string][]string{
	"openid": {"sub"},
	"profile": {"name", "family_name", "given_name", "middle_name", "nickname", "preferred_username",
		"profile", "picture", "website", "gender", "birthdate", "zoneinfo", "locale", "updated_at"},
	"email":   {"email", "email_verified"},
	"address": {"address"},
	"phone":   {"phone_number", "phone_number_verified"},
}

// missingScopeClaims lists claims of the requested scopes absent from claims
// (VerifyScopesReturnedInUserInfoClaims / ...InAuthorizationEndpointIdToken).
func missingScopeClaims(scope string, claims map[string]any) error {
	var missing []string
	for _, s := range strings.Fields(scope) {
		for _, c := range scopeClaims[s] {
			if _, ok := claims[c]; !ok {
				missing = append(missing, c)
			}
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("claims for the requested scopes are missing: %s", strings.Join(missing, ", "))
	}
	return nil
}
