package oidc

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"

	"github.com/madfam-org/janua/storage"
)

// maxSectorDocument bounds the sector identifier document we read.
const maxSectorDocument = 64 << 10

// checkSector validates a pairwise client's sector (OIDC Core §8.1): with a
// sector_identifier_uri, the JSON array it serves must list every
// redirect URI; without one, the redirect URIs must share one host, which
// then is the sector.
func checkSector(ctx context.Context, hc *http.Client, c *storage.Client) error {
	if c.Metadata.SubjectType != "pairwise" {
		return nil
	}
	if c.Metadata.SectorIdentifierURI == "" {
		hosts := map[string]bool{}
		for _, r := range c.RedirectURIs {
			if u, err := url.Parse(r); err == nil {
				hosts[u.Hostname()] = true
			}
		}
		if len(hosts) > 1 {
			return &MetadataError{Problems: []FieldProblem{{Field: "sector_identifier_uri",
				Reason: "pairwise subjects with redirect URIs on several hosts need a sector_identifier_uri (OIDC Core §8.1)"}}}
		}
		return nil
	}
	listed, err := fetchSector(ctx, hc, c.Metadata.SectorIdentifierURI)
	if err != nil {
		return &MetadataError{Problems: []FieldProblem{{Field: "sector_identifier_uri", Reason: err.Error()}}}
	}
	for _, r := range c.RedirectURIs {
		if !slices.Contains(listed, r) {
			return &MetadataError{Problems: []FieldProblem{{Field: "sector_identifier_uri",
				Reason: fmt.Sprintf("the document does not list the redirect URI %q (OIDC Core §8.1)", r)}}}
		}
	}
	return nil
}

// fetchSector reads the sector identifier document: a JSON array of URIs.
func fetchSector(ctx context.Context, hc *http.Client, raw string) ([]string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, raw, nil)
	if err != nil {
		return nil, fmt.Errorf("cannot be fetched: %v", err)
	}
	req.Header.Set("Accept", "application/json")
	res, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot be fetched: %v", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("answered HTTP %d", res.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(res.Body, maxSectorDocument+1))
	if err != nil {
		return nil, fmt.Errorf("cannot be read: %v", err)
	}
	if len(body) > maxSectorDocument {
		return nil, fmt.Errorf("is larger than %d KiB", maxSectorDocument>>10)
	}
	var listed []string
	if err := json.Unmarshal(body, &listed); err != nil {
		return nil, fmt.Errorf("is not a JSON array of URIs")
	}
	return listed, nil
}
