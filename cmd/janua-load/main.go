package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// errHadErrors makes the exit status 3 when a scenario counted errors: the
// report is printed all the same.
var errHadErrors = errors.New("some operations failed (see the report)")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	switch {
	case err == nil:
	case errors.Is(err, errHadErrors):
		fmt.Fprintln(os.Stderr, "janua-load:", err)
		os.Exit(3)
	default:
		fmt.Fprintln(os.Stderr, "janua-load:", err)
		os.Exit(1)
	}
}

// run executes one command line.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	var o options
	root := &cobra.Command{
		Use:   "janua-load --issuer URL [--scenario NAME]... [flags]",
		Short: "Drive an OpenID Connect issuer on loopback and report throughput, latency, errors and the server's cost",
		Example: `  janua-load setup --janua ./bin/janua --users 64 --out fixture.json
  janua-load --issuer http://127.0.0.1:4100 --fixture fixture.json --scenario all \
    --duration 10s --concurrency 8 --server-pid $(pgrep -n janua) --metrics-url http://127.0.0.1:9464/metrics
  janua-load --issuer http://127.0.0.1:4100 --scenario discovery --rate 500 --output markdown`,
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		CompletionOptions: cobra.CompletionOptions{
			DisableDefaultCmd: true,
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.run(cmd.Context(), stdout, stderr)
		},
	}
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	o.flags(root)
	root.AddCommand(setupCmd(stdout, stderr), waitCmd(stdout), pgschemaCmd(), targetsCmd(stdout), growthCmd(stdout), diskCmd(stdout))
	return root.ExecuteContext(ctx)
}
