package oidc

import (
	"encoding/json"
	"slices"

	"github.com/madfam-org/janua/storage"
)

// claimsRequest is the "claims" request parameter (OIDC Core §5.5): the
// individual claims a client asks for in the userinfo response and in the
// ID token.
type claimsRequest struct {
	Userinfo map[string]json.RawMessage `json:"userinfo"`
	IDToken  map[string]json.RawMessage `json:"id_token"`
}

// scopeClaims are the claims each standard scope releases (OIDC Core §5.4).
func scopeClaims() map[string][]string {
	return map[string][]string{
		"profile": {"name", "family_name", "given_name", "middle_name", "nickname", "preferred_username", "profile",
			"picture", "website", "gender", "birthdate", "zoneinfo", "locale", "updated_at"},
		"email":   {"email", "email_verified"},
		"address": {"address"},
		"phone":   {"phone_number", "phone_number_verified"},
	}
}

// releasedClaims names the user claims a token with these scopes may carry,
// plus the ones requested individually through the claims parameter (OIDC
// Core §5.5), as long as they belong to a scope the client is registered
// for: a client never reads more than its registration allows.
func releasedClaims(granted []string, individually map[string]json.RawMessage, allowedScopes []string) []string {
	var out []string
	sc := scopeClaims()
	for _, s := range granted {
		out = append(out, sc[s]...)
	}
	for name := range individually {
		if slices.Contains(out, name) {
			continue
		}
		for _, s := range allowedScopes {
			if slices.Contains(sc[s], name) {
				out = append(out, name)
				break
			}
		}
	}
	return out
}

// userClaims returns the named claims of u that have values.
func userClaims(u *storage.User, names []string) map[string]any {
	out := map[string]any{}
	for _, n := range names {
		switch n {
		case "email":
			out["email"] = u.Email
		case "email_verified":
			out["email_verified"] = u.EmailVerified
		case "updated_at":
			out["updated_at"] = u.UpdatedAt.Unix() // OIDC Core §5.1: seconds since the epoch
		default:
			if v, ok := u.Claims[n]; ok && v != nil {
				out[n] = v
			}
		}
	}
	return out
}
