package login

import (
	"slices"
	"testing"
)

func TestSatisfiesACR(t *testing.T) {
	for _, tc := range []struct {
		have, want string
		ok         bool
	}{
		{ACRPassword, "", true},
		{ACRPassword, "urn:example:unknown", true}, // nothing known demanded
		{ACRPassword, ACRPassword, true},
		{ACRPassword, ACRMFA, false},
		{ACRPassword, "mfa phr", false},
		{ACRPassword, "phr 1", true}, // any listed class is acceptable
		{ACRMFA, ACRMFA, true},
		{ACRMFA, ACRPhishingResistant, false},
		{ACRPhishingResistant, ACRMFA, true},
		{ACRPhishingResistant, "urn:x phr", true},
		{"", ACRPassword, false},
	} {
		if got := SatisfiesACR(tc.have, tc.want); got != tc.ok {
			t.Errorf("SatisfiesACR(%q, %q) = %v", tc.have, tc.want, got)
		}
	}
}

func TestACROfMethods(t *testing.T) {
	for _, tc := range []struct {
		amr  []string
		want string
	}{
		{[]string{AMRPassword}, ACRPassword},
		{[]string{AMROTP}, ACRPassword},
		{combineAMR([]string{AMRPassword}, []string{AMROTP}), ACRMFA},
		{combineAMR([]string{AMRPassword}, []string{AMRSoftwareKey, AMRUserPresence, AMRProofOfKey}), ACRPhishingResistant},
		{[]string{AMRHardwareKey, AMRUserPresence, AMRProofOfKey}, ACRPassword}, // no user verification: one factor
		{[]string{AMRHardwareKey, AMRUserPresence, AMRProofOfKey, AMRPIN, AMRMultiFactor}, ACRPhishingResistant},
	} {
		if got := acrOf(tc.amr); got != tc.want {
			t.Errorf("acrOf(%v) = %q, want %q", tc.amr, got, tc.want)
		}
	}
	if got := combineAMR([]string{AMRPassword}, []string{AMROTP, AMRPassword}); !slices.Equal(got, []string{AMRPassword, AMROTP, AMRMultiFactor}) {
		t.Errorf("combineAMR: %v", got)
	}
}
