package consent

import "strings"

// scopeView is one requested scope as the page words it.
type scopeView struct {
	Name, Title, Detail string
}

// describedScopes are the scopes the page explains in plain words: OpenID
// Connect's (OIDC Core §3.1.2.1 openid, §5.4 profile, email, address, phone,
// §11 offline_access). Any other scope is shown by its name.
func describedScopes() []string {
	return []string{"openid", "profile", "email", "address", "phone", "offline_access"}
}

// maxShownScopes bounds the list a page renders.
const maxShownScopes = 50

// requestedScopes splits the scope parameter (RFC 6749 §3.3: space-
// delimited, order irrelevant) into its distinct values, in order.
func requestedScopes(scope string) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range strings.Fields(scope) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// describe words scopes in lang.
func describe(t func(lang, key string, args ...any) string, lang string, scopes []string) []scopeView {
	known := map[string]bool{}
	for _, s := range describedScopes() {
		known[s] = true
	}
	var out []scopeView
	for _, s := range scopes {
		if len(out) == maxShownScopes {
			break
		}
		if known[s] {
			out = append(out, scopeView{Name: s, Title: t(lang, "scope."+s), Detail: t(lang, "scope."+s+".detail")})
			continue
		}
		out = append(out, scopeView{Name: s, Title: s, Detail: t(lang, "scope.custom.detail")})
	}
	return out
}
