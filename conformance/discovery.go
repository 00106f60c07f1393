package conformance

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/url"
	"regexp"
	"sort"
	"strings"
)

const wellKnown = "/.well-known/openid-configuration"

// fetchDiscovery is GetDynamicServerConfiguration (OpenID Connect Discovery 1.0 §4):
// GET the discovery URL, 200, a JSON object.
func (t *T) fetchDiscovery() {
	t.stop("GetDynamicServerConfiguration", []string{"OIDCD-4"}, func() error {
		doc, err := t.run.discovery(t.ctx)
		if err != nil {
			return err
		}
		t.server = doc
		t.issuer, _ = doc["issuer"].(string)
		return nil
	})
}

// setup is the suite's AbstractOIDCCServerTest.configure: discovery, the sanity check
// of the server configuration, the server's keys, and the static client.
func (t *T) setup() {
	t.fetchDiscovery()
	t.stop("CheckServerConfiguration", nil, func() error {
		var missing []string
		for _, k := range []string{"issuer", "authorization_endpoint", "jwks_uri"} {
			if t.endpoint(k) == "" {
				missing = append(missing, k)
			}
		}
		if !t.Variant.implicitFlow() && t.endpoint("token_endpoint") == "" {
			missing = append(missing, "token_endpoint")
		}
		if len(missing) > 0 {
			return fmt.Errorf("server configuration lacks %s", strings.Join(missing, ", "))
		}
		return nil
	})
	t.fetchJWKS()
	t.client = t.run.cfg.Client
	switch t.Variant.ClientAuthType {
	case "client_secret_post":
		t.call("EnsureServerConfigurationSupportsClientSecretPost", Failure, []string{"OIDCD-3"}, func() error {
			return supportsAuthMethod(t.server, "client_secret_post")
		})
	case "client_secret_basic":
		t.call("EnsureServerConfigurationSupportsClientSecretBasic", Failure, []string{"OIDCD-3"}, func() error {
			return supportsAuthMethod(t.server, "client_secret_basic")
		})
	}
	t.ua = t.newUserAgent()
}

// supportsAuthMethod: token_endpoint_auth_methods_supported defaults to
// client_secret_basic (OpenID Connect Discovery 1.0 §3).
func supportsAuthMethod(server map[string]any, method string) error {
	list, present := server["token_endpoint_auth_methods_supported"]
	if !present {
		if method == "client_secret_basic" {
			return nil
		}
		return fmt.Errorf("token_endpoint_auth_methods_supported is absent (default client_secret_basic), %s not supported", method)
	}
	if !containsString(list, method) {
		return fmt.Errorf("token_endpoint_auth_methods_supported %v does not include %s", list, method)
	}
	return nil
}

func containsString(list any, s string) bool {
	arr, _ := list.([]any)
	for _, v := range arr {
		if v == s {
			return true
		}
	}
	return false
}

func stringList(v any) ([]string, error) {
	arr, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("is not a JSON array: %v", v)
	}
	out := make([]string, 0, len(arr))
	for _, e := range arr {
		s, ok := e.(string)
		if !ok {
			return nil, fmt.Errorf("contains a non-string %v", e)
		}
		out = append(out, s)
	}
	return out, nil
}

// decodeDiscovery checks the response is a JSON object served as JSON.
func decodeDiscovery(status int, ctype string, body []byte) (map[string]any, error) {
	if status != 200 {
		return nil, fmt.Errorf("returned HTTP %d", status)
	}
	if mt, _, _ := mime.ParseMediaType(ctype); mt != "application/json" {
		return nil, fmt.Errorf("Content-Type is %q, not application/json", ctype)
	}
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("is not a JSON object: %w", err)
	}
	return doc, nil
}

// httpsURL says v is an absolute https URL without a fragment.
func httpsURL(v string) error {
	u, err := url.Parse(v)
	if err != nil {
		return err
	}
	if u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("%q is not an https URL", v)
	}
	if u.Fragment != "" {
		return fmt.Errorf("%q has a fragment", v)
	}
	return nil
}

// checkIssuerMatchesDiscoveryURL is CheckDiscEndpointIssuer (OpenID Connect Discovery
// 1.0 §4.3): the issuer is the discovery URL without the well-known suffix.
func checkIssuerMatchesDiscoveryURL(discoveryURL, issuer string) error {
	if !strings.HasSuffix(discoveryURL, wellKnown) {
		return fmt.Errorf("discovery URL %q does not end with %s", discoveryURL, wellKnown)
	}
	want := strings.TrimSuffix(discoveryURL, wellKnown)
	if strings.TrimSuffix(issuer, "/") != strings.TrimSuffix(want, "/") {
		return fmt.Errorf("issuer %q does not match the discovery URL's prefix %q", issuer, want)
	}
	u, err := url.Parse(issuer)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("issuer %q is not an https URL without query and fragment", issuer)
	}
	return nil
}

// knownMetadata is every server metadata name registered with IANA ("OAuth
// Authorization Server Metadata") or defined by OpenID Connect Discovery, Session and
// Logout specifications; anything else draws the suite's WARNING.
var knownMetadata = map[string]bool{}

func init() {
	for _, k := range strings.Fields(`issuer authorization_endpoint token_endpoint userinfo_endpoint jwks_uri
	registration_endpoint scopes_supported response_types_supported response_modes_supported grant_types_supported
	acr_values_supported subject_types_supported id_token_signing_alg_values_supported
	id_token_encryption_alg_values_supported id_token_encryption_enc_values_supported
	userinfo_signing_alg_values_supported userinfo_encryption_alg_values_supported userinfo_encryption_enc_values_supported
	request_object_signing_alg_values_supported request_object_encryption_alg_values_supported
	request_object_encryption_enc_values_supported token_endpoint_auth_methods_supported
	token_endpoint_auth_signing_alg_values_supported display_values_supported claim_types_supported claims_supported
	service_documentation claims_locales_supported ui_locales_supported claims_parameter_supported
	request_parameter_supported request_uri_parameter_supported require_request_uri_registration op_policy_uri op_tos_uri
	revocation_endpoint revocation_endpoint_auth_methods_supported revocation_endpoint_auth_signing_alg_values_supported
	introspection_endpoint introspection_endpoint_auth_methods_supported introspection_endpoint_auth_signing_alg_values_supported
	code_challenge_methods_supported signed_metadata device_authorization_endpoint tls_client_certificate_bound_access_tokens
	mtls_endpoint_aliases nfv_token_signing_alg_values_supported nfv_token_encryption_alg_values_supported
	nfv_token_encryption_enc_values_supported userinfo_endpoint_auth_methods_supported
	require_signed_request_object pushed_authorization_request_endpoint require_pushed_authorization_requests
	introspection_signing_alg_values_supported introspection_encryption_alg_values_supported
	introspection_encryption_enc_values_supported authorization_response_iss_parameter_supported
	authorization_signing_alg_values_supported authorization_encryption_alg_values_supported
	authorization_encryption_enc_values_supported backchannel_token_delivery_modes_supported
	backchannel_authentication_endpoint backchannel_authentication_request_signing_alg_values_supported
	backchannel_user_code_parameter_supported check_session_iframe end_session_endpoint
	frontchannel_logout_supported frontchannel_logout_session_supported backchannel_logout_supported
	backchannel_logout_session_supported dpop_signing_alg_values_supported authorization_details_types_supported
	prompt_values_supported protected_resources verified_claims_supported trust_frameworks_supported
	evidence_supported documents_supported documents_methods_supported documents_validation_methods_supported
	documents_verification_methods_supported electronic_records_supported claims_in_verified_claims_supported
	attachments_supported digest_algorithms_supported native_sso_supported client_registration_types_supported
	federation_registration_endpoint request_authentication_methods_supported
	request_authentication_signing_alg_values_supported authorization_challenge_endpoint
	backchannel_authentication_request_encryption_alg_values_supported
	backchannel_authentication_request_encryption_enc_values_supported
	client_id_metadata_document_supported`) {
		knownMetadata[k] = true
	}
}

func unknownMetadata(server map[string]any) []string {
	var out []string
	for k := range server {
		if !knownMetadata[k] {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// bcp47 is the syntax of a language tag (RFC 5646 §2.1, simplified to its shape).
var bcp47 = regexp.MustCompile(`^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$`)

// scopeToken is RFC 6749 §3.3's scope-token: %x21 / %x23-5B / %x5D-7E.
var scopeToken = regexp.MustCompile(`^[\x21\x23-\x5B\x5D-\x7E]+$`)
