package storage

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Client is a registered OAuth 2.0 / OpenID Connect client (RFC 7591 §2,
// OIDC Registration §2). The secret is never stored, only its SHA-256 digest.
type Client struct {
	ID                      string `gorm:"primaryKey"`
	SecretHash              []byte // nil for public clients
	SecretExpiresAt         *time.Time
	Name                    string
	Public                  bool
	FirstParty              bool
	TokenEndpointAuthMethod string
	RedirectURIs            []string       `gorm:"serializer:json"`
	PostLogoutRedirectURIs  []string       `gorm:"serializer:json"`
	GrantTypes              []string       `gorm:"serializer:json"`
	ResponseTypes           []string       `gorm:"serializer:json"`
	Scopes                  []string       `gorm:"serializer:json"`
	Metadata                ClientMetadata `gorm:"serializer:json"`
	Revision                int64
	CreatedAt               time.Time
	UpdatedAt               time.Time
}

// TableName maps Client to its table.
func (Client) TableName() string { return "clients" }

// ClientMetadata holds registration metadata beyond the columns above. It is
// one JSON column so that adding a field needs no migration (expand).
type ClientMetadata struct {
	LogoURI                  string          `json:"logo_uri,omitempty"`
	ClientURI                string          `json:"client_uri,omitempty"`
	PolicyURI                string          `json:"policy_uri,omitempty"`
	TosURI                   string          `json:"tos_uri,omitempty"`
	Contacts                 []string        `json:"contacts,omitempty"`
	JWKSURI                  string          `json:"jwks_uri,omitempty"`
	JWKS                     json.RawMessage `json:"jwks,omitempty"`
	SubjectType              string          `json:"subject_type,omitempty"`
	SectorIdentifierURI      string          `json:"sector_identifier_uri,omitempty"`
	IDTokenSignedResponseAlg string          `json:"id_token_signed_response_alg,omitempty"`
	// TokenEndpointAuthSigningAlg pins the alg of private_key_jwt
	// assertions; empty accepts any the server supports.
	TokenEndpointAuthSigningAlg string `json:"token_endpoint_auth_signing_alg,omitempty"`
	UserinfoSignedResponseAlg   string `json:"userinfo_signed_response_alg,omitempty"`
	AccessTokenFormat           string `json:"access_token_format,omitempty"` // "opaque" | "jwt"
	// AccessTokenSigningAlg signs the client's JWT access tokens (RFC
	// 9068 §2.1); empty means ES256. Keycloak calls it
	// access.token.signed.response.alg.
	AccessTokenSigningAlg string   `json:"access_token_signed_response_alg,omitempty"`
	DefaultMaxAge         int64    `json:"default_max_age,omitempty"`
	DefaultACRValues      []string `json:"default_acr_values,omitempty"`
	// Lifetimes in seconds; zero means the server default.
	AccessTokenTTL          int64 `json:"access_token_ttl,omitempty"`
	RefreshTokenIdleTTL     int64 `json:"refresh_token_idle_ttl,omitempty"`
	RefreshTokenAbsoluteTTL int64 `json:"refresh_token_absolute_ttl,omitempty"`
}

// CreateClient inserts c. A taken ID is ErrAlreadyExists.
func (s *Store) CreateClient(ctx context.Context, c *Client) error {
	if c.ID == "" {
		return fmt.Errorf("storage: create client: empty id")
	}
	now := s.now()
	c.Revision = 1
	c.CreatedAt, c.UpdatedAt = now, now
	c.SecretExpiresAt = utcPtr(c.SecretExpiresAt)
	fillClientSlices(c)
	if err := s.db(ctx).Create(c).Error; err != nil {
		return fmt.Errorf("storage: create client %s: %w", c.ID, mapError(err))
	}
	return nil
}

// GetClient returns the client with the given ID (ErrNotFound if none).
func (s *Store) GetClient(ctx context.Context, id string) (*Client, error) {
	var c Client
	if err := s.reader(ctx).Where("id = ?", id).Take(&c).Error; err != nil {
		return nil, fmt.Errorf("storage: client %q: %w", id, mapError(err))
	}
	normalizeClient(&c)
	return &c, nil
}

// ListClients returns clients in ID order and the next page's After.
func (s *Store) ListClients(ctx context.Context, p Page) ([]Client, string, error) {
	var cs []Client
	q := s.db(ctx).Order("id").Limit(p.limit())
	if p.After != "" {
		q = q.Where("id > ?", p.After)
	}
	if err := q.Find(&cs).Error; err != nil {
		return nil, "", fmt.Errorf("storage: list clients: %w", mapError(err))
	}
	for i := range cs {
		normalizeClient(&cs[i])
	}
	return cs, nextAfter(cs, p.limit(), func(c Client) string { return c.ID }), nil
}

// UpdateClient writes every mutable field of c if c.Revision still matches;
// a stale revision is ErrConflict, a missing client ErrNotFound.
func (s *Store) UpdateClient(ctx context.Context, c *Client) error {
	fillClientSlices(c)
	cols := map[string]any{
		"secret_hash":                c.SecretHash,
		"secret_expires_at":          utcPtr(c.SecretExpiresAt),
		"name":                       c.Name,
		"public":                     c.Public,
		"first_party":                c.FirstParty,
		"token_endpoint_auth_method": c.TokenEndpointAuthMethod,
	}
	for col, v := range map[string]any{
		"redirect_uris":             c.RedirectURIs,
		"post_logout_redirect_uris": c.PostLogoutRedirectURIs,
		"grant_types":               c.GrantTypes,
		"response_types":            c.ResponseTypes,
		"scopes":                    c.Scopes,
		"metadata":                  c.Metadata,
	} {
		text, err := jsonText(v)
		if err != nil {
			return err
		}
		cols[col] = text
	}
	now := s.now()
	cols["updated_at"] = now
	cols["revision"] = gorm.Expr("revision + 1")
	res := s.db(ctx).Model(&Client{}).Where("id = ? AND revision = ?", c.ID, c.Revision).Updates(cols)
	if err := res.Error; err != nil {
		return fmt.Errorf("storage: update client %s: %w", c.ID, mapError(err))
	}
	if res.RowsAffected == 0 {
		return s.missingOrConflict(ctx, &Client{}, c.ID, "client")
	}
	c.Revision++
	c.UpdatedAt = now
	return nil
}

// DeleteClient removes a client.
func (s *Store) DeleteClient(ctx context.Context, id string) error {
	res := s.db(ctx).Where("id = ?", id).Delete(&Client{})
	s.forgetAccess(ctx, "*") // its tokens went with it (foreign key); rare
	s.handoff.clear()        // and its codes
	if err := res.Error; err != nil {
		return fmt.Errorf("storage: delete client %s: %w", id, mapError(err))
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("storage: client %q: %w", id, ErrNotFound)
	}
	return nil
}

func fillClientSlices(c *Client) {
	for _, p := range []*[]string{&c.RedirectURIs, &c.PostLogoutRedirectURIs, &c.GrantTypes, &c.ResponseTypes, &c.Scopes} {
		if *p == nil {
			*p = []string{}
		}
	}
}

func normalizeClient(c *Client) {
	c.CreatedAt, c.UpdatedAt = utc(c.CreatedAt), utc(c.UpdatedAt)
	c.SecretExpiresAt = utcPtr(c.SecretExpiresAt)
	if len(c.SecretHash) == 0 {
		c.SecretHash = nil
	}
	fillClientSlices(c)
}
