package conformance

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"mime"
	"net/url"
	"regexp"
	"strings"
)

// authRequest is an authorization request (OpenID Connect Core 1.0 §3.1.2.1) as the
// suite builds it in CreateAuthorizationRequestSteps.
type authRequest struct {
	Client       ClientConfig
	ResponseType string // "" leaves response_type out (oidcc-response-type-missing)
	ResponseMode string // "form_post" or ""
	Scope        string
	State        string // "" leaves state out
	Nonce        string // "" leaves nonce out
	RedirectURI  string
	Extra        url.Values
	// Post sends the request as an HTML form POST (OIDCCEnsurePostRequestSucceeds).
	Post bool
	// CodeVerifier, when set, adds an S256 code_challenge (RFC 7636 §4.2).
	CodeVerifier string
	// NoInteraction makes the user agent stop at any page (prompt=none).
	NoInteraction bool
}

// randomString is the suite's CreateRandomStateValue / CreateRandomNonceValue:
// alphanumeric, of length n.
func randomString(n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// newAuthRequest is CreateAuthorizationRequestSteps for the module's variant.
func (t *T) newAuthRequest() *authRequest {
	r := &authRequest{
		Client:       t.client,
		ResponseType: t.Variant.ResponseType,
		Scope:        "openid",
		State:        randomString(10),
		Nonce:        randomString(10),
		RedirectURI:  t.run.cfg.Runner.RedirectURI,
		Extra:        url.Values{},
	}
	if t.Variant.formPost() {
		r.ResponseMode = "form_post"
	}
	return r
}

func (r *authRequest) params() url.Values {
	v := url.Values{}
	v.Set("client_id", r.Client.ClientID)
	v.Set("redirect_uri", r.RedirectURI)
	v.Set("scope", r.Scope)
	if r.ResponseType != "" {
		v.Set("response_type", r.ResponseType)
	}
	if r.ResponseMode != "" {
		v.Set("response_mode", r.ResponseMode)
	}
	if r.State != "" {
		v.Set("state", r.State)
	}
	if r.Nonce != "" {
		v.Set("nonce", r.Nonce)
	}
	if r.CodeVerifier != "" {
		sum := sha256.Sum256([]byte(r.CodeVerifier))
		v.Set("code_challenge", base64.RawURLEncoding.EncodeToString(sum[:]))
		v.Set("code_challenge_method", "S256")
	}
	for k, vs := range r.Extra {
		v[k] = vs
	}
	return v
}

// authorize sends the browser to the authorization endpoint with r
// (BuildPlainRedirectToAuthorizationEndpoint + performRedirect).
func (t *T) authorize(r *authRequest) *Visit {
	ep := t.endpoint("authorization_endpoint")
	u, err := url.Parse(ep)
	if err != nil {
		t.fail("BuildPlainRedirectToAuthorizationEndpoint", "authorization_endpoint %q: %v", ep, err)
	}
	params := r.params()
	var visit *Visit
	if r.Post {
		t.note("sending the authorization request as an HTML form POST to %s", ep)
		visit, err = t.ua.PostForm(t.ctx, ep, params, NavOptions{NoInteraction: r.NoInteraction})
	} else {
		q := u.Query()
		for k, vs := range params {
			q[k] = vs
		}
		u.RawQuery = q.Encode()
		visit, err = t.ua.Get(t.ctx, u.String(), NavOptions{NoInteraction: r.NoInteraction})
	}
	if visit != nil {
		t.note("browser: %s", strings.Join(visit.Trail, " | "))
	}
	if err != nil {
		t.fail("BrowserNavigation", "%v", err)
	}
	if visit.Foreign != "" {
		t.fail("BrowserNavigation", "the OP sent the browser to %s, which is neither the OP nor the registered redirect URI", visit.Foreign)
	}
	return visit
}

// callback is what arrived at the runner, checked the way the suite's processCallback
// does for the response mode, and the parameters of the authorization response.
func (t *T) callback(r *authRequest, v *Visit) url.Values {
	if v.Callback == nil {
		where := "nothing"
		if v.Page != nil {
			where = fmt.Sprintf("a page (%s, HTTP %d, %q)", v.Page.URL, v.Page.Status, v.Page.Title)
		}
		t.fail("ExpectRedirectToRedirectUri", "the OP did not redirect the browser back to the client; it showed %s", where)
	}
	hit := v.Callback
	t.call("CheckMatchingCallbackParameters", Failure, nil, func() error { return checkCallbackTarget(hit, r.RedirectURI) })
	switch {
	case r.ResponseMode == "form_post":
		t.checkFormPost(hit)
		return hit.Body
	case r.ResponseType == "" || r.ResponseType == "code":
		// OAuth 2.0 Multiple Response Type Encoding Practices §2.1: code (and an error
		// for a request without response_type) uses the query.
		return hit.Query
	default:
		t.call("RejectAuthCodeInUrlQuery", Failure, []string{"OIDCC-3.3.2.5"}, func() error { return rejectInQuery(hit, "code") })
		t.call("RejectErrorInUrlQuery", Failure, []string{"OAuth2-RT-5"}, func() error { return rejectInQuery(hit, "error") })
		return hit.Fragment
	}
}

// checkFormPost is the suite's form_post callback checks (OAuth 2.0 Form Post Response
// Mode §2): a POST, urlencoded, nothing in the URL query.
func (t *T) checkFormPost(hit *CallbackHit) {
	t.call("CheckCallbackHttpMethodIsPost", Failure, []string{"OAuth2-FP-2"}, func() error {
		if hit.Method != "POST" {
			return fmt.Errorf("the callback used HTTP method %s, not POST", hit.Method)
		}
		return nil
	})
	t.call("CheckCallbackContentTypeIsFormUrlEncoded", Failure, []string{"OAuth2-FP-2"}, func() error {
		mt, _, _ := mime.ParseMediaType(hit.ContentType)
		if mt != "application/x-www-form-urlencoded" {
			return fmt.Errorf("the callback Content-Type is %q, not application/x-www-form-urlencoded", hit.ContentType)
		}
		return nil
	})
	t.call("RejectAuthCodeInUrlQuery", Failure, []string{"OIDCC-3.3.2.5"}, func() error { return rejectInQuery(hit, "code") })
	t.call("RejectErrorInUrlQuery", Failure, []string{"OAuth2-RT-5"}, func() error { return rejectInQuery(hit, "error") })
}

func rejectInQuery(hit *CallbackHit, name string) error {
	if hit.Query.Has(name) {
		return fmt.Errorf("%s was returned in the URL query, which this response mode must not use", name)
	}
	return nil
}

// checkCallbackTarget: the OP redirected to exactly the redirect_uri of the request,
// keeping any query it had (RFC 6749 §3.1.2).
func checkCallbackTarget(hit *CallbackHit, redirectURI string) error {
	want, err := url.Parse(redirectURI)
	if err != nil {
		return err
	}
	if hit.Path != want.Path {
		return fmt.Errorf("the OP redirected to path %q, not the redirect_uri's %q", hit.Path, want.Path)
	}
	for k, vs := range want.Query() {
		if got := hit.Query[k]; len(got) == 0 || got[0] != vs[0] {
			return fmt.Errorf("the redirect_uri's query parameter %s was not preserved", k)
		}
	}
	return nil
}

// onCallback is the suite's onAuthorizationCallbackResponse for a flow that must
// succeed: iss (RFC 9207), no error, state, then the code and access token.
func (t *T) onCallback(r *authRequest, resp url.Values) {
	t.call("ValidateIssIfPresentInAuthorizationResponse", Failure, []string{"OAuth2-iss-2"}, func() error {
		return checkIss(resp, t.issuer)
	})
	t.stop("CheckIfAuthorizationEndpointError", nil, func() error {
		if e := resp.Get("error"); e != "" {
			return fmt.Errorf("authorization endpoint returned error %q (%s)", e, resp.Get("error_description"))
		}
		return nil
	})
	t.call("CheckStateInAuthorizationResponse", Failure, []string{"OIDCC-3.1.2.5"}, func() error { return checkState(resp, r.State) })
	if strings.Contains(" "+r.ResponseType+" ", " code ") {
		t.stop("ExtractAuthorizationCodeFromAuthorizationResponse", nil, func() error { return present(resp, "code") })
	}
	if strings.Contains(" "+r.ResponseType+" ", " token ") {
		t.stop("ExtractAccessTokenFromAuthorizationResponse", nil, func() error { return present(resp, "access_token") })
	}
}

func present(v url.Values, name string) error {
	if v.Get(name) == "" {
		return fmt.Errorf("%s missing from the authorization response", name)
	}
	return nil
}

// checkIss is ValidateIssIfPresentInAuthorizationResponse (RFC 9207 §2.4).
func checkIss(resp url.Values, issuer string) error {
	if !resp.Has("iss") {
		return nil
	}
	if got := resp.Get("iss"); got != issuer {
		return fmt.Errorf("iss in the authorization response is %q, not the issuer %q", got, issuer)
	}
	return nil
}

// checkState is CheckStateInAuthorizationResponse (RFC 6749 §4.1.2: state exactly as
// sent; none when none was sent).
func checkState(resp url.Values, state string) error {
	got, has := resp.Get("state"), resp.Has("state")
	switch {
	case state == "" && has:
		return fmt.Errorf("state %q returned although none was sent", got)
	case state != "" && !has:
		return errors.New("state missing from the authorization response")
	case got != state:
		return fmt.Errorf("state mismatch: sent %q, got %q", state, got)
	}
	return nil
}

// errorChars are RFC 6749 §4.1.2.1's allowed characters of error and error_description.
var errorChars = regexp.MustCompile(`^[\x20-\x21\x23-\x5B\x5D-\x7E]*$`)

// checkErrorResponse is performGenericAuthorizationEndpointErrorResponseValidation.
func (t *T) checkErrorResponse(r *authRequest, resp url.Values) {
	t.call("CheckStateInAuthorizationResponse", Failure, []string{"OIDCC-3.1.2.6"}, func() error { return checkState(resp, r.State) })
	t.call("ValidateIssIfPresentInAuthorizationResponse", Failure, []string{"OAuth2-iss-2"}, func() error { return checkIss(resp, t.issuer) })
	t.call("EnsureErrorFromAuthorizationEndpointResponse", Failure, []string{"OIDCC-3.1.2.6"}, func() error {
		if resp.Get("error") == "" {
			return errors.New("the authorization response has no error")
		}
		return nil
	})
	t.call("RejectAuthCodeInAuthorizationEndpointResponse", Failure, []string{"OIDCC-3.1.2.6"}, func() error {
		if resp.Has("code") {
			return errors.New("an error response also contains a code")
		}
		return nil
	})
	t.call("CheckForUnexpectedParametersInErrorResponseFromAuthorizationEndpoint", Warn, []string{"OIDCC-3.1.2.6"}, func() error {
		var extra []string
		for k := range resp {
			switch k {
			case "error", "error_description", "error_uri", "state", "iss", "session_state":
			default:
				extra = append(extra, k)
			}
		}
		if len(extra) > 0 {
			return fmt.Errorf("unexpected parameters in the error response: %v", extra)
		}
		return nil
	})
	t.call("CheckErrorDescriptionFromAuthorizationEndpointResponseErrorContainsCRLFTAB", Warn, []string{"RFC6749-4.1.2.1"}, func() error {
		if strings.ContainsAny(resp.Get("error_description"), "\r\n\t") {
			return errors.New("error_description contains CR, LF or TAB")
		}
		return nil
	})
	t.call("ValidateErrorDescriptionFromAuthorizationEndpointResponseError", Failure, []string{"RFC6749-4.1.2.1"}, func() error {
		if d := resp.Get("error_description"); !errorChars.MatchString(strings.NewReplacer("\r", "", "\n", "", "\t", "").Replace(d)) {
			return fmt.Errorf("error_description has characters outside RFC 6749's set: %q", d)
		}
		return nil
	})
	t.call("ValidateErrorUriFromAuthorizationEndpointResponseError", Failure, []string{"RFC6749-4.1.2.1"}, func() error {
		if u := resp.Get("error_uri"); u != "" {
			if _, err := url.ParseRequestURI(u); err != nil {
				return fmt.Errorf("error_uri %q is not a URI", u)
			}
		}
		return nil
	})
}

// expectError checks that resp is an error with one of codes (CheckErrorFromAuthorizationEndpoint*).
func (t *T) expectError(cond string, reqs []string, resp url.Values, codes ...string) {
	t.call(cond, Failure, reqs, func() error {
		got := resp.Get("error")
		for _, c := range codes {
			if got == c {
				return nil
			}
		}
		return fmt.Errorf("error is %q, expected one of %v", got, codes)
	})
}

// pageOrError is the suite's "ExpectingAuthorizationEndpointPlaceholderOrCallback": the
// OP either redirects back with an error, checked by onError, or shows an error page,
// which ends the module in REVIEW.
func (t *T) pageOrError(r *authRequest, placeholder string, onError func(resp url.Values)) {
	v := t.authorize(r)
	if v.Callback == nil {
		t.placeholder(placeholder, v.Page)
		return
	}
	resp := t.callback(r, v)
	t.checkErrorResponse(r, resp)
	onError(resp)
}

// pageOnly is the suite's "ExpectingAuthorizationFailure": the OP must show an error
// page; a redirect to the client (to any URI under the runner's base URL) fails.
func (t *T) pageOnly(r *authRequest, placeholder string) {
	v := t.authorize(r)
	if v.Callback != nil {
		t.fail("EnsureNoRedirect", "the OP redirected the browser to %s instead of showing an error page", redactURL(v.Callback.URL))
	}
	t.placeholder(placeholder, v.Page)
}

func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return s
	}
	return redact(u)
}
