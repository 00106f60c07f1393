package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"

	"github.com/spf13/cobra"
)

// setupSpec is one `janua-load setup`.
type setupSpec struct {
	janua       string
	januaArgs   []string
	users       int
	out         string
	redirectURI string
}

func setupCmd(stdout, stderr io.Writer) *cobra.Command {
	var sp setupSpec
	cmd := &cobra.Command{
		Use:   "setup --janua PATH --out FILE [--users N]",
		Short: "Register the scenarios' clients and seed their users with the janua CLI, and write the fixture",
		Long: `Setup runs the janua CLI (with this environment, so the same JANUA_DATABASE_URL or JANUA_DATA_DIR
as the server) to register a client per role — client_credentials with opaque and with JWT access tokens,
and a first-party authorization-code client with refresh tokens — and to seed --users users sharing one
generated password; it writes their credentials to the fixture file (mode 0600) that janua-load --fixture reads.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if sp.janua == "" || sp.out == "" {
				return errors.New("--janua and --out are required")
			}
			if sp.users < 1 || sp.users > 100000 {
				return errors.New("--users must be between 1 and 100000")
			}
			if err := loopbackURL(sp.redirectURI); err != nil {
				return fmt.Errorf("--redirect-uri: %w", err)
			}
			fx, err := sp.run(cmd.Context(), stderr)
			if err != nil {
				return err
			}
			b, _ := json.MarshalIndent(fx, "", "  ")
			if err := os.WriteFile(sp.out, append(b, '\n'), 0o600); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "wrote %s: %d clients, %d users\n", sp.out, len(fx.Clients), len(fx.Users))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&sp.janua, "janua", "", "path of the janua binary")
	f.StringArrayVar(&sp.januaArgs, "janua-arg", nil, "argument for every janua command, such as --config=FILE (repeatable)")
	f.IntVar(&sp.users, "users", 64, "users to seed (the password scenario cycles through them)")
	f.StringVar(&sp.out, "out", "", "fixture file to write")
	f.StringVar(&sp.redirectURI, "redirect-uri", defaultRedirect, "redirect URI of the code client (never visited: the code is read from the redirect)")
	return cmd
}

func (sp *setupSpec) run(ctx context.Context, stderr io.Writer) (*fixture, error) {
	fx := &fixture{Clients: map[string]fixtureClient{}}
	type created struct {
		ID     string `json:"client_id"`
		Secret string `json:"client_secret"`
		Scope  string `json:"scope"`
	}
	clients := []struct {
		role string
		args []string
	}{
		{roleCC, []string{"--name", "janua-load client_credentials (opaque)", "--grant-type", "client_credentials", "--scope", "api"}},
		{roleCCJWTES256, []string{"--name", "janua-load client_credentials (JWT ES256)", "--grant-type", "client_credentials", "--scope", "api", "--access-token-format", "jwt"}},
		{roleCCJWTRS256, []string{"--name", "janua-load client_credentials (JWT RS256)", "--grant-type", "client_credentials", "--scope", "api",
			"--access-token-format", "jwt", "--access-token-signed-response-alg", "RS256"}},
		{roleCode, []string{"--name", "janua-load code", "--first-party", "--redirect-uri", sp.redirectURI,
			"--grant-type", "authorization_code", "--grant-type", "refresh_token", "--scope", codeScope,
			// The target is set for an ES256 ID token (an RS256 signature costs ~1.2 ms).
			"--id-token-signed-response-alg", "ES256"}},
	}
	for _, c := range clients {
		out, err := sp.januaCmd(ctx, stderr, "", append([]string{"clients", "create", "--output", "json"}, c.args...)...)
		if err != nil {
			return nil, err
		}
		var cr created
		if err := json.Unmarshal(out, &cr); err != nil || cr.ID == "" || cr.Secret == "" {
			return nil, fmt.Errorf("janua clients create: unexpected output: %v", err)
		}
		fc := fixtureClient{ID: cr.ID, Secret: cr.Secret}
		if c.role == roleCode {
			fc.RedirectURI = sp.redirectURI
		} else {
			fc.Scope = "api"
		}
		fx.Clients[c.role] = fc
	}
	password := randomString()
	out, err := sp.januaCmd(ctx, stderr, password+"\n", "seed", "--users", fmt.Sprint(sp.users), "--password-stdin", "--output", "json")
	if err != nil {
		return nil, err
	}
	var seeded struct {
		UserEmailFormat string `json:"user_email_format"`
		Users           int    `json:"users"`
	}
	if err := json.Unmarshal(out, &seeded); err != nil || seeded.Users != sp.users || !strings.Contains(seeded.UserEmailFormat, "%d") {
		return nil, fmt.Errorf("janua seed: unexpected output: %v", err)
	}
	for n := 1; n <= seeded.Users; n++ {
		fx.Users = append(fx.Users, fixtureUser{Email: fmt.Sprintf(seeded.UserEmailFormat, n), Password: password})
	}
	return fx, nil
}

// januaCmd runs the janua CLI and returns its standard output.
func (sp *setupSpec) januaCmd(ctx context.Context, stderr io.Writer, stdin string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, sp.janua, append(append([]string{}, sp.januaArgs...), args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		_, _ = stderr.Write(errb.Bytes())
		return nil, fmt.Errorf("janua %s: %w", strings.Join(args[:2], " "), err)
	}
	return out.Bytes(), nil
}
