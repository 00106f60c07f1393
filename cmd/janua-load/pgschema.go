package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	"github.com/spf13/cobra"
)

// schemaName is what pgschema accepts: a plain lower-case identifier, so
// that it needs no quoting.
var schemaName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// pgschemaCmd creates or drops a PostgreSQL schema on a loopback server:
// make bench gives each run a fresh one, without needing psql.
func pgschemaCmd() *cobra.Command {
	var dsn string
	cmd := &cobra.Command{
		Use:       "pgschema --dsn URL create|drop|analyze NAME",
		Short:     "Create, drop (with everything in it) or VACUUM ANALYZE a PostgreSQL schema on a loopback server",
		Args:      cobra.ExactArgs(2),
		ValidArgs: []string{"create", "drop", "analyze"},
		RunE: func(cmd *cobra.Command, args []string) error {
			return pgschema(cmd.Context(), dsn, args[0], args[1])
		},
	}
	cmd.Flags().StringVar(&dsn, "dsn", "", "PostgreSQL URL, such as postgres://postgres@127.0.0.1:5432/test?sslmode=disable")
	return cmd
}

func pgschema(ctx context.Context, dsn, op, name string) error {
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return errors.New("--dsn: a postgres:// URL is required")
	}
	if ip := net.ParseIP(u.Hostname()); u.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("--dsn: %s is not on loopback", u.Hostname())
	}
	if !schemaName.MatchString(name) {
		return fmt.Errorf("schema name %q: lower-case letters, digits and _ only", name)
	}
	if name == "public" || strings.HasPrefix(name, "pg_") || name == "information_schema" {
		return fmt.Errorf("schema %q belongs to the database, not to a benchmark run", name)
	}
	var stmts []string
	switch op {
	case "create":
		stmts = []string{"CREATE SCHEMA " + name}
	case "drop":
		stmts = []string{"SET client_min_messages = warning", "DROP SCHEMA IF EXISTS " + name + " CASCADE"}
	case "analyze":
		// After a bulk seed: fresh statistics and visibility maps, so that
		// autovacuum does not start during the load that follows.
		stmts = []string{"SET search_path = " + name, "VACUUM (ANALYZE) users, password_credentials, clients, oauth2_sessions"}
	default:
		return fmt.Errorf("%q: create, drop or analyze", op)
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	conn, err := db.Conn(ctx) // one session: SET applies to what follows
	if err != nil {
		return err
	}
	defer conn.Close()
	for _, stmt := range stmts {
		if _, err := conn.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("%s: %w", stmt, err)
		}
	}
	return nil
}
