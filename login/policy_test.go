package login_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/madfam-org/janua/login"
)

func TestCommonPasswordsAreRefused(t *testing.T) {
	common := login.NewCommonPasswords()
	if n := common.Len(); n != 10000 {
		t.Fatalf("bundled list has %d passwords, want 10000", n)
	}
	p := login.PasswordPolicy{MinLength: 8, Common: common}
	for pw, want := range map[string]login.PolicyReason{
		"password":                     login.PolicyCommon,
		"Password":                     login.PolicyCommon, // case does not help
		"qwerty123456":                 login.PolicyCommon,
		"1q2w3e4r5t6y":                 login.PolicyCommon,
		"iloveyou":                     login.PolicyCommon,
		"short":                        login.PolicyTooShort,
		"correct horse battery staple": "",
		"ñandú-mañanero":               "",
		strings.Repeat("a", 1025):      login.PolicyTooLong,
		"\xff\xfe\xfd\xfc\xfb\xfa\xf9": login.PolicyInvalid,
	} {
		err := p.Check(pw)
		var pe *login.PolicyError
		switch {
		case want == "" && err != nil:
			t.Errorf("%.20q refused: %v", pw, err)
		case want != "" && (!errors.As(err, &pe) || pe.Reason != want):
			t.Errorf("%.20q: %v, want %s", pw, err, want)
		}
	}
	// The list is a header of comments (provenance, MIT licence) and data.
	if common.Contains("# The 10,000 most common passwords of at least 8 characters, most common first:") || common.Contains("") {
		t.Fatal("comment lines are in the list")
	}
	// Without a list only the length rules apply (the CLI's policy).
	if err := (login.PasswordPolicy{MinLength: 8}).Check("password"); err != nil {
		t.Fatalf("no list: %v", err)
	}
	if msg := p.Check("short").Error(); msg != "the password must be at least 8 characters long" {
		t.Fatalf("CLI message %q", msg)
	}
}
