package login

import (
	"slices"
	"strings"
)

// Authentication Context Class References (OIDC Core §2 "acr") that Janua
// reaches, weakest first. oidc advertises them (acr_values_supported) and
// asks SatisfiesACR whether an authentication meets a request's acr_values.
//
//   - ACRPassword "1": one factor (password, magic link or email code); ISO/IEC
//     29115 level 1 (OIDC Core §2 reserves "0" for less than that).
//   - ACRMFA "mfa": two factors of different kinds, e.g. password + TOTP.
//   - ACRPhishingResistant "phr": the authentication includes a WebAuthn
//     assertion, bound to this origin so that a phishing site cannot relay it
//     (OpenID EAP ACR Values 1.0 §2, "phr").
const (
	ACRPassword          = "1"
	ACRMFA               = "mfa"
	ACRPhishingResistant = "phr"
)

// Authentication Method Reference values (RFC 8176 §2) in the ID token's
// "amr": what the user actually did.
const (
	AMRPassword     = "pwd"  // a password
	AMROTP          = "otp"  // a one-time code: TOTP, a backup code, a code or link sent by email
	AMRHardwareKey  = "hwk"  // a passkey bound to one device (not backed up)
	AMRSoftwareKey  = "swk"  // a synced passkey (its backup-eligible flag set)
	AMRUserPresence = "user" // the authenticator tested that the user was present
	AMRProofOfKey   = "pop"  // proof of possession of a key (any WebAuthn assertion)
	AMRMultiFactor  = "mfa"  // more than one factor
	AMRPIN          = "pin"  // a PIN or biometric unlocked the authenticator (user verification)
)

// ACRValues lists the classes Janua reaches, weakest first.
func ACRValues() []string {
	return []string{ACRPassword, ACRMFA, ACRPhishingResistant}
}

// acrRank orders the classes; 0 is a class Janua does not know.
func acrRank(acr string) int {
	switch acr {
	case ACRPassword:
		return 1
	case ACRMFA:
		return 2
	case ACRPhishingResistant:
		return 3
	}
	return 0
}

// SatisfiesACR reports whether an authentication that reached class have
// meets want: a space-separated list of acceptable classes (OIDC Core
// §3.1.2.1 acr_values). Classes Janua does not know are ignored; a list of
// none that it knows (or an empty one) is always met.
func SatisfiesACR(have, want string) bool {
	need := requiredRank(want)
	return need == 0 || acrRank(have) >= need
}

// requiredRank is the weakest known class in want (any one of them is
// acceptable), 0 when want names none.
func requiredRank(want string) int {
	need := 0
	for _, w := range strings.Fields(want) {
		if r := acrRank(w); r > 0 && (need == 0 || r < need) {
			need = r
		}
	}
	return need
}

// acrOf is the class a set of method references reaches.
func acrOf(amr []string) string {
	has := func(m string) bool { return slices.Contains(amr, m) }
	switch {
	case has(AMRProofOfKey) && has(AMRMultiFactor):
		return ACRPhishingResistant
	case has(AMRMultiFactor):
		return ACRMFA
	}
	return ACRPassword
}

// combineAMR joins the methods of a first and a second factor: both lists,
// once each, plus "mfa" (RFC 8176 §2: more than one factor was used).
func combineAMR(first, second []string) []string {
	out := append([]string(nil), first...)
	for _, m := range append(append([]string(nil), second...), AMRMultiFactor) {
		if !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out
}
