package conformance

import (
	"errors"
	"fmt"
	"strings"
)

// OIDCCDiscoveryEndpointVerification (OpenID Connect Discovery 1.0 §3, §4), run with a
// static client: the Config OP profile's one module.
var oidccDiscovery = &Module{Name: "oidcc-discovery-endpoint-verification", Bare: true,
	Summary: "discovery: https issuer equal to the discovery URL's prefix, required metadata, valid JWKS",
	Run:     func(t *T) { t.verifyDiscovery() }}

// OIDCCRpInitiatedLogoutDiscoveryEndpointVerification: the discovery checks plus an
// https end_session_endpoint (OpenID Connect RP-Initiated Logout 1.0 §2.1).
var oidccRPLogoutDiscovery = &Module{Name: "oidcc-rp-initiated-logout-discovery-endpoint-verification", Bare: true,
	Summary: "discovery has an https end_session_endpoint",
	Run: func(t *T) {
		t.verifyDiscovery()
		t.call("CheckDiscEndpointEndSessionEndpoint", Failure, []string{"OIDCRIL-2.1"}, func() error {
			ep := t.endpoint("end_session_endpoint")
			if ep == "" {
				return errors.New("end_session_endpoint missing from the discovery document")
			}
			return httpsURL(ep)
		})
	}}

func (t *T) verifyDiscovery() {
	discoveryURL := t.run.cfg.Server.DiscoveryURL
	t.call("CheckDiscEndpointDiscoveryUrl", Failure, []string{"OIDCD-4"}, func() error {
		if err := httpsURL(discoveryURL); err != nil {
			return fmt.Errorf("server.discoveryUrl: %v", err)
		}
		if !strings.HasSuffix(discoveryURL, wellKnown) {
			return fmt.Errorf("server.discoveryUrl does not end with %s", wellKnown)
		}
		return nil
	})
	t.fetchDiscovery()
	s := t.server
	t.call("CheckDiscEndpointIssuer", Failure, []string{"OIDCD-4.3", "OIDCD-3"}, func() error {
		return checkIssuerMatchesDiscoveryURL(discoveryURL, t.issuer)
	})
	t.call("ValidateDiscoveryMetadataTypes", Failure, []string{"OIDCD-3"}, func() error { return metadataTypes(s) })
	t.call("CheckDiscEndpointResponseTypesSupported", Failure, []string{"OIDCD-3"}, func() error {
		list, err := stringList(s["response_types_supported"])
		if err != nil {
			return fmt.Errorf("response_types_supported %v", err)
		}
		oidc := map[string]bool{"code": true, "id_token": true, "id_token token": true, "code id_token": true, "code token": true, "code id_token token": true}
		for _, rt := range list {
			if oidc[normalizeResponseType(rt)] {
				return nil
			}
		}
		return fmt.Errorf("response_types_supported %v has no OpenID Connect response type", list)
	})
	t.call("CheckDiscEndpointSubjectTypesSupported", Failure, []string{"OIDCD-3"}, func() error {
		list, err := stringList(s["subject_types_supported"])
		if err != nil {
			return fmt.Errorf("subject_types_supported %v", err)
		}
		if len(list) == 0 {
			return errors.New("subject_types_supported is empty")
		}
		for _, v := range list {
			if v != "public" && v != "pairwise" {
				return fmt.Errorf("subject_types_supported has %q, neither public nor pairwise", v)
			}
		}
		return nil
	})
	t.call("CheckDiscEndpointIdTokenSigningAlgValuesSupportedContainsRS256", Failure, []string{"OIDCD-3"}, func() error {
		list, err := stringList(s["id_token_signing_alg_values_supported"])
		if err != nil {
			return fmt.Errorf("id_token_signing_alg_values_supported %v", err)
		}
		if !containsStr(list, "RS256") {
			return fmt.Errorf("id_token_signing_alg_values_supported %v lacks RS256", list)
		}
		return nil
	})
	if _, ok := s["userinfo_signing_alg_values_supported"]; ok {
		t.call("CheckDiscEndpointUserinfoSigningAlgValuesSupported", Failure, []string{"OIDCD-3"}, func() error {
			_, err := stringList(s["userinfo_signing_alg_values_supported"])
			return err
		})
	}
	t.call("CheckDiscEndpointAllEndpointsAreHttps", Failure, []string{"OIDCD-3"}, func() error {
		for k, v := range s {
			if strings.HasSuffix(k, "_endpoint") || k == "jwks_uri" {
				str, _ := v.(string)
				if err := httpsURL(str); err != nil {
					return fmt.Errorf("%s: %v", k, err)
				}
			}
		}
		for _, k := range []string{"authorization_endpoint", "jwks_uri"} {
			if _, ok := s[k]; !ok {
				return fmt.Errorf("%s missing", k)
			}
		}
		return nil
	})
	t.call("CheckDiscEndpointUserinfoEndpoint", Warn, []string{"OIDCD-3"}, func() error {
		if _, ok := s["userinfo_endpoint"]; !ok {
			return errors.New("userinfo_endpoint missing (RECOMMENDED)")
		}
		return nil
	})
	if _, ok := s["grant_types_supported"]; ok {
		t.call("CheckDiscEndpointGrantTypesSupported", Failure, []string{"OIDCD-3"}, func() error {
			list, err := stringList(s["grant_types_supported"])
			if err == nil && len(list) == 0 {
				err = errors.New("is empty")
			}
			if err != nil {
				return fmt.Errorf("grant_types_supported %v", err)
			}
			return nil
		})
	}
	if _, ok := s["scopes_supported"]; ok {
		t.call("CheckDiscEndpointScopesSupportedContainsOpenId", Failure, []string{"OIDCD-3"}, func() error {
			list, err := stringList(s["scopes_supported"])
			if err != nil {
				return fmt.Errorf("scopes_supported %v", err)
			}
			for _, sc := range list {
				if !scopeToken.MatchString(sc) {
					return fmt.Errorf("scopes_supported has an invalid scope token %q (RFC 6749 §3.3)", sc)
				}
			}
			if !containsStr(list, "openid") {
				return fmt.Errorf("scopes_supported %v lacks openid", list)
			}
			return nil
		})
	} else {
		t.call("CheckDiscEndpointScopesSupported", Warn, []string{"OIDCD-3"}, func() error { return errors.New("scopes_supported missing (RECOMMENDED)") })
	}
	t.call("CheckDiscEndpointClaimsSupported", Warn, []string{"OIDCD-3"}, func() error {
		if _, ok := s["claims_supported"]; !ok {
			return errors.New("claims_supported missing (RECOMMENDED)")
		}
		return nil
	})
	if list, ok := s["request_object_signing_alg_values_supported"]; ok {
		t.call("CheckDiscRequestObjectSigningAlgValuesSupportedIncludesRS256", Warn, []string{"OIDCD-3"}, func() error {
			if !containsString(list, "RS256") {
				return fmt.Errorf("request_object_signing_alg_values_supported %v lacks RS256", list)
			}
			return nil
		})
	}
	for _, k := range []string{"claims_locales_supported", "ui_locales_supported"} {
		if v, ok := s[k]; ok {
			t.call("CheckDiscEndpointLocales", Failure, []string{"OIDCD-3", "RFC5646"}, func() error {
				list, err := stringList(v)
				if err != nil {
					return fmt.Errorf("%s %v", k, err)
				}
				for _, l := range list {
					if !bcp47.MatchString(l) {
						return fmt.Errorf("%s has %q, not a BCP47 language tag", k, l)
					}
				}
				return nil
			})
		}
	}
	if v, ok := s["code_challenge_methods_supported"]; ok {
		t.call("CheckDiscEndpointCodeChallengeMethodsSupported", Failure, []string{"RFC8414-2"}, func() error {
			_, err := stringList(v)
			return err
		})
	}
	for _, k := range []string{"request_parameter_supported", "request_uri_parameter_supported", "claims_parameter_supported"} {
		t.note("%s: %v", k, s[k])
	}
	t.call("CheckDiscEndpointUnknownMetadata", Warn, []string{"OIDCD-3"}, func() error {
		if u := unknownMetadata(s); len(u) > 0 {
			return fmt.Errorf("unknown metadata parameters: %s", strings.Join(u, ", "))
		}
		return nil
	})
	t.fetchJWKS()
}

func normalizeResponseType(rt string) string {
	f := strings.Fields(rt)
	order := map[string]int{"code": 0, "id_token": 1, "token": 2}
	for i := 0; i < len(f); i++ {
		for j := i + 1; j < len(f); j++ {
			if order[f[j]] < order[f[i]] {
				f[i], f[j] = f[j], f[i]
			}
		}
	}
	return strings.Join(f, " ")
}

// metadataTypes checks the JSON types of the registered members (the suite validates
// the document against a JSON schema).
func metadataTypes(s map[string]any) error {
	var bad []string
	for k, v := range s {
		switch {
		case strings.HasSuffix(k, "_supported") && (strings.HasPrefix(k, "request_parameter") || strings.HasPrefix(k, "request_uri_parameter") ||
			strings.HasPrefix(k, "claims_parameter") || strings.HasPrefix(k, "require_") || strings.HasPrefix(k, "frontchannel_logout_") ||
			strings.HasPrefix(k, "backchannel_logout_") || strings.HasPrefix(k, "authorization_response_iss") ||
			strings.HasPrefix(k, "backchannel_user_code") || strings.HasPrefix(k, "native_sso") || strings.HasPrefix(k, "client_id_metadata")):
			if _, ok := v.(bool); !ok {
				bad = append(bad, k+" (not a boolean)")
			}
		case strings.HasSuffix(k, "_supported"):
			if _, err := stringList(v); err != nil {
				bad = append(bad, k+" ("+err.Error()+")")
			}
		case strings.HasSuffix(k, "_endpoint") || strings.HasSuffix(k, "_uri") || k == "issuer" || k == "service_documentation":
			if _, ok := v.(string); !ok {
				bad = append(bad, k+" (not a string)")
			}
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("metadata of the wrong JSON type: %s", strings.Join(bad, ", "))
	}
	return nil
}
