package main

import (
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/madfam-org/janua/login"
)

// PasskeysConfig is sign-in with passkeys (WebAuthn). The relying party is
// the issuer unless said otherwise: its host is the RP ID (WebAuthn §5.1.2
// "RP ID", a domain, never an IP address) and its origin the one origin
// ceremonies may run on.
type PasskeysConfig struct {
	// RPID scopes the passkeys: the issuer's host or a registrable suffix
	// of it (id.example.com or example.com). Changing it orphans every
	// passkey registered under the old one.
	RPID string `yaml:"rp_id"`
	// RPName is what authenticators show ("Sign in to …").
	RPName string `yaml:"rp_name"`
	// Origins are the origins (scheme://host[:port]) whose pages may run
	// ceremonies; each must lie within the RP ID.
	Origins    []string `yaml:"origins"`
	MaxPerUser int      `yaml:"max_per_user"`
}

// maxPasskeysLimit bounds passkeys.max_per_user.
const maxPasskeysLimit = 100

// passkeyRPID is the effective RP ID: the configured one, else the
// issuer's host — "" (passkeys off) when that is an IP address.
func (c *Config) passkeyRPID() string {
	if c.Passkeys.RPID != "" {
		return strings.ToLower(c.Passkeys.RPID)
	}
	u, err := url.Parse(c.Issuer)
	if err != nil || u.Hostname() == "" || net.ParseIP(u.Hostname()) != nil {
		return ""
	}
	return strings.ToLower(u.Hostname())
}

// passkeyOrigins are the effective origins: the configured ones, else the
// issuer's.
func (c *Config) passkeyOrigins() []string {
	if len(c.Passkeys.Origins) > 0 {
		return c.Passkeys.Origins
	}
	u, err := url.Parse(c.Issuer)
	if err != nil {
		return nil
	}
	return []string{u.Scheme + "://" + u.Host}
}

// validatePasskeys checks the passkey settings: a valid RP ID, and
// configured origins that are secure contexts (https, or http on
// localhost) inside it.
func (c *Config) validatePasskeys() problems {
	var p problems
	if n := c.Passkeys.MaxPerUser; n < 1 || n > maxPasskeysLimit {
		p.add("passkeys.max_per_user: %d must be between 1 and %d", n, maxPasskeysLimit)
	}
	if c.Passkeys.RPID != "" {
		if err := protocol.ValidateRPID(c.Passkeys.RPID); err != nil {
			p.add("passkeys.rp_id: %q is not a domain: %v", c.Passkeys.RPID, err)
			return p
		}
	}
	rpID := c.passkeyRPID()
	if rpID == "" {
		return p // off: nothing else to check
	}
	if strings.TrimSpace(c.Passkeys.RPName) == "" {
		p.add("passkeys.rp_name: must not be empty")
	}
	if u, err := url.Parse(c.Issuer); err == nil && len(c.Passkeys.Origins) == 0 && c.Passkeys.RPID != "" {
		if host := strings.ToLower(u.Hostname()); host != rpID && !strings.HasSuffix(host, "."+rpID) {
			p.add("passkeys.rp_id: the issuer's host %q is not within %q (WebAuthn §5.1.2); set passkeys.origins", host, rpID)
		}
	}
	// The issuer's own origin is checked as the issuer; an http one off
	// localhost is no secure context, and the pages then offer no passkeys.
	for _, o := range c.Passkeys.Origins {
		u, err := url.Parse(o)
		if err != nil || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
			p.add("passkeys.origins: %q is not an origin (scheme://host[:port])", o)
			continue
		}
		host := strings.ToLower(u.Hostname())
		local := host == "localhost" || strings.HasSuffix(host, ".localhost")
		if u.Scheme != "https" && (u.Scheme != "http" || !local) {
			p.add("passkeys.origins: %q must be https (or http on localhost): WebAuthn needs a secure context", o)
		}
		if host != rpID && !strings.HasSuffix(host, "."+rpID) {
			p.add("passkeys.origins: %q is not within the RP ID %q (WebAuthn §5.1.2)", o, rpID)
		}
	}
	return p
}

// passkeyRP is the WebAuthn relying party of c, nil when passkeys are off
// (the issuer's host is an IP address and no passkeys.rp_id is set).
func passkeyRP(c Config) (*webauthn.WebAuthn, error) {
	rpID := c.passkeyRPID()
	if rpID == "" {
		return nil, nil
	}
	timeout := webauthn.TimeoutConfig{Enforce: true, Timeout: login.PasskeyTimeout, TimeoutUVD: login.PasskeyTimeout}
	rp, err := webauthn.New(&webauthn.Config{
		RPID: rpID, RPDisplayName: c.Passkeys.RPName, RPOrigins: c.passkeyOrigins(),
		Timeouts: webauthn.TimeoutsConfig{Login: timeout, Registration: timeout},
	})
	if err != nil {
		return nil, fmt.Errorf("passkeys: %w", err)
	}
	return rp, nil
}
