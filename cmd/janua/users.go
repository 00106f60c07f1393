package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/madfam-org/janua/directory"
	"github.com/madfam-org/janua/login"
	"github.com/madfam-org/janua/storage"
)

// cliActor is the audit actor of every administrative command.
const cliActor = "cli"

// userView is a user as the CLI prints it.
type userView struct {
	ID            string         `json:"id"`
	Email         string         `json:"email"`
	EmailVerified bool           `json:"email_verified"`
	Disabled      bool           `json:"disabled"`
	Claims        map[string]any `json:"claims"`
	CreatedAt     time.Time      `json:"created_at"`
	Password      string         `json:"password,omitempty"`
}

func viewUser(u *storage.User) userView {
	return userView{ID: u.ID, Email: u.Email, EmailVerified: u.EmailVerified, Disabled: u.Disabled(), Claims: u.Claims, CreatedAt: u.CreatedAt}
}

// withUsers opens the store and runs fn with the user directory.
func (a *app) withUsers(cmd *cobra.Command, fn func(ctx context.Context, c Config, d *directory.Users) error) error {
	return a.withStore(cmd, func(ctx context.Context, c Config, s *storage.Store) error {
		return fn(ctx, c, directory.NewUsers(s))
	})
}

func (a *app) usersCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "users", Short: "Create, list, disable and delete users"}
	cmd.AddCommand(a.usersCreateCmd(), a.usersListCmd(), a.usersDisableCmd(true), a.usersDisableCmd(false), a.usersDeleteCmd())
	return cmd
}

func (a *app) usersCreateCmd() *cobra.Command {
	var email, password, claimsJSON string
	var passwordStdin, emailVerified bool
	cmd := &cobra.Command{
		Use:   "create --email EMAIL [--password PASSWORD | --password-stdin] [--claims JSON]",
		Short: "Create a user; without a password one is generated and printed once",
		Example: `  janua users create --email buffy@example.com
  janua users create --email buffy@example.com --password-stdin < pw.txt \
    --claims '{"name":"Buffy Summers","given_name":"Buffy","locale":"en-US"}'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withUsers(cmd, func(ctx context.Context, c Config, d *directory.Users) error {
				claims := map[string]any{}
				if claimsJSON != "" {
					dec := json.NewDecoder(strings.NewReader(claimsJSON))
					if err := dec.Decode(&claims); err != nil {
						return fmt.Errorf("--claims must be a JSON object of standard OIDC claims: %v", err)
					}
				}
				if emailVerified {
					claims["email_verified"] = true
				}
				if password != "" && passwordStdin {
					return errors.New("use --password or --password-stdin, not both")
				}
				if passwordStdin {
					line, err := bufio.NewReader(a.io.in).ReadString('\n')
					if err != nil && line == "" {
						return fmt.Errorf("read password from stdin: %v", err)
					}
					password = strings.TrimRight(line, "\r\n")
				}
				generated := ""
				if password == "" {
					password = login.GeneratePassword()
					generated = password
				}
				if err := (login.PasswordPolicy{MinLength: c.Passwords.MinLength}).Check(password); err != nil {
					return err
				}
				a2 := c.Passwords.Argon2
				hasher := login.NewPasswords(a2.params(), a2.limits())
				hash, err := hasher.Hash(ctx, password)
				if err != nil {
					return err
				}
				u, err := d.Create(ctx, directory.UserSpec{Email: email, Claims: claims, PasswordHash: hash}, cliActor)
				if errors.Is(err, storage.ErrAlreadyExists) {
					return fmt.Errorf("a user with email %s already exists", email)
				}
				if err != nil {
					return err
				}
				v := viewUser(u)
				v.Password = generated
				if a.json() {
					return printJSON(a.io.out, v)
				}
				fmt.Fprintf(a.io.out, "created user %s <%s>\n", u.ID, u.Email)
				if generated != "" {
					fmt.Fprintf(a.io.out, "password: %s\n(shown once: it is stored only as an argon2id hash)\n", generated)
				}
				return nil
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&email, "email", "", "email address (required; unique, case-insensitive)")
	f.StringVar(&password, "password", "", "password (visible in the process list: prefer --password-stdin; omit to generate one)")
	f.BoolVar(&passwordStdin, "password-stdin", false, "read the password from the first line of standard input")
	f.StringVar(&claimsJSON, "claims", "", `standard OIDC claims as JSON, e.g. {"name":"…","address":{"country":"US"}}`)
	f.BoolVar(&emailVerified, "email-verified", false, "mark the email address as verified")
	_ = cmd.MarkFlagRequired("email")
	return cmd
}

func (a *app) usersListCmd() *cobra.Command {
	var limit int
	var after string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List users in creation order",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withUsers(cmd, func(ctx context.Context, _ Config, d *directory.Users) error {
				users, next, err := d.List(ctx, storage.Page{After: after, Limit: limit})
				if err != nil {
					return err
				}
				views := make([]userView, len(users))
				for i := range users {
					views[i] = viewUser(&users[i])
				}
				if a.json() {
					return printJSON(a.io.out, map[string]any{"users": views, "next": next})
				}
				rows := make([][]string, len(views))
				for i, v := range views {
					rows[i] = []string{v.ID, v.Email, yesNo(v.EmailVerified), yesNo(v.Disabled), v.CreatedAt.Format(time.RFC3339)}
				}
				if err := table(a.io.out, []string{"ID", "EMAIL", "VERIFIED", "DISABLED", "CREATED"}, rows); err != nil {
					return err
				}
				if next != "" {
					fmt.Fprintf(a.io.out, "more: janua users list --after %s\n", next)
				}
				return nil
			})
		},
	}
	cmd.Flags().IntVar(&limit, "limit", 100, "at most this many users (max 1000)")
	cmd.Flags().StringVar(&after, "after", "", "start after this user ID (from the previous page)")
	return cmd
}

func (a *app) usersDisableCmd(disable bool) *cobra.Command {
	use, short := "disable ID|EMAIL", "Disable a user and end their browser sessions"
	if !disable {
		use, short = "enable ID|EMAIL", "Enable a disabled user"
	}
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withUsers(cmd, func(ctx context.Context, _ Config, d *directory.Users) error {
				u, err := d.SetDisabled(ctx, args[0], disable, cliActor)
				if errors.Is(err, storage.ErrNotFound) {
					return fmt.Errorf("no user %s", args[0])
				}
				if err != nil {
					return err
				}
				if a.json() {
					return printJSON(a.io.out, viewUser(u))
				}
				state := "enabled"
				if disable {
					state = "disabled"
				}
				_, err = fmt.Fprintf(a.io.out, "%s user %s <%s>\n", state, u.ID, u.Email)
				return err
			})
		},
	}
}

func (a *app) usersDeleteCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "delete ID|EMAIL",
		Short: "Delete a user with their credentials and sessions",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withUsers(cmd, func(ctx context.Context, _ Config, d *directory.Users) error {
				u, err := d.Delete(ctx, args[0], cliActor)
				if errors.Is(err, storage.ErrNotFound) {
					return fmt.Errorf("no user %s", args[0])
				}
				if err != nil {
					return err
				}
				if a.json() {
					return printJSON(a.io.out, map[string]any{"deleted": viewUser(u)})
				}
				_, err = fmt.Fprintf(a.io.out, "deleted user %s <%s>\n", u.ID, u.Email)
				return err
			})
		},
	}
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
