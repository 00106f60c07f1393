package conformance

// The OpenID Connect OP certification plans, transcribed from the suite's
// net/openid/conformance/openid/OIDCC*TestPlan.java: the same modules, in the same
// order, with the same variants. Every plan runs with client_registration=static_client
// and server_metadata=discovery. Match these rows against
// shared/docs/conformance-plans.md §1.

func variant(responseType, auth, mode string) Variant {
	return Variant{ResponseType: responseType, ClientAuthType: auth, ResponseMode: mode,
		ClientRegistration: "static_client", ServerMetadata: "discovery"}
}

// basicModules is OIDCCBasicTestPlan's first ModuleListEntry.
func basicModules() []*Module {
	return []*Module{
		oidccServer,                // OP-Response-code
		oidccResponseTypeMissing,   // OP-Response-Missing
		oidccIDTokenSignature,      // OP-IDToken-Signature & OP-IDToken-kid (not with static_client)
		oidccIDTokenUnsigned,       // OP-IDToken-none (not with static_client)
		oidccUserinfoGet,           // OP-UserInfo-Endpoint
		oidccUserinfoPostHeader,    // OP-UserInfo-Header
		oidccUserinfoPostBody,      // OP-UserInfo-Body
		oidccNoNonceCode,           // OP-nonce-NoReq-code
		oidccScopeProfile,          // OP-scope-profile
		oidccScopeEmail,            // OP-scope-email
		oidccScopeAddress,          // OP-scope-address
		oidccScopePhone,            // OP-scope-phone
		oidccScopeAll,              // OP-scope-All
		oidccScopeOrder,            // OIDCEnsureOtherScopeOrderSucceeds
		oidccDisplayPage,           // OP-display-page
		oidccDisplayPopup,          // OP-display-popup
		oidccPromptLogin,           // OP-prompt-login
		oidccPromptNoneNotLoggedIn, // OP-prompt-none-NotLoggedIn
		oidccPromptNoneLoggedIn,    // OP-prompt-none-LoggedIn
		oidccMaxAge1,               // OP-Req-max_age=1
		oidccMaxAge10000,           // OP-Req-max_age=10000
		oidccUnknownParam,          // OP-Req-NotUnderstood
		oidccIDTokenHint,           // OP-Req-id_token_hint
		oidccLoginHint,             // OP-Req-login_hint
		oidccUILocales,             // OP-Req-ui_locales
		oidccClaimsLocales,         // OP-Req-claims_locales
		oidccAcrValues,             // OP-Req-acr_values
		oidccCodeReuse,             // OP-OAuth-2nd
		oidccCodeReuse30s,          // OP-OAuth-2nd-30s
		oidccRegisteredRedirectURI, // OP-redirect_uri-NotReg
		oidccPostRequest,           // OIDCCEnsurePostRequestSucceeds
	}
}

// basicTail is OIDCCBasicTestPlan's last ModuleListEntry.
func basicTail() []*Module {
	return []*Module{
		oidccRequestURIUnsigned,       // OP-request_uri-Unsigned (not with static_client)
		oidccUnsignedRequestObject,    // OP-request-Unsigned
		oidccClaimsEssential,          // OP-claims-essential
		oidccRequestObjectRedirectURI, // request object's redirect_uri takes precedence
		oidccRefreshToken,             // skipped if no refresh token is issued
		oidccPKCE,                     // PKCE must never break OIDC clients
	}
}

func codeFlowPlan(name, source, profile, mode string) *Plan {
	return &Plan{Name: name, Source: source, CertProfile: profile, Entries: []Entry{
		{Variant: variant("code", "client_secret_basic", mode), Modules: basicModules()},
		{Variant: variant("code", "client_secret_post", mode), Modules: []*Module{oidccServerClientSecretPost}},
		{Variant: variant("code", "client_secret_basic", mode), Modules: basicTail()},
	}}
}

// implicitModules is OIDCCImplicitTestPlan's list, run for both response types.
func implicitModules() []*Module {
	return []*Module{
		oidccServer, oidccIDTokenSignature, oidccNoNonceFails,
		oidccScopeProfile, oidccScopeEmail, oidccScopeAddress, oidccScopePhone, oidccScopeAll, oidccScopeOrder,
		oidccDisplayPage, oidccDisplayPopup, oidccPromptLogin, oidccPromptNoneNotLoggedIn, oidccPromptNoneLoggedIn,
		oidccMaxAge1, oidccMaxAge10000, oidccUnknownParam, oidccIDTokenHint, oidccLoginHint, oidccUILocales,
		oidccClaimsLocales, oidccAcrValues, oidccRegisteredRedirectURI, oidccRequestURIUnsigned,
		oidccUnsignedRequestObject, oidccRequestObjectRedirectURI, oidccClaimsEssential,
	}
}

// hybridModules is one "run of the table" of OIDCCHybridTestPlan; first is true for
// the code id_token run, which alone has oidcc-response-type-missing and the PKCE
// module, and uses the nonce-required module (as does code id_token token).
func hybridPlanEntries(rt string, first bool) []Entry {
	nonce := oidccNoNonceFails
	if rt == "code token" {
		nonce = oidccNoNonceCode
	}
	head := []*Module{oidccServer}
	if first {
		head = append(head, oidccResponseTypeMissing)
	}
	head = append(head, oidccIDTokenSignature, oidccUserinfoGet, oidccUserinfoPostHeader, oidccUserinfoPostBody, nonce,
		oidccScopeProfile, oidccScopeEmail, oidccScopeAddress, oidccScopePhone, oidccScopeAll)
	if first {
		head = append(head, oidccScopeOrder)
	}
	head = append(head, oidccDisplayPage, oidccDisplayPopup, oidccPromptLogin, oidccPromptNoneNotLoggedIn,
		oidccPromptNoneLoggedIn, oidccMaxAge1, oidccMaxAge10000, oidccUnknownParam, oidccIDTokenHint, oidccLoginHint,
		oidccUILocales, oidccClaimsLocales, oidccAcrValues, oidccCodeReuse, oidccCodeReuse30s, oidccRegisteredRedirectURI)
	tail := []*Module{oidccRequestURIUnsigned, oidccUnsignedRequestObject, oidccClaimsEssential, oidccRequestObjectRedirectURI, oidccRefreshToken}
	if first {
		tail = append(tail, oidccPKCE)
	}
	return []Entry{
		{Variant: variant(rt, "client_secret_basic", "default"), Modules: head},
		{Variant: variant(rt, "client_secret_post", "default"), Modules: []*Module{oidccServerClientSecretPost}},
		{Variant: variant(rt, "client_secret_basic", "default"), Modules: tail},
	}
}

// Plans lists every plan the runner knows, runnable or not, in a stable order.
func Plans() []*Plan {
	basic := codeFlowPlan("oidcc-basic-certification-test-plan", "OIDCCBasicTestPlan", "Basic OP", "default")
	formPost := codeFlowPlan("oidcc-formpost-basic-certification-test-plan", "OIDCCFormPostBasicTestPlan", "Form Post OP", "form_post")
	config := &Plan{Name: "oidcc-config-certification-test-plan", Source: "OIDCCConfigTestPlan", CertProfile: "Config OP",
		Entries: []Entry{{Variant: Variant{ClientRegistration: "static_client", ServerMetadata: "discovery"}, Modules: []*Module{oidccDiscovery}}}}
	implicit := &Plan{Name: "oidcc-implicit-certification-test-plan", Source: "OIDCCImplicitTestPlan", CertProfile: "Implicit OP",
		Entries: []Entry{
			{Variant: variant("id_token", "client_secret_basic", "default"), Modules: implicitModules()},
			{Variant: variant("id_token token", "client_secret_basic", "default"), Modules: implicitModules()},
			{Variant: variant("id_token token", "client_secret_basic", "default"), Modules: []*Module{
				oidccUserinfoGet, oidccUserinfoPostHeader, oidccUserinfoPostBody, oidccResponseTypeMissing}},
		}}
	var hybridEntries []Entry
	hybridEntries = append(hybridEntries, hybridPlanEntries("code id_token", true)...)
	hybridEntries = append(hybridEntries, hybridPlanEntries("code token", false)...)
	hybridEntries = append(hybridEntries, hybridPlanEntries("code id_token token", false)...)
	hybrid := &Plan{Name: "oidcc-hybrid-certification-test-plan", Source: "OIDCCHybridTestPlan", CertProfile: "Hybrid OP", Entries: hybridEntries}
	logout := &Plan{Name: "oidcc-rp-initiated-logout-certification-test-plan", Source: "OIDCCRpInitiatedLogoutTestPlan", CertProfile: "RP-Initiated OP",
		Entries: []Entry{
			{Variant: Variant{ClientRegistration: "static_client", ServerMetadata: "discovery"}, Modules: []*Module{oidccRPLogoutDiscovery}},
			{Variant: variant("code", "client_secret_basic", "default"), Modules: []*Module{
				oidccRPLogout, oidccRPLogoutBadRedirect, oidccRPLogoutModifiedHint, oidccRPLogoutNoHint, oidccRPLogoutNoParams,
				oidccRPLogoutNoRedirect, oidccRPLogoutNoState, oidccRPLogoutOnlyState, oidccRPLogoutQueryAdded, oidccRPLogoutBadHint,
			}},
		}}
	return []*Plan{
		basic, config, formPost, implicit, hybrid, logout,
		// Plans to add as Janua's features arrive: each needs its modules' Run functions
		// (the flow, callback and token machinery above is shared).
		{Name: "oidcc-dynamic-certification-test-plan", Source: "OIDCCDynamicTestPlan", CertProfile: "Dynamic OP",
			Absent: "needs dynamic client registration (RFC 7591), private_key_jwt and request_uri in the OP, and the 23 dynamic modules here"},
		{Name: "oidcc-backchannel-rp-initiated-logout-certification-test-plan", Source: "OIDCCBackchannelRpInitiatedLogoutTestPlan", CertProfile: "Back-Channel OP",
			Absent: "needs back-channel logout in the OP and a logout_token receiver at <base>/backchannel_logout here"},
		{Name: "oidcc-frontchannel-rp-initiated-logout-certification-test-plan", Source: "OIDCCFrontchannelRpInitiatedLogoutTestPlan", CertProfile: "Front-Channel OP",
			Absent: "needs front-channel logout in the OP and iframe loading in the user agent"},
	}
}
