package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

func (a *app) configCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "config",
		Short: "Print the effective configuration, secrets redacted",
		Long: "Print the configuration janua would run with after every layer: defaults, the YAML file (--config),\n" +
			"JANUA_* environment variables (secrets may come from *_FILE) and flags. Secrets are redacted.\n" +
			"An invalid configuration is reported with every problem at once, and a non-zero exit.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.checkOutput(); err != nil {
				return err
			}
			c, err := a.config()
			if err != nil {
				return err
			}
			kvs := c.redacted()
			if a.json() {
				m := map[string]any{}
				for _, kv := range kvs {
					m[kv.Key] = kv.Value
				}
				return printJSON(a.io.out, m)
			}
			rows := make([][]string, 0, len(kvs))
			for _, kv := range kvs {
				v := fmt.Sprint(kv.Value)
				if l, ok := kv.Value.([]string); ok {
					v = strings.Join(l, ",")
				}
				rows = append(rows, []string{kv.Key, v, kv.Env})
			}
			return table(a.io.out, []string{"KEY", "VALUE", "ENVIRONMENT"}, rows)
		},
	}
}
