package login

import (
	_ "embed" // the common-password list
	"fmt"
	"strings"
	"unicode/utf8"
)

// commonPasswordList is the bundled list of the 10,000 most common
// passwords of at least 8 characters, from the MIT-licensed zxcvbn-ts
// project (provenance and licence in the file's header). It is read once by
// NewCommonPasswords; nothing is downloaded at run time.
//
//go:embed commonpasswords.txt
var commonPasswordList string

// CommonPasswords is a set of passwords too common to accept: the values
// attackers try first (NIST SP 800-63B §3.1.1.2: "passwords obtained from
// previous breach corpuses", "commonly-used, expected, or compromised
// values"). Comparison ignores case, as guessing tools do.
type CommonPasswords struct {
	set map[string]struct{}
}

// NewCommonPasswords parses the bundled list.
func NewCommonPasswords() *CommonPasswords {
	set := make(map[string]struct{}, 10000)
	for line := range strings.Lines(commonPasswordList) {
		line = strings.TrimRight(line, "\r\n")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		set[strings.ToLower(line)] = struct{}{}
	}
	return &CommonPasswords{set: set}
}

// Len is the number of passwords in the list.
func (cp *CommonPasswords) Len() int { return len(cp.set) }

// Contains reports whether password is on the list.
func (cp *CommonPasswords) Contains(password string) bool {
	if cp == nil {
		return false
	}
	_, ok := cp.set[strings.ToLower(password)]
	return ok
}

// PolicyReason says which rule a password broke.
type PolicyReason string

// The rules of PasswordPolicy.
const (
	PolicyTooShort PolicyReason = "too_short"
	PolicyTooLong  PolicyReason = "too_long"
	PolicyInvalid  PolicyReason = "invalid_utf8"
	PolicyCommon   PolicyReason = "common"
)

// PolicyError is a password the policy refuses; Reason selects the message
// a page shows, Error is the English one the CLI prints.
type PolicyError struct {
	Reason    PolicyReason
	MinLength int
}

func (e *PolicyError) Error() string {
	switch e.Reason {
	case PolicyTooShort:
		return fmt.Sprintf("the password must be at least %d characters long", e.MinLength)
	case PolicyTooLong:
		return fmt.Sprintf("the password must be at most %d bytes long", maxPasswordBytes)
	case PolicyInvalid:
		return "the password is not valid UTF-8"
	}
	return "the password is too common: choose another one"
}

// PasswordPolicy is what a new password must satisfy (NIST SP 800-63B
// §3.1.1.2): a minimum length in characters, a maximum in bytes (the hash's
// input bound), and not a common password. No composition rules: they do
// not make passwords stronger, only harder to remember (ibid., §A.3).
type PasswordPolicy struct {
	MinLength int
	// Common, when set, refuses the passwords it contains.
	Common *CommonPasswords
}

// Check returns a *PolicyError when password is unacceptable, else nil.
func (pp PasswordPolicy) Check(password string) error {
	n := utf8.RuneCountInString(password)
	switch {
	case !utf8.ValidString(password):
		return &PolicyError{Reason: PolicyInvalid, MinLength: pp.MinLength}
	case n < pp.MinLength:
		return &PolicyError{Reason: PolicyTooShort, MinLength: pp.MinLength}
	case len(password) > maxPasswordBytes:
		return &PolicyError{Reason: PolicyTooLong, MinLength: pp.MinLength}
	case pp.Common.Contains(password):
		return &PolicyError{Reason: PolicyCommon, MinLength: pp.MinLength}
	}
	return nil
}
