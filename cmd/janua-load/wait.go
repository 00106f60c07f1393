package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/spf13/cobra"
)

// waitCmd polls a URL on loopback until it answers 200 and prints how long
// that took in milliseconds: the bench script's start-to-ready time.
func waitCmd(stdout io.Writer) *cobra.Command {
	var target string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "wait --url URL",
		Short: "Wait until URL answers 200 (such as /health/ready) and print the milliseconds it took",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := loopbackURL(target); err != nil {
				return fmt.Errorf("--url: %w", err)
			}
			if timeout <= 0 || timeout > 5*time.Minute {
				return errors.New("--timeout must be positive and at most 5m")
			}
			ms, err := waitReady(cmd.Context(), target, timeout)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(stdout, ms)
			return err
		},
	}
	cmd.Flags().StringVar(&target, "url", "", "URL to poll")
	cmd.Flags().DurationVar(&timeout, "timeout", 60*time.Second, "give up after this long")
	return cmd
}

// waitReady polls every 5 ms and returns the milliseconds until a 200.
func waitReady(ctx context.Context, target string, timeout time.Duration) (int64, error) {
	start := time.Now()
	c := &http.Client{Timeout: time.Second}
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
		if err != nil {
			return 0, err
		}
		if res, err := c.Do(req); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return time.Since(start).Milliseconds(), nil
			}
		}
		if time.Since(start) > timeout {
			return 0, fmt.Errorf("%s did not answer 200 within %s", target, timeout)
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}
