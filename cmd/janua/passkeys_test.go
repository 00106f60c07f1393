package main

import (
	"slices"
	"strings"
	"testing"
)

// The relying party comes from the issuer unless configured; passkeys are
// off on an IP-address issuer (an IP cannot be an RP ID), and every
// mistake in the settings is reported.
func TestPasskeySettings(t *testing.T) {
	for _, tc := range []struct {
		name    string
		set     func(c *Config)
		rpID    string
		origins []string
		problem string
	}{
		{"issuer host", func(c *Config) { c.Issuer = "https://id.example.com" }, "id.example.com", []string{"https://id.example.com"}, ""},
		{"issuer with a port", func(c *Config) { c.Issuer = "http://localhost:4100" }, "localhost", []string{"http://localhost:4100"}, ""},
		{"IP issuer: off", func(c *Config) { c.Issuer = "http://127.0.0.1:4100" }, "", []string{"http://127.0.0.1:4100"}, ""},
		{"parent domain", func(c *Config) {
			c.Issuer, c.Passkeys.RPID = "https://id.example.com", "Example.com"
		}, "example.com", []string{"https://id.example.com"}, ""},
		{"several origins", func(c *Config) {
			c.Issuer, c.Passkeys.RPID = "https://id.example.com", "example.com"
			c.Passkeys.Origins = []string{"https://id.example.com", "https://login.example.com:8443"}
		}, "example.com", []string{"https://id.example.com", "https://login.example.com:8443"}, ""},
		{"RP ID an IP", func(c *Config) { c.Passkeys.RPID = "10.0.0.1" }, "", nil, "passkeys.rp_id: \"10.0.0.1\" is not a domain"},
		{"issuer outside the RP ID", func(c *Config) {
			c.Issuer, c.Passkeys.RPID = "https://id.example.com", "example.org"
		}, "example.org", nil, "is not within \"example.org\""},
		{"origin outside the RP ID", func(c *Config) {
			c.Issuer, c.Passkeys.Origins = "https://id.example.com", []string{"https://evil.com"}
		}, "", nil, "\"https://evil.com\" is not within the RP ID"},
		{"insecure origin", func(c *Config) {
			c.Issuer, c.Passkeys.Origins = "https://id.example.com", []string{"http://id.example.com"}
		}, "", nil, "must be https"},
		{"not an origin", func(c *Config) {
			c.Issuer, c.Passkeys.Origins = "https://id.example.com", []string{"https://id.example.com/login"}
		}, "", nil, "is not an origin"},
		{"limit", func(c *Config) { c.Passkeys.MaxPerUser = 0 }, "", nil, "passkeys.max_per_user: 0 must be between 1 and 100"},
		{"no name", func(c *Config) { c.Passkeys.RPName = " " }, "", nil, "passkeys.rp_name: must not be empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := defaultConfig()
			tc.set(&c)
			probs := strings.Join(c.validatePasskeys(), "\n")
			if tc.problem == "" && probs != "" || !strings.Contains(probs, tc.problem) {
				t.Fatalf("problems %q, want %q", probs, tc.problem)
			}
			if tc.problem != "" {
				return
			}
			if got := c.passkeyRPID(); got != tc.rpID {
				t.Errorf("RP ID %q, want %q", got, tc.rpID)
			}
			if got := c.passkeyOrigins(); !slices.Equal(got, tc.origins) {
				t.Errorf("origins %q, want %q", got, tc.origins)
			}
			rp, err := passkeyRP(c)
			if err != nil || (rp == nil) != (tc.rpID == "") {
				t.Fatalf("relying party %v, %v", rp, err)
			}
			if rp != nil && (rp.Config.RPID != tc.rpID || rp.Config.RPDisplayName != "Janua" || !slices.Equal(rp.Config.RPOrigins, tc.origins)) {
				t.Errorf("relying party %+v", rp.Config)
			}
		})
	}
}
