package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/madfam-org/janua/oidc"
	"github.com/madfam-org/janua/storage"
)

// clientView is a client as the CLI prints it, in RFC 7591 §3.2.1 names.
type clientView struct {
	ClientID                string                 `json:"client_id"`
	ClientSecret            string                 `json:"client_secret,omitempty"`
	ClientSecretExpiresAt   *int64                 `json:"client_secret_expires_at,omitempty"`
	Name                    string                 `json:"client_name"`
	Public                  bool                   `json:"public"`
	FirstParty              bool                   `json:"first_party"`
	TokenEndpointAuthMethod string                 `json:"token_endpoint_auth_method"`
	RedirectURIs            []string               `json:"redirect_uris"`
	PostLogoutRedirectURIs  []string               `json:"post_logout_redirect_uris"`
	GrantTypes              []string               `json:"grant_types"`
	ResponseTypes           []string               `json:"response_types"`
	Scope                   string                 `json:"scope"`
	Metadata                storage.ClientMetadata `json:"metadata"`
	CreatedAt               time.Time              `json:"created_at"`
}

func viewClient(c *storage.Client, secret string) clientView {
	v := clientView{
		ClientID: c.ID, ClientSecret: secret, Name: c.Name, Public: c.Public, FirstParty: c.FirstParty,
		TokenEndpointAuthMethod: c.TokenEndpointAuthMethod, RedirectURIs: c.RedirectURIs,
		PostLogoutRedirectURIs: c.PostLogoutRedirectURIs, GrantTypes: c.GrantTypes, ResponseTypes: c.ResponseTypes,
		Scope: strings.Join(c.Scopes, " "), Metadata: c.Metadata, CreatedAt: c.CreatedAt,
	}
	if secret != "" {
		var never int64 // RFC 7591 §3.2.1: 0 means the secret does not expire
		v.ClientSecretExpiresAt = &never
	}
	return v
}

// withClients opens the store and runs fn with the client registry.
func (a *app) withClients(cmd *cobra.Command, fn func(ctx context.Context, r *oidc.Clients) error) error {
	return a.withStore(cmd, func(ctx context.Context, _ Config, s *storage.Store) error {
		return fn(ctx, oidc.NewClients(s, nil))
	})
}

// announceClientChange tells running instances to drop their cached copy of
// a client at once. Without Redis there is nobody to tell across processes:
// a running server's cached copy expires within a minute.
func (a *app) announceClientChange(ctx context.Context, id string) {
	c, err := a.config()
	if err != nil || c.Redis.URL == "" {
		return
	}
	hot, _, err := openHotState(ctx, c, a.logger(c))
	if err != nil {
		fmt.Fprintf(a.io.err, "warning: could not reach Redis to announce the change; instances pick it up within a minute: %v\n", err)
		return
	}
	defer hot.Close()
	if err := oidc.AnnounceClientChange(ctx, hot, id); err != nil {
		fmt.Fprintf(a.io.err, "warning: could not announce the change; instances pick it up within a minute: %v\n", err)
	}
}

func (a *app) clientsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "clients", Short: "Register, list and delete OAuth 2.0 / OpenID Connect clients"}
	cmd.AddCommand(a.clientsCreateCmd(), a.clientsListCmd(), a.clientsDeleteCmd())
	return cmd
}

func (a *app) clientsCreateCmd() *cobra.Command {
	var spec oidc.ClientSpec
	var jwks string
	cmd := &cobra.Command{
		Use:   "create --name NAME --redirect-uri URI [flags]",
		Short: "Register a client; a generated secret is printed once",
		Example: `  janua clients create --name "My app" --redirect-uri https://app.example.com/callback
  janua clients create --name "SPA" --public --redirect-uri http://127.0.0.1:5173/callback
  janua clients create --name "Worker" --grant-type client_credentials --scope "api:read"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if jwks != "" {
				raw := jwks
				if strings.HasPrefix(jwks, "@") {
					b, err := os.ReadFile(jwks[1:])
					if err != nil {
						return fmt.Errorf("--jwks: %v", err)
					}
					raw = string(b)
				}
				if !json.Valid([]byte(raw)) {
					return errors.New("--jwks must be a JWK Set in JSON, or @file")
				}
				spec.Metadata.JWKS = json.RawMessage(raw)
			}
			return a.withClients(cmd, func(ctx context.Context, r *oidc.Clients) error {
				created, err := r.Create(ctx, spec, cliActor)
				if errors.Is(err, storage.ErrAlreadyExists) {
					return fmt.Errorf("a client with id %q already exists", spec.ID)
				}
				if err != nil {
					return err
				}
				v := viewClient(created.Client, created.Secret)
				if a.json() {
					return printJSON(a.io.out, v)
				}
				fmt.Fprintf(a.io.out, "created client %q\nclient_id: %s\n", v.Name, v.ClientID)
				if created.Secret != "" {
					fmt.Fprintf(a.io.out, "client_secret: %s\n(shown once: it is stored only as a SHA-256 digest)\n", created.Secret)
				}
				return nil
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&spec.ID, "id", "", "client_id (default: generated)")
	f.StringVar(&spec.Name, "name", "", "name shown to users on the consent page (required)")
	f.StringArrayVar(&spec.RedirectURIs, "redirect-uri", nil, "redirect URI, exact match (repeatable)")
	f.StringArrayVar(&spec.PostLogoutRedirectURIs, "post-logout-redirect-uri", nil, "post-logout redirect URI (repeatable)")
	f.StringArrayVar(&spec.GrantTypes, "grant-type", nil, "authorization_code, refresh_token, client_credentials, implicit (repeatable; default authorization_code and refresh_token)")
	f.StringArrayVar(&spec.ResponseTypes, "response-type", nil, `response type such as code or "code id_token" (repeatable; default code)`)
	f.StringArrayVar(&spec.Scopes, "scope", nil, "allowed scopes, space-separated (repeatable; default openid profile email address phone offline_access)")
	f.StringVar(&spec.TokenEndpointAuthMethod, "token-endpoint-auth-method", "", "client_secret_basic (default), client_secret_post, private_key_jwt, or none (public)")
	f.BoolVar(&spec.Public, "public", false, "public client (SPA or native app): no secret, PKCE required")
	f.BoolVar(&spec.FirstParty, "first-party", false, "first-party client: users are not asked for consent")
	f.StringVar(&spec.Metadata.LogoURI, "logo-uri", "", "logo shown on the consent page")
	f.StringVar(&spec.Metadata.ClientURI, "client-uri", "", "home page of the client")
	f.StringVar(&spec.Metadata.PolicyURI, "policy-uri", "", "privacy policy URL")
	f.StringVar(&spec.Metadata.TosURI, "tos-uri", "", "terms of service URL")
	f.StringVar(&spec.Metadata.JWKSURI, "jwks-uri", "", "URL of the client's public keys (private_key_jwt)")
	f.StringVar(&jwks, "jwks", "", "the client's public keys as a JWK Set, or @file (private_key_jwt)")
	f.StringVar(&spec.Metadata.TokenEndpointAuthSigningAlg, "token-endpoint-auth-signing-alg", "", "pin the alg of private_key_jwt assertions: RS256, PS256 or ES256 (default: any of them)")
	f.StringVar(&spec.Metadata.IDTokenSignedResponseAlg, "id-token-signed-response-alg", "", "RS256 (default), ES256 or EdDSA")
	f.StringVar(&spec.Metadata.UserinfoSignedResponseAlg, "userinfo-signed-response-alg", "", "sign userinfo responses: RS256, ES256 or EdDSA")
	f.StringVar(&spec.Metadata.AccessTokenFormat, "access-token-format", "", "opaque (default) or jwt (RFC 9068)")
	f.StringVar(&spec.Metadata.AccessTokenSigningAlg, "access-token-signed-response-alg", "", "sign JWT access tokens with ES256 (default), RS256 or EdDSA")
	f.Int64Var(&spec.Metadata.DefaultMaxAge, "default-max-age", 0, "seconds after which users must sign in again for this client, unless a request says max_age (0: never)")
	f.Int64Var(&spec.Metadata.AccessTokenTTL, "access-token-ttl", 0, "access token lifetime in seconds (0: the server's)")
	f.Int64Var(&spec.Metadata.RefreshTokenIdleTTL, "refresh-token-idle-ttl", 0, "refresh token idle lifetime in seconds (0: the server's)")
	f.Int64Var(&spec.Metadata.RefreshTokenAbsoluteTTL, "refresh-token-absolute-ttl", 0, "refresh token family absolute lifetime in seconds (0: the server's)")
	f.StringVar(&spec.Metadata.SubjectType, "subject-type", "", "public (default) or pairwise")
	f.StringVar(&spec.Metadata.SectorIdentifierURI, "sector-identifier-uri", "", "sector identifier for pairwise subjects")
	_ = cmd.MarkFlagRequired("name")
	return cmd
}

func (a *app) clientsListCmd() *cobra.Command {
	var limit int
	var after string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List clients",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withClients(cmd, func(ctx context.Context, r *oidc.Clients) error {
				cs, next, err := r.List(ctx, storage.Page{After: after, Limit: limit})
				if err != nil {
					return err
				}
				views := make([]clientView, len(cs))
				for i := range cs {
					views[i] = viewClient(&cs[i], "")
				}
				if a.json() {
					return printJSON(a.io.out, map[string]any{"clients": views, "next": next})
				}
				rows := make([][]string, len(views))
				for i, v := range views {
					kind := "confidential"
					if v.Public {
						kind = "public"
					}
					rows[i] = []string{v.ClientID, v.Name, kind, v.TokenEndpointAuthMethod, strings.Join(v.GrantTypes, ","), strings.Join(v.RedirectURIs, " ")}
				}
				if err := table(a.io.out, []string{"CLIENT_ID", "NAME", "TYPE", "AUTH", "GRANTS", "REDIRECT_URIS"}, rows); err != nil {
					return err
				}
				if next != "" {
					fmt.Fprintf(a.io.out, "more: janua clients list --after %s\n", next)
				}
				return nil
			})
		},
	}
	cmd.Flags().IntVar(&limit, "limit", 100, "at most this many clients (max 1000)")
	cmd.Flags().StringVar(&after, "after", "", "start after this client_id (from the previous page)")
	return cmd
}

func (a *app) clientsDeleteCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "delete CLIENT_ID",
		Short: "Delete a client",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withClients(cmd, func(ctx context.Context, r *oidc.Clients) error {
				err := r.Delete(ctx, args[0], cliActor)
				if errors.Is(err, storage.ErrNotFound) {
					return fmt.Errorf("no client %q", args[0])
				}
				if err != nil {
					return err
				}
				a.announceClientChange(ctx, args[0])
				if a.json() {
					return printJSON(a.io.out, map[string]string{"deleted": args[0]})
				}
				_, err = fmt.Fprintf(a.io.out, "deleted client %s\n", args[0])
				return err
			})
		},
	}
}
