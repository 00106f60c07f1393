package oidc

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/url"

	"github.com/madfam-org/janua/storage"
)

// subjectFor is the "sub" the client sees for a user: the user's ID for
// public subjects, or a pairwise identifier (OIDC Core §8.1) that is stable
// for one sector and unlinkable across sectors. The sector is the host of
// the client's sector_identifier_uri, else of its redirect URIs (which
// registration requires to share one host).
func (p *Provider) subjectFor(c *storage.Client, userID string) string {
	if c.Metadata.SubjectType != "pairwise" {
		return userID
	}
	mac := hmac.New(sha256.New, p.pairwiseKey)
	mac.Write([]byte(sectorOf(c)))
	mac.Write([]byte{0})
	mac.Write([]byte(userID))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// sectorOf returns the client's sector identifier host.
func sectorOf(c *storage.Client) string {
	raw := c.Metadata.SectorIdentifierURI
	if raw == "" && len(c.RedirectURIs) > 0 {
		raw = c.RedirectURIs[0]
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return c.ID
	}
	return u.Hostname()
}
