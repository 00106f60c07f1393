package main

import (
	"context"
	"io"

	"github.com/spf13/cobra"
)

// app is one invocation: its environment, streams and global flags.
type app struct {
	getenv     func(string) string
	io         streams
	configPath string
	output     string // text | json
	root       *cobra.Command
	// onReady, when set, is called with the listening address once serve
	// accepts connections (tests use it instead of parsing the banner).
	onReady func(addr string)
}

// run executes the command line args with the given environment and streams.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	a := &app{getenv: getenv, io: streams{in: stdin, out: stdout, err: stderr}}
	return a.execute(ctx, args)
}

// execute builds the command tree and runs args.
func (a *app) execute(ctx context.Context, args []string) error {
	root := &cobra.Command{
		Use:           "janua",
		Short:         "Janua: a standards-first OpenID Connect and OAuth 2.0 authorization server",
		SilenceUsage:  true,
		SilenceErrors: true,
		CompletionOptions: cobra.CompletionOptions{
			DisableDefaultCmd: true,
		},
	}
	root.SetArgs(args)
	root.SetIn(a.io.in)
	root.SetOut(a.io.out)
	root.SetErr(a.io.err)
	pf := root.PersistentFlags()
	pf.StringVar(&a.configPath, "config", "", "YAML configuration file (env JANUA_CONFIG)")
	pf.StringVarP(&a.output, "output", "o", "text", "output format: text or json")
	// The configuration flags every subcommand shares (see config.go).
	var scratch Config
	for _, s := range settings(&scratch) {
		if s.flag == "" {
			continue
		}
		pf.String(s.flag, "", s.usage+" (env "+s.env+")")
	}
	a.root = root
	root.AddCommand(
		a.serveCmd(),
		a.migrateCmd(),
		a.usersCmd(),
		a.clientsCmd(),
		a.keysCmd(),
		a.seedCmd(),
		a.configCmd(),
		a.versionCmd(),
	)
	return root.ExecuteContext(ctx)
}

// config loads and validates the effective configuration.
func (a *app) config() (Config, error) {
	path := a.configPath
	if path == "" {
		path = a.getenv("JANUA_CONFIG")
	}
	return loadConfig(path, a.getenv, a.root.PersistentFlags())
}
