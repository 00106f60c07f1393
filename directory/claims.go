package directory

import (
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"

	"golang.org/x/text/language"
)

// claimKind is the JSON type of a standard claim.
type claimKind int

const (
	kindString claimKind = iota
	kindBool
	kindURL
	kindDate
	kindLocale
	kindAddress
)

// standardClaims are the claims of OIDC Core §5.1 a user record may hold.
// sub, email and updated_at are managed by Janua itself.
func standardClaims() map[string]claimKind {
	return map[string]claimKind{
		"name": kindString, "given_name": kindString, "family_name": kindString, "middle_name": kindString,
		"nickname": kindString, "preferred_username": kindString, "gender": kindString, "zoneinfo": kindString,
		"phone_number": kindString, "profile": kindURL, "picture": kindURL, "website": kindURL,
		"birthdate": kindDate, "locale": kindLocale, "phone_number_verified": kindBool, "email_verified": kindBool,
		"address": kindAddress,
	}
}

// addressMembers are the members of the address claim (OIDC Core §5.1.1).
func addressMembers() []string {
	return []string{"formatted", "street_address", "locality", "region", "postal_code", "country"}
}

// birthdatePattern: YYYY-MM-DD, YYYY, or 0000-MM-DD when the year is withheld.
var birthdatePattern = regexp.MustCompile(`^(\d{4}|\d{4}-\d{2}-\d{2})$`)

// ValidateClaims checks that claims holds only standard claims of the right
// JSON types and returns every problem, sorted, or nil.
func ValidateClaims(claims map[string]any) []string {
	std := standardClaims()
	var probs []string
	for name, v := range claims {
		kind, ok := std[name]
		if !ok {
			switch name {
			case "sub", "email", "updated_at":
				probs = append(probs, fmt.Sprintf("%s is managed by Janua and cannot be set as a claim", name))
			default:
				probs = append(probs, fmt.Sprintf("%s is not a standard OpenID Connect claim (OIDC Core §5.1)", name))
			}
			continue
		}
		if why := checkClaim(kind, v); why != "" {
			probs = append(probs, name+": "+why)
		}
	}
	sort.Strings(probs)
	return probs
}

func checkClaim(kind claimKind, v any) string {
	switch kind {
	case kindBool:
		if _, ok := v.(bool); !ok {
			return "must be true or false"
		}
		return ""
	case kindAddress:
		m, ok := v.(map[string]any)
		if !ok {
			return "must be a JSON object"
		}
		for k, mv := range m {
			known := false
			for _, a := range addressMembers() {
				known = known || a == k
			}
			if !known {
				return fmt.Sprintf("%q is not an address member (%s)", k, strings.Join(addressMembers(), ", "))
			}
			if _, ok := mv.(string); !ok {
				return k + " must be a string"
			}
		}
		return ""
	}
	s, ok := v.(string)
	if !ok {
		return "must be a string"
	}
	if len(s) > 1024 {
		return "must be at most 1024 characters"
	}
	switch kind {
	case kindURL:
		u, err := url.Parse(s)
		if err != nil || !u.IsAbs() || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return "must be an absolute http(s) URL"
		}
	case kindDate:
		if !birthdatePattern.MatchString(s) {
			return "must be YYYY-MM-DD, or YYYY (OIDC Core §5.1)"
		}
	case kindLocale:
		if _, err := language.Parse(s); err != nil {
			return "must be a BCP 47 language tag like en-US"
		}
	}
	return ""
}
