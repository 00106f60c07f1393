package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func (a *app) migrateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Apply pending database migrations (serve also does this at start)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.checkOutput(); err != nil {
				return err
			}
			c, err := a.config()
			if err != nil {
				return err
			}
			log := a.logger(c)
			ctx := cmd.Context()
			s, err := openStore(ctx, c, log)
			if err != nil {
				return err
			}
			defer s.Close()
			res, err := s.Migrate(ctx)
			if err != nil {
				return err
			}
			applied := make([]string, 0, len(res.Applied))
			for _, m := range res.Applied {
				applied = append(applied, fmt.Sprintf("%04d_%s", m.Version, m.Name))
			}
			if a.json() {
				return printJSON(a.io.out, map[string]any{"database": s.Describe(), "applied": applied, "version": res.Current, "newer": res.Newer})
			}
			if len(applied) == 0 {
				_, err = fmt.Fprintf(a.io.out, "%s is up to date (schema version %d)\n", s.Describe(), res.Current)
				return err
			}
			for _, m := range applied {
				fmt.Fprintf(a.io.out, "applied %s\n", m)
			}
			_, err = fmt.Fprintf(a.io.out, "%s is at schema version %d\n", s.Describe(), res.Current)
			return err
		},
	}
}
