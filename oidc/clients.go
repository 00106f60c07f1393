package oidc

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/madfam-org/janua/storage"
	"github.com/madfam-org/janua/web"
)

// Clients is the client registry: it validates, creates, lists and deletes
// clients, issuing secrets and auditing every change.
type Clients struct {
	store RegistryStore
	http  *http.Client
}

// NewClients returns the registry over store. httpClient fetches
// registration documents (sector_identifier_uri); nil means a client with a
// 10 s timeout.
func NewClients(store RegistryStore, httpClient *http.Client) *Clients {
	if httpClient == nil {
		httpClient = &http.Client{Timeout: 10 * time.Second}
	}
	return &Clients{store: store, http: httpClient}
}

// Created is a new client and, when it has one, its secret in clear: shown
// once and never again (only its digest is stored).
type Created struct {
	Client *storage.Client
	Secret string
}

// Create validates spec, generates the ID when the spec has none and a
// 256-bit secret when the authentication method uses one, and stores the
// client. actor names who asked ("cli", a user ID). Errors: *MetadataError,
// or storage.ErrAlreadyExists for a taken ID.
func (r *Clients) Create(ctx context.Context, spec ClientSpec, actor string) (*Created, error) {
	c, err := spec.Normalize()
	if err != nil {
		return nil, err
	}
	if err := checkSector(ctx, r.http, c); err != nil {
		return nil, err
	}
	generatedID := c.ID == ""
	if generatedID {
		c.ID = newClientID()
	}
	out := &Created{Client: c}
	if needsSecret(c.TokenEndpointAuthMethod) {
		out.Secret, c.SecretHash = NewSecret()
	}
	err = r.store.InTx(ctx, func(ctx context.Context) error {
		if err := r.store.CreateClient(ctx, c); err != nil {
			return err
		}
		return r.record(ctx, "client.created", actor, c.ID, map[string]any{
			"name": c.Name, "auth_method": c.TokenEndpointAuthMethod, "grant_types": c.GrantTypes,
			"redirect_uris": c.RedirectURIs, "public": c.Public, "first_party": c.FirstParty,
		})
	})
	if err != nil {
		if generatedID && errors.Is(err, storage.ErrAlreadyExists) {
			return nil, fmt.Errorf("oidc: generated client id collided (retry): %w", err)
		}
		return nil, err
	}
	return out, nil
}

// Get returns one client.
func (r *Clients) Get(ctx context.Context, id string) (*storage.Client, error) {
	return r.store.GetClient(ctx, id)
}

// List returns one page of clients.
func (r *Clients) List(ctx context.Context, p storage.Page) ([]storage.Client, string, error) {
	return r.store.ListClients(ctx, p)
}

// Delete removes a client.
func (r *Clients) Delete(ctx context.Context, id, actor string) error {
	return r.store.InTx(ctx, func(ctx context.Context) error {
		if err := r.store.DeleteClient(ctx, id); err != nil {
			return err
		}
		return r.record(ctx, "client.deleted", actor, id, nil)
	})
}

// record writes an audit event in the caller's transaction.
func (r *Clients) record(ctx context.Context, typ, actor, clientID string, details map[string]any) error {
	return r.store.RecordAuditEvent(ctx, &storage.AuditEvent{
		Type: typ, Actor: actor, Subject: clientID, ClientID: clientID,
		RequestID: web.RequestID(ctx), Details: details,
	})
}

// newClientID returns 144 random bits, base64url: 24 characters.
func newClientID() string {
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
