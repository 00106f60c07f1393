package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/madfam-org/janua/oidc"
	"github.com/madfam-org/janua/storage"
)

func (a *app) keysCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "keys", Short: "List and rotate the signing keys"}
	cmd.AddCommand(a.keysListCmd(), a.keysRotateCmd())
	return cmd
}

// keyView is a signing key as the CLI prints it (never the private part).
type keyView struct {
	KID       string     `json:"kid"`
	Alg       string     `json:"alg"`
	State     string     `json:"state"`
	CreatedAt time.Time  `json:"created_at"`
	RetiredAt *time.Time `json:"retired_at,omitempty"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

func (a *app) keysListCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the published signing keys",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withStore(cmd, func(ctx context.Context, _ Config, s *storage.Store) error {
				keys, err := s.ListSigningKeys(ctx)
				if err != nil {
					return err
				}
				views := make([]keyView, len(keys))
				rows := make([][]string, len(keys))
				for i, k := range keys {
					state := "active"
					if k.RetiredAt != nil {
						state = "retired"
					}
					views[i] = keyView{KID: k.ID, Alg: k.Algorithm, State: state, CreatedAt: k.CreatedAt, RetiredAt: k.RetiredAt, ExpiresAt: k.ExpiresAt}
					exp := "-"
					if k.ExpiresAt != nil {
						exp = k.ExpiresAt.Format(time.RFC3339)
					}
					rows[i] = []string{k.ID, k.Algorithm, state, k.CreatedAt.Format(time.RFC3339), exp}
				}
				if a.json() {
					return printJSON(a.io.out, map[string]any{"keys": views})
				}
				return table(a.io.out, []string{"KID", "ALG", "STATE", "CREATED", "LEAVES_JWKS"}, rows)
			})
		},
	}
}

func (a *app) keysRotateCmd() *cobra.Command {
	var algs []string
	cmd := &cobra.Command{
		Use:   "rotate [--alg RS256 --alg ES256 --alg EdDSA]",
		Short: "Publish new signing keys and retire the current ones",
		Long: "Creates a new key per algorithm (all by default); new tokens are signed with it at once. The keys\n" +
			"it replaces stop signing but stay in the JWKS until everything they signed has expired (the longest of\n" +
			"the ID token and access token lifetimes, plus five minutes of clock skew). Running instances reload\n" +
			"their keys at once through Redis, or within a minute otherwise.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withStore(cmd, func(ctx context.Context, c Config, s *storage.Store) error {
				log := a.logger(c)
				hot, _, err := openHotState(ctx, c, log)
				if err != nil {
					return err
				}
				defer hot.Close()
				retire := max(c.Tokens.IDTokenTTL, c.Tokens.AccessTTL) + 5*time.Minute
				ring := oidc.NewKeyring(s, hot, log, nil)
				created, err := ring.Rotate(ctx, algs, retire)
				if err != nil {
					return err
				}
				if a.json() {
					return printJSON(a.io.out, map[string]any{"created": created, "retired_keys_leave_jwks_after": retire.String()})
				}
				_, err = fmt.Fprintf(a.io.out, "new signing keys: %s\nthe previous keys stay published for %s\n", strings.Join(created, ", "), retire)
				return err
			})
		},
	}
	cmd.Flags().StringArrayVar(&algs, "alg", nil, "algorithm to rotate: RS256, ES256 or EdDSA (repeatable; default all)")
	return cmd
}
