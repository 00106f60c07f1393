package conformance

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

// tokenResponse is what the token endpoint answered.
type tokenResponse struct {
	Status int
	Header http.Header
	Body   []byte
	JSON   map[string]any
}

func (r *tokenResponse) str(name string) string { s, _ := r.JSON[name].(string); return s }

// tokenRequest POSTs form to the token endpoint authenticating as client with method
// (RFC 6749 §2.3.1: client_secret_basic form-urlencodes id and secret before Basic).
func (t *T) tokenRequest(client ClientConfig, method string, form url.Values) *tokenResponse {
	ep := t.endpoint("token_endpoint")
	form = cloneValues(form)
	header := http.Header{}
	switch method {
	case "client_secret_post":
		form.Set("client_id", client.ClientID)
		form.Set("client_secret", client.ClientSecret)
	case "none":
		form.Set("client_id", client.ClientID)
	default:
		header.Set("Authorization", "Basic "+basicAuth(client.ClientID, client.ClientSecret))
	}
	req, err := http.NewRequestWithContext(t.ctx, http.MethodPost, ep, strings.NewReader(form.Encode()))
	if err != nil {
		t.fail("CallTokenEndpoint", "%v", err)
	}
	req.Header = header
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, body, err := t.run.do(req)
	if err != nil {
		t.fail("CallTokenEndpoint", "token endpoint %s: %v", ep, err)
	}
	tr := &tokenResponse{Status: resp.StatusCode, Header: resp.Header, Body: body}
	_ = json.Unmarshal(body, &tr.JSON)
	return tr
}

func basicAuth(id, secret string) string {
	return base64Std(url.QueryEscape(id) + ":" + url.QueryEscape(secret))
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// authMethod is the token endpoint authentication of the module's variant.
func (t *T) authMethod() string {
	if t.client.AuthMethod != "" {
		return t.client.AuthMethod
	}
	if t.Variant.ClientAuthType == "" {
		return "client_secret_basic"
	}
	return t.Variant.ClientAuthType
}

// checkTokenSuccess is the suite's checks of a successful token response
// (CheckIfTokenEndpointResponseError, CheckForAccessTokenValue, ExtractExpiresIn...,
// RFC 6749 §5.1) plus Cache-Control: no-store.
func (t *T) checkTokenSuccess(tr *tokenResponse) {
	t.call("CheckTokenEndpointHttpStatus200", Failure, []string{"RFC6749-5.1"}, func() error {
		if tr.Status != 200 {
			return fmt.Errorf("token endpoint returned HTTP %d: %s", tr.Status, truncate(string(tr.Body), 200))
		}
		return nil
	})
	t.call("CheckTokenEndpointReturnedJsonContentType", Failure, []string{"RFC6749-5.1"}, func() error {
		return jsonContentType(tr.Header.Get("Content-Type"))
	})
	t.call("CheckTokenEndpointCacheHeaders", Failure, []string{"RFC6749-5.1"}, func() error { return noStore(tr.Header) })
	t.stop("CheckIfTokenEndpointResponseError", nil, func() error {
		if tr.JSON == nil {
			return fmt.Errorf("token endpoint response is not a JSON object: %s", truncate(string(tr.Body), 200))
		}
		if e := tr.str("error"); e != "" {
			return fmt.Errorf("token endpoint returned error %q (%s)", e, tr.str("error_description"))
		}
		return nil
	})
	t.stop("CheckForAccessTokenValue", []string{"RFC6749-5.1"}, func() error {
		if tr.str("access_token") == "" {
			return errors.New("no access_token in the token response")
		}
		return nil
	})
	if v, ok := tr.JSON["expires_in"]; ok {
		t.call("ValidateExpiresIn", Failure, []string{"RFC6749-5.1"}, func() error {
			if _, isNum := v.(float64); !isNum {
				return fmt.Errorf("expires_in is not a number: %v", v)
			}
			return nil
		})
	} else {
		t.note("ExtractExpiresInFromTokenEndpointResponse: no expires_in (RECOMMENDED by RFC 6749 §5.1)")
	}
	t.call("CheckTokenTypeIsBearer", Failure, []string{"RFC6749-5.1", "RFC6750"}, func() error {
		if !strings.EqualFold(tr.str("token_type"), "bearer") {
			return fmt.Errorf("token_type is %q, not Bearer", tr.str("token_type"))
		}
		return nil
	})
}

// expectTokenError checks an error response (RFC 6749 §5.2): 400, JSON, one of codes.
// sev is the severity if the OP did not refuse at all.
func (t *T) expectTokenError(tr *tokenResponse, sev Severity, codes ...string) {
	if tr.Status == 200 {
		t.call("CheckTokenEndpointReturnedError", sev, []string{"RFC6749-5.2"}, func() error {
			return errors.New("the token endpoint accepted the request (HTTP 200)")
		})
		return
	}
	t.call("CheckTokenEndpointHttpStatus400", Failure, []string{"RFC6749-5.2"}, func() error {
		if tr.Status != 400 {
			return fmt.Errorf("token endpoint returned HTTP %d, not 400", tr.Status)
		}
		return nil
	})
	t.call("CheckTokenEndpointReturnedJsonContentType", Failure, []string{"RFC6749-5.2"}, func() error {
		return jsonContentType(tr.Header.Get("Content-Type"))
	})
	t.call("CheckErrorFromTokenEndpointResponseError", Failure, []string{"RFC6749-5.2"}, func() error {
		got := tr.str("error")
		for _, c := range codes {
			if got == c {
				return nil
			}
		}
		return fmt.Errorf("error is %q, expected %v", got, codes)
	})
}

func jsonContentType(ct string) error {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return fmt.Errorf("Content-Type is %q, not application/json", ct)
	}
	return nil
}

// noStore is CheckTokenEndpointCacheHeaders (RFC 6749 §5.1: Cache-Control: no-store).
func noStore(h http.Header) error {
	for _, v := range h.Values("Cache-Control") {
		for _, d := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(d), "no-store") {
				return nil
			}
		}
	}
	return fmt.Errorf("Cache-Control is %q, without no-store", h.Get("Cache-Control"))
}

// tokenChars is RFC 6749 Appendix A.12/A.17's VSCHAR set for access and refresh tokens.
var tokenChars = regexp.MustCompile(`^[\x20-\x7E]+$`)
